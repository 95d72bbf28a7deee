//! The strategy API from Lua: orders, figures, globals, params, log, indicators, and every bad
//! argument answered with `false, reason`.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

use common::*;
use cryptobt_domain::{
    ports::{SharedContext, Strategy as _},
    testkit, ErrorCode, ParamValue, Params,
};
use cryptobt_sandbox::LuaStrategy;
use rust_decimal_macros::dec;

#[test]
fn orders_reach_the_portfolio_and_figures_come_back() {
    let desk = futures_desk();
    let src = r#"
        function on_data(bar)
            if bar.close == 100 then
                local ok, why = buy(2, 10)
                log("buy", ok, why)
                log("size", get_position_size(), "cash", get_cash(), "entry", get_entry_price(), "lev", get_leverage())
            elseif bar.close == 110 then
                log("equity", get_equity(), "upnl", get_unrealized_pnl(), "ratio", get_margin_ratio())
                local ok = close_position(50)
                log("half", ok, get_position_size())
            else
                close_position()
                log("flat", get_position_size(), get_margin_ratio() == math.huge, get_entry_price())
            end
        end
    "#;
    run(src, &desk, &[100.0, 110.0, 105.0]).unwrap();
    // buy 2 @100 x10: margin 20, fee 0.1 → cash 9979.9; at 110 equity 10019.9, ratio 10019.9/20.
    let log = desk.log.borrow().clone();
    assert_eq!(log[0], "buy\ttrue\tnil");
    assert_eq!(log[1], "size\t2\tcash\t9979.9\tentry\t100\tlev\t10");
    assert_eq!(log[2], "equity\t10019.9\tupnl\t20\tratio\t500.995");
    assert_eq!(log[3], "half\ttrue\t1");
    assert_eq!(log[4], "flat\t0\ttrue\t0");
    assert_eq!(desk.portfolio.borrow().position_size(testkit::btc()), dec!(0));
}

#[test]
fn bad_arguments_return_false_and_a_reason() {
    let desk = futures_desk();
    let src = r#"
        local cases = { -- 13 refusals, then 3 more calls: within a cap of 20 calls per bar
            {0/0}, {math.huge}, {-math.huge}, {-1}, {0}, {"1"}, {{}}, {1e30}, {0.000001},
            {1, 0}, {1, 101}, {1, 0/0}, {1, "x"},
        }
        function on_data(bar)
            for _, c in ipairs(cases) do
                local ok, why = buy(c[1], c[2])
                log(tostring(ok) .. " " .. why)
            end
            local ok, why = close_position()
            log(tostring(ok) .. " " .. why)
            buy(1, 2)
            ok, why = close_position(0/0)
            log(tostring(ok) .. " " .. why)
            ok, why = close_position(150)
            log(tostring(ok) .. " " .. why)
        end
    "#;
    let limits = cryptobt_domain::ports::StrategyLimits { max_orders_per_bar: 20, ..limits() };
    run_with(&limits, src, &desk, &[100.0]).unwrap();
    let log = desk.log.borrow().clone();
    let expect = [
        "false amount must be a finite number greater than 0, got NaN",
        "false amount must be a finite number greater than 0, got inf",
        "false amount must be a finite number greater than 0, got -inf",
        "false amount must be a finite number greater than 0, got -1",
        "false amount must be a finite number greater than 0, got 0",
        "false amount must be a finite number greater than 0, got \"1\" (a string)",
        "false amount must be a finite number greater than 0, got a table",
        "false amount 1000000000000000000000000000000 is above the maximum trade size 1000000",
        "false amount 0.000001 is below the minimum trade size 0.00001",
        "false leverage 0 is out of range: futures allows 1 to 100",
        "false leverage 101 is out of range: futures allows 1 to 100",
        "false leverage NaN is out of range: futures allows 1 to 100",
        "false leverage \"x\" (a string) is out of range: futures allows 1 to 100",
        "false no open position to close",
        "false percentage must be greater than 0 and at most 100, got NaN",
        "false percentage must be greater than 0 and at most 100, got 150",
    ];
    assert_eq!(log.len(), expect.len(), "{log:#?}");
    for (got, want) in log.iter().zip(expect) {
        assert_eq!(got, want);
    }
    assert_eq!(desk.rejections.borrow().len(), 16, "every refusal is counted");
}

#[test]
fn orders_in_initialize_are_refused_for_lack_of_a_price() {
    let desk = futures_desk();
    run(r#"function initialize() log(buy(1)) end function on_data(bar) end"#, &desk, &[]).unwrap();
    assert_eq!(
        desk.log.borrow()[0],
        "false\torders need a price: none exists before the first bar (in initialize)"
    );
}

#[test]
fn an_order_flood_is_capped_per_bar() {
    let desk = futures_desk();
    let src = r#"
        function on_data(bar)
            local accepted = 0
            for i = 1, 1000 do if buy(0.001) then accepted += 1 end end
            log(accepted)
        end
    "#;
    run(src, &desk, &[100.0, 100.0]).unwrap();
    assert_eq!(*desk.log.borrow(), ["10", "10"]);
    assert_eq!(desk.rejections.borrow().iter().filter(|r| *r == "orders_per_bar").count(), 2 * 990);
}

#[test]
fn the_log_is_capped_with_a_marker() {
    let desk = futures_desk();
    run(
        r#"function on_data(bar) for i = 1, 500 do log(string.rep("x", 50)) end end"#,
        &desk,
        &[1.0],
    )
    .unwrap();
    let log = desk.log.borrow();
    assert_eq!(log.len(), 21, "1024 bytes hold 20 lines of 51");
    assert_eq!(log[20], "[log truncated: the limit of 1024 bytes was reached]");
}

#[test]
fn globals_params_and_indicators() {
    let desk = futures_desk();
    let mut params = Params::new();
    params.insert("fast".into(), ParamValue::Number(3.0));
    params.insert("name".into(), ParamValue::Text("alpha".into()));
    let src = r#"
        local s
        function initialize()
            log(symbol, params.fast, params.name, current_price, timestamp)
            s = ta.sma(params.fast)
        end
        function on_data(bar)
            log(timestamp == bar.timestamp, current_price, s:update(bar.close))
        end
    "#;
    let mut strategy = LuaStrategy::load(src, testkit::btc(), &params, &limits()).unwrap();
    let ctx: SharedContext = desk.clone();
    strategy.initialize(&ctx).unwrap();
    for (i, c) in [1.0, 2.0, 6.0].iter().enumerate() {
        let b = bar(i as i64, *c);
        desk.set_bar(b);
        strategy.on_bar(&b, &ctx).unwrap();
    }
    assert_eq!(
        *desk.log.borrow(),
        ["BTCUSDT\t3\talpha\tnil\tnil", "true\t1\tnil", "true\t2\tnil", "true\t6\t3"]
    );
}

#[test]
fn every_indicator_is_reachable_from_lua() {
    let desk = futures_desk();
    let src = r#"
        local ind = { ta.sma(2), ta.ema(2), ta.rsi(2), ta.stddev(2), ta.highest(2), ta.lowest(2) }
        local atr, bb, macd = ta.atr(2), ta.bbands(2, 2), ta.macd(2, 3, 2)
        function on_data(bar)
            local out = {}
            for _, i in ipairs(ind) do table.insert(out, tostring(i:update(bar.close))) end
            table.insert(out, tostring(atr:update(bar.high, bar.low, bar.close)))
            local u, m, l = bb:update(bar.close)
            table.insert(out, tostring(u) .. "/" .. tostring(m) .. "/" .. tostring(l))
            local line, sig, hist = macd:update(bar.close)
            table.insert(out, tostring(line) .. "/" .. tostring(sig) .. "/" .. tostring(hist))
            log(table.concat(out, " "))
        end
    "#;
    run(src, &desk, &[10.0, 12.0, 11.0, 15.0]).unwrap();
    let log = desk.log.borrow();
    // Worked by hand: closes 10 12 11 15, highs +1, lows −1.
    assert_eq!(log[0], "nil nil nil nil nil nil nil nil/nil/nil nil/nil/nil");
    assert_eq!(log[1], "11 11 nil 1 12 10 nil 13/11/9 nil/nil/nil");
    assert_eq!(log[2], "11.5 11 66.66666666666666 0.5 12 11 2.5 12.5/11.5/10.5 nil/nil/nil");
    // Bar 4 (close 15): rsi (1·1+4)/2 over (0.5·1+0)/2 → 90.909…; atr (2.5+5)/2; macd fast
    // 11.5+(15−11.5)·2/3, slow 11+(15−11)/2, signal seeded with mean(0.5, 0.8333…).
    let got: Vec<f64> = log[3].split([' ', '/']).map(|v| v.parse().unwrap()).collect();
    let want = [
        13.0,
        13.0 + 2.0 / 3.0,
        100.0 / 1.1,
        2.0,
        15.0,
        11.0,
        3.75,
        17.0,
        13.0,
        9.0,
        5.0 / 6.0,
        2.0 / 3.0,
        1.0 / 6.0,
    ];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{} vs {want:?}", log[3]);
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn bad_indicator_arguments_are_runtime_errors_with_the_line() {
    let desk = futures_desk();
    let err = run("local s = ta.sma(0)\nfunction on_data(bar) end", &desk, &[]).unwrap_err();
    assert_eq!(err.code, ErrorCode::RuntimeError);
    assert_eq!(err.line, Some(1));
    assert!(
        err.message.contains("ta.sma: period must be an integer from 1 to 100000, got 0"),
        "{}",
        err.message
    );
}

#[test]
fn runtime_errors_carry_a_traceback_and_the_bar_time_and_no_address() {
    let desk = futures_desk();
    let src = "local function inner() error({}) end\nlocal function outer() inner() end\nfunction on_data(b) outer() end";
    let err = run(src, &desk, &[100.0]).unwrap_err();
    assert_eq!(err.code, ErrorCode::RuntimeError);
    assert!(!err.message.contains("0x"), "{}", err.message);
    assert!(
        err.message.contains("traceback: line 1 in inner ← line 2 in outer ← line 3 in on_data"),
        "{}",
        err.message
    );
    assert!(err.message.ends_with("at the bar of 2025-01-01 00:00 UTC"), "{}", err.message);
    assert_eq!(err.line, Some(1));
    let src = "local r = ta.rsi(14)\nfunction on_data(b)\n  r.update(b.close)\nend";
    let err = run(src, &futures_desk(), &[100.0]).unwrap_err();
    assert!(err.message.contains("call it with a colon, s:update(x)"), "{}", err.message);
    assert_eq!(err.line, Some(3));
}

/// `params` notes the names read: indexing counts the name, `pairs` and `next` count all; the
/// values and their types are as before, and writing is refused.
#[test]
fn params_note_the_names_the_strategy_reads() {
    use cryptobt_domain::ports::Strategy;
    let mut params = Params::new();
    params.insert("fast".into(), ParamValue::Number(3.0));
    params.insert("slow".into(), ParamValue::Number(9.0));
    params.insert("name".into(), ParamValue::Text("alpha".into()));
    let read = |src: &str| {
        let s = LuaStrategy::load(src, testkit::btc(), &params, &limits()).unwrap();
        s.params_read().unwrap().into_iter().collect::<Vec<_>>()
    };
    assert_eq!(read("local f = params.fast\nfunction on_data(b) end"), ["fast"]);
    assert_eq!(read("local f = params['name'] .. ''\nfunction on_data(b) end"), ["name"]);
    assert_eq!(read("local x = params.missing\nfunction on_data(b) end"), ["missing"]);
    let all = ["fast", "name", "slow"];
    assert_eq!(read("local n = 0\nfor k, v in pairs(params) do n = n + 1 end\nassert(n == 3)\nfunction on_data(b) end"), all);
    assert_eq!(read("for k, v in params do end\nfunction on_data(b) end"), all);
    assert_eq!(read("local k = next(params)\nassert(k ~= nil)\nfunction on_data(b) end"), all);
    assert_eq!(
        read("assert(params.fast + params.slow == 12)\nfunction on_data(b) end"),
        ["fast", "slow"]
    );
    assert!(read("function on_data(b) end").is_empty());
}
