//! Runs of several symbols (docs/design.md#several-symbols), each rule worked by hand through
//! the real sandbox and engine: shared cash, the step order, funding per symbol, one leg
//! liquidated, closed higher-timeframe bars, `history`'s bounds and the sizing helpers.

use std::sync::Arc;

use chrono::NaiveDate;
use cryptobt_domain::{
    ports::BarSeries, testkit, ActionType, BacktestConfig, BacktestConfigBuilder, BacktestReport,
    Bar, ErrorCode, FundingRate, OrderType, RunStatus, Symbol, Timeframe, TradingMode,
};
use cryptobt_engine::{Backtest, Feed};
use cryptobt_tests::lua_strategy;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const HOUR: i64 = 3_600_000;
const QUARTER: i64 = 900_000;

fn sym(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

/// The settings of a run over `symbols` on 2025-01-01, 1000 USDT, fees 0.
fn builder(mode: TradingMode, timeframe: Timeframe, symbols: &[&str]) -> BacktestConfigBuilder {
    let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let symbols: Vec<Symbol> = symbols.iter().map(|s| sym(s)).collect();
    let max_leverage = if mode == TradingMode::Futures { dec!(20) } else { Decimal::ONE };
    BacktestConfig::builder(symbols[0], timeframe, day, day)
        .symbols(symbols)
        .trading_mode(mode)
        .initial_capital(dec!(1000))
        .max_leverage(max_leverage)
        .fee_rate(Decimal::ZERO)
        .maker_fee_rate(Decimal::ZERO)
}

/// [`builder`]'s config.
fn config(mode: TradingMode, timeframe: Timeframe, symbols: &[&str]) -> BacktestConfig {
    builder(mode, timeframe, symbols).build().unwrap()
}

/// Runs Lua `source` with one `(bars, funding)` per symbol of `config`, in its order.
fn run(
    source: &str,
    config: &BacktestConfig,
    markets: &[(Vec<Bar>, Option<Vec<FundingRate>>)],
) -> BacktestReport {
    let series: Vec<BarSeries> =
        markets.iter().map(|(bars, _)| BarSeries::new(vec![Arc::from(bars.clone())])).collect();
    let feeds = config
        .symbols()
        .iter()
        .zip(&series)
        .zip(markets)
        .map(|((symbol, bars), (_, funding))| Feed {
            funding: funding.as_deref(),
            ..Feed::new(*symbol, bars)
        })
        .collect();
    run_feeds(source, config, feeds)
}

/// Runs Lua `source` over `feeds`.
fn run_feeds(source: &str, config: &BacktestConfig, feeds: Vec<Feed<'_>>) -> BacktestReport {
    Backtest::over(config, feeds).run(lua_strategy(source, config).as_mut(), &())
}

/// `n` flat hourly bars at `price`.
fn flat(n: usize, price: Decimal) -> Vec<Bar> {
    (0..n).map(|i| testkit::bar(i as i64 * HOUR, price, price, price, price)).collect()
}

/// Spot, 1000 USDT, BTC at 100 and ETH at 50: `buy(6)` spends 600, so `eth:buy(10)` (500) is
/// refused for funds — the cash is one balance — and `eth:buy(8)` (400) takes it to exactly 0.
#[test]
fn one_cash_balance_refuses_the_second_leg() {
    let source = r#"
        local eth = market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp == 0 then
                log(buy(6))
                log(eth:buy(10))
                log(eth:buy(8))
                log(get_cash(), get_position_size(), eth:get_position_size())
            end
        end
    "#;
    let config = config(TradingMode::Spot, Timeframe::H1, &["BTCUSDT", "ETHUSDT"]);
    let report = run(source, &config, &[(flat(3, dec!(100)), None), (flat(3, dec!(50)), None)]);
    assert_eq!(report.status, RunStatus::Completed, "{:?}", report.error);
    assert_eq!(report.log[0], "true\tnil");
    assert!(report.log[1].starts_with("false\t"), "{}", report.log[1]);
    assert!(report.log[1].contains("insufficient"), "{}", report.log[1]);
    assert_eq!(report.log[2], "true\tnil");
    assert_eq!(report.log[3], "0\t6\t8");
    assert_eq!(report.rejections.get("insufficient_funds"), Some(&1));
    let fills: Vec<(String, Decimal, Decimal)> =
        report.trades.iter().map(|t| (t.symbol.to_string(), t.quantity, t.price)).collect();
    assert_eq!(
        fills,
        [("BTCUSDT".into(), dec!(6), dec!(100)), ("ETHUSDT".into(), dec!(8), dec!(50))]
    );
    let last = report.snapshots.last().unwrap();
    assert_eq!((last.cash, last.portfolio_value), (dec!(0), dec!(1000)));
}

/// All cash in 10 BTC at 100 with a sell limit at 110, and an ETH buy limit at 90 for 10 (900
/// USDT). In the next bar BTC rises through 110 and ETH falls through 90. Listed BTC first, the
/// BTC path frees 1100 before ETH's path fills (cash 200); listed ETH first, the ETH fill comes
/// first and is refused for funds (cash 1100).
#[test]
fn the_step_order_decides_a_funds_check() {
    let source = r#"
        local btc, eth = market("BTCUSDT"), market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp == 0 then
                btc:buy(10)
                log(btc:sell_limit(10, 110), eth:buy_limit(10, 90))
            end
        end
    "#;
    let up = vec![
        testkit::bar(0, dec!(100), dec!(100), dec!(100), dec!(100)),
        testkit::bar(HOUR, dec!(100), dec!(115), dec!(100), dec!(110)),
    ];
    let down = vec![
        testkit::bar(0, dec!(100), dec!(100), dec!(100), dec!(100)),
        testkit::bar(HOUR, dec!(100), dec!(100), dec!(85), dec!(90)),
    ];
    let btc_first = config(TradingMode::Spot, Timeframe::H1, &["BTCUSDT", "ETHUSDT"]);
    let report = run(source, &btc_first, &[(up.clone(), None), (down.clone(), None)]);
    assert_eq!(report.log, ["1\t2\tnil"]);
    let fills: Vec<(String, OrderType, Decimal)> =
        report.trades.iter().map(|t| (t.symbol.to_string(), t.order_type, t.price)).collect();
    assert_eq!(
        fills,
        [
            ("BTCUSDT".into(), OrderType::Market, dec!(100)),
            ("BTCUSDT".into(), OrderType::Limit, dec!(110)),
            ("ETHUSDT".into(), OrderType::Limit, dec!(90)),
        ]
    );
    let last = report.snapshots.last().unwrap();
    assert_eq!((last.cash, last.portfolio_value), (dec!(200), dec!(1100)));
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);

    let eth_first = config(TradingMode::Spot, Timeframe::H1, &["ETHUSDT", "BTCUSDT"]);
    let report = run(source, &eth_first, &[(down, None), (up, None)]);
    assert_eq!(report.rejections.get("insufficient_funds"), Some(&1));
    assert_eq!(report.trades.len(), 2, "the ETH limit was refused at its fill");
    let last = report.snapshots.last().unwrap();
    assert_eq!((last.cash, last.portfolio_value), (dec!(1100), dec!(1100)));
}

/// Futures, long 1 BTC at 100 and short 2 ETH at 50, both 1x. At 08:00 BTC's rate is 0.001
/// (the long pays 1 × 100 × 0.001 = 0.1) and ETH's −0.002 (the short pays 2 × 50 × 0.002 =
/// 0.2): two payments in list order, each in its own symbol's figures; cash 1000 − 100 − 100 −
/// 0.3 = 799.7.
#[test]
fn funding_settles_on_each_symbol_from_its_own_rates() {
    let source = r#"
        local eth = market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp == 0 then
                buy(1)
                eth:sell(2)
            end
        end
    "#;
    let config = config(TradingMode::Futures, Timeframe::H1, &["BTCUSDT", "ETHUSDT"]);
    let rate = |r: Decimal| Some(vec![FundingRate { timestamp: 8 * HOUR, rate: r }]);
    let report = run(
        source,
        &config,
        &[(flat(10, dec!(100)), rate(dec!(0.001))), (flat(10, dec!(50)), rate(dec!(-0.002)))],
    );
    let paid: Vec<(String, i64, Decimal)> =
        report.funding.iter().map(|f| (f.symbol.to_string(), f.timestamp, f.amount)).collect();
    assert_eq!(
        paid,
        [("BTCUSDT".into(), 8 * HOUR, dec!(-0.1)), ("ETHUSDT".into(), 8 * HOUR, dec!(-0.2))]
    );
    assert_eq!(report.snapshots.last().unwrap().cash, dec!(799.7));
    assert_eq!(report.metrics.total_funding, dec!(-0.3));
    let by = report.metrics.by_symbol.as_ref().unwrap();
    let funding: Vec<(String, Decimal)> =
        by.0.iter().map(|(s, m)| (s.to_string(), m.funding)).collect();
    assert_eq!(funding, [("BTCUSDT".into(), dec!(-0.1)), ("ETHUSDT".into(), dec!(-0.2))]);
    assert_eq!(report.funding_fallbacks, 0);
}

/// Futures, long 1 BTC at 100 with 10x (margin 10; liquidation at (100 − 10) / (1 × 0.995) =
/// 90.4522613065…) and short 1 ETH at 50 with 1x. BTC's next bar reaches 85: BTC is liquidated
/// and loses exactly its margin; ETH's position lives on, and its round trip is not touched.
#[test]
fn one_leg_is_liquidated_while_the_other_lives() {
    let source = r#"
        local eth = market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp == 0 then
                buy(1, 10)
                eth:sell(1)
            end
            log(get_position_size(), eth:get_position_size())
        end
    "#;
    let config = config(TradingMode::Futures, Timeframe::H1, &["BTCUSDT", "ETHUSDT"]);
    let btc = vec![
        testkit::bar(0, dec!(100), dec!(100), dec!(100), dec!(100)),
        testkit::bar(HOUR, dec!(100), dec!(100), dec!(85), dec!(95)),
        testkit::bar(2 * HOUR, dec!(95), dec!(95), dec!(95), dec!(95)),
    ];
    let eth = vec![
        testkit::bar(0, dec!(50), dec!(50), dec!(50), dec!(50)),
        testkit::bar(HOUR, dec!(50), dec!(52), dec!(48), dec!(49)),
        testkit::bar(2 * HOUR, dec!(49), dec!(49), dec!(49), dec!(49)),
    ];
    let report = run(source, &config, &[(btc, None), (eth, None)]);
    assert_eq!(report.log, ["1\t-1", "0\t-1", "0\t-1"]);
    let liquidation = &report.trades[2];
    assert_eq!(liquidation.action, ActionType::Liquidation);
    assert_eq!(liquidation.symbol, sym("BTCUSDT"));
    assert_eq!(liquidation.price, dec!(90) / dec!(0.995));
    assert_eq!(liquidation.pnl, dec!(-10));
    assert_eq!(report.round_trips.len(), 1);
    assert_eq!(report.round_trips[0].symbol, Some(sym("BTCUSDT")));
    assert!(report.open_at_end);
    let last = report.snapshots.last().unwrap();
    // Cash 1000 − 10 − 50; the ETH margin 50 and its unrealized (50 − 49) × 1 = 1.
    assert_eq!((last.cash, last.portfolio_value), (dec!(940), dec!(991)));
    assert_eq!(report.metrics.liquidations, 1);
}

/// 15m bars, bar `i` with open 100 + i, high open + 0.5, low open − 0.5, close open + 0.25.
/// The 4h bar 08:00–12:00 (bars 32..=47) is in the history from the 11:45 bar's `on_data` on —
/// open 132, high 147.5, low 131.5, close 147.25, volume 16 — and at 12:00 it is still the last
/// one (12:00–16:00 is not closed); at 11:30 the last is 04:00–08:00.
#[test]
fn a_higher_timeframe_bar_closes_with_the_last_run_bar_inside_it() {
    let source = r#"
        function on_data(bar)
            local h = history(2, "4h")
            local last = h[#h]
            if last then
                log(bar.timestamp, #h, last.timestamp, last.open, last.high, last.low, last.close, last.volume)
            else
                log(bar.timestamp, 0)
            end
        end
    "#;
    let config = config(TradingMode::Spot, Timeframe::M15, &["BTCUSDT"]);
    let bars: Vec<Bar> = (0..96)
        .map(|i| {
            let open = Decimal::from(100 + i);
            testkit::bar(
                i64::from(i) * QUARTER,
                open,
                open + dec!(0.5),
                open - dec!(0.5),
                open + dec!(0.25),
            )
        })
        .collect();
    let report = run(source, &config, &[(bars, None)]);
    let at = |hour: i64, minute: i64| {
        let ts = (hour * 60 + minute) * 60_000;
        report.log.iter().find(|l| l.starts_with(&format!("{ts}\t"))).unwrap().clone()
    };
    let h8 = 8 * HOUR;
    let h4 = 4 * HOUR;
    assert_eq!(at(3, 30), format!("{}\t0", 3 * HOUR + 30 * 60_000));
    assert_eq!(
        at(3, 45),
        format!("{}\t1\t0\t100\t115.5\t99.5\t115.25\t16", 3 * HOUR + 45 * 60_000)
    );
    assert_eq!(
        at(11, 30),
        format!("{}\t2\t{h4}\t116\t131.5\t115.5\t131.25\t16", 11 * HOUR + 30 * 60_000)
    );
    assert_eq!(
        at(11, 45),
        format!("{}\t2\t{h8}\t132\t147.5\t131.5\t147.25\t16", 11 * HOUR + 45 * 60_000)
    );
    assert_eq!(at(12, 0), format!("{}\t2\t{h8}\t132\t147.5\t131.5\t147.25\t16", 12 * HOUR));
}

/// `history` takes 1..=1000 bars, includes this step's bar, gives fewer near the start and none
/// in `initialize`; a bad `n`, a shorter or unknown timeframe raise an error a script can catch
/// (and one it does not catch fails the run with `runtime_error`).
#[test]
fn history_bounds_and_errors() {
    let source = r#"
        function initialize()
            log("init", #history(5))
        end
        local function try(...)
            local ok, err = pcall(history, ...)
            return ok and "ok" or tostring(err)
        end
        function on_data(bar)
            local h = history(1000)
            log(#h, h[1].timestamp, h[#h].timestamp == bar.timestamp, h[#h] ~= bar)
            if #h == 3 then
                log(try(0))
                log(try(1001))
                log(try(1.5))
                log(try("x"))
                log(try(1, "5m"))
                log(try(1, "2h"))
                log(try(1, "1h"))
                history(0)
            end
        end
    "#;
    let config = config(TradingMode::Spot, Timeframe::M15, &["BTCUSDT"]);
    let bars: Vec<Bar> = (0..8)
        .map(|i| testkit::bar(i64::from(i) * QUARTER, dec!(1), dec!(1), dec!(1), dec!(1)))
        .collect();
    let report = run(source, &config, &[(bars, None)]);
    assert_eq!(report.log[0], "init\t0");
    assert_eq!(report.log[1], "1\t0\ttrue\ttrue");
    assert_eq!(report.log[3], "3\t0\ttrue\ttrue");
    let errors = &report.log[4..11];
    assert!(errors[0].contains("n must be an integer from 1 to 1000, got 0"), "{}", errors[0]);
    assert!(errors[1].contains("got 1001"), "{}", errors[1]);
    assert!(errors[2].contains("got 1.5"), "{}", errors[2]);
    assert!(errors[3].contains("\"x\" (a string)"), "{}", errors[3]);
    assert!(errors[4].contains("timeframe 5m is not a multiple of the run's 15m"), "{}", errors[4]);
    assert!(errors[5].contains("unknown timeframe \"2h\""), "{}", errors[5]);
    assert_eq!(errors[6], "ok");
    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap();
    assert_eq!(error.code, ErrorCode::RuntimeError);
    assert!(error.message.contains("n must be an integer"), "{}", error.message);
}

/// Futures, 1000 USDT, BTC at 100, ETH at 50: `size_for_equity(10)` = 1000 × 10 / 100 × 1 / 100
/// = 1; with leverage 5, 5; at a price of 200, 2.5; ETH's 1000 × 10 / 100 / 50 = 2;
/// `size_for_risk(1, 100, 95)` = 1000 × 1 / 100 / 5 = 2; entry = stop gives infinity. Without a
/// price `size_for_equity` raises in `initialize`; with one it works there.
#[test]
fn sizing_helpers() {
    let source = r#"
        local eth = market("ETHUSDT")
        function initialize()
            log(pcall(size_for_equity, 10))
            log(size_for_equity(10, 2, 400))
        end
        function on_data(bar)
            if bar.timestamp == 0 then
                log(size_for_equity(10), size_for_equity(10, 5), size_for_equity(10, 5, 200))
                log(eth:size_for_equity(10), eth:size_for_risk(1, 50, 45))
                log(size_for_risk(1, 100, 95), size_for_risk(1, 100, 100) == math.huge)
                log(pcall(size_for_risk, 1, "100", 95))
            end
        end
    "#;
    let config = config(TradingMode::Futures, Timeframe::H1, &["BTCUSDT", "ETHUSDT"]);
    let report = run(source, &config, &[(flat(2, dec!(100)), None), (flat(2, dec!(50)), None)]);
    assert!(report.log[0].starts_with("false\t"), "{}", report.log[0]);
    assert!(report.log[0].contains("no price before the first bar"), "{}", report.log[0]);
    assert_eq!(report.log[1], "0.5");
    assert_eq!(report.log[2], "1\t5\t2.5");
    assert_eq!(report.log[3], "2\t2");
    assert_eq!(report.log[4], "2\ttrue");
    assert!(report.log[5].contains("entry must be a number"), "{}", report.log[5]);
}

/// `market(sym)` for a symbol outside the run is an error naming the run's symbols; the handle's
/// fields, `bars`, open orders' `symbol` and `get_margin_ratio` per position.
#[test]
fn handles_bars_and_open_orders() {
    let source = r#"
        local eth = market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp ~= 0 then return end
            log(pcall(market, "XRPUSDT"))
            log(eth.symbol, eth.bar.close, bars.BTCUSDT.close, bars["ETHUSDT"].close, market("ETHUSDT") == eth)
            local n = 0
            for sym, b in pairs(bars) do n = n + 1 end
            log(n)
            eth:buy_limit(1, 40)
            buy_limit(1, 90)
            local orders = get_open_orders()
            log(orders[1].symbol, orders[1].id, orders[2].symbol, orders[2].id)
            buy(1, 2)
            eth:sell(2)
            log(get_margin_ratio(), eth:get_margin_ratio())
            log(pcall(eth.buy, 1))
        end
    "#;
    let config = config(TradingMode::Futures, Timeframe::H1, &["BTCUSDT", "ETHUSDT"]);
    let report = run(source, &config, &[(flat(2, dec!(100)), None), (flat(2, dec!(50)), None)]);
    assert!(
        report.log[0]
            .contains("\"XRPUSDT\" is not a symbol of this run (its symbols: BTCUSDT, ETHUSDT)"),
        "{}",
        report.log[0]
    );
    assert_eq!(report.log[1], "ETHUSDT\t50\t100\t50\ttrue");
    assert_eq!(report.log[2], "2");
    assert_eq!(report.log[3], "ETHUSDT\t1\tBTCUSDT\t2");
    // Equity 1000; BTC margin 100 × 1 / 2 = 50, ETH margin 2 × 50 = 100.
    assert_eq!(report.log[4], "20\t10");
    assert!(report.log[5].contains("call it as m:buy(...)"), "{}", report.log[5]);
}

/// Ambiguity is per symbol: BTC's bar reaches both its stop (95) and its target (105) from the
/// open, ETH's bar none of its exits. The step counts one ambiguous bar — BTC's — and only BTC's
/// fills of that step are flagged, `on_data`'s included; ETH's fill in the same step is not.
#[test]
fn ambiguity_is_counted_and_flagged_per_symbol() {
    let source = r#"
        local eth = market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp == 0 then
                buy(1)
                set_stop_loss(95)
                set_take_profit(105)
                eth:buy(1)
                eth:set_stop_loss(40)
            elseif bar.timestamp == 3600000 then
                buy(1)
                eth:buy(1)
            end
        end
    "#;
    let config = config(TradingMode::Futures, Timeframe::H1, &["BTCUSDT", "ETHUSDT"]);
    let btc = vec![
        testkit::bar(0, dec!(100), dec!(100), dec!(100), dec!(100)),
        testkit::bar(HOUR, dec!(100), dec!(106), dec!(94), dec!(100)),
    ];
    let report = run(source, &config, &[(btc, None), (flat(2, dec!(50)), None)]);
    assert_eq!(report.ambiguous_bars, 1);
    assert_eq!(report.metrics.ambiguous_bars, 1);
    let by = report.metrics.by_symbol.as_ref().unwrap();
    let counts: Vec<u64> = by.0.iter().map(|(_, m)| m.ambiguous_bars).collect();
    assert_eq!(counts, [1, 0]);
    let flags: Vec<(String, i64, bool)> =
        report.trades.iter().map(|t| (t.symbol.to_string(), t.timestamp, t.ambiguous)).collect();
    assert_eq!(
        flags,
        [
            ("BTCUSDT".into(), 0, false),
            ("ETHUSDT".into(), 0, false),
            // Both extremes 6 from the open: a tie goes low first, so the stop fires.
            ("BTCUSDT".into(), HOUR, true),
            ("BTCUSDT".into(), HOUR, true),
            ("ETHUSDT".into(), HOUR, false),
        ]
    );
    assert_eq!(report.trades[2].order_type, OrderType::StopLoss);
}

/// `fill = next_open`: market orders queued in one `on_data` fill at the next step's open of their
/// own symbol, in the order they were placed (ETH's first here although BTC is the primary).
#[test]
fn queued_orders_fill_at_their_own_open_in_the_order_placed() {
    let source = r#"
        local eth = market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp == 0 then
                log(eth:buy(2), buy(1))
            end
        end
    "#;
    let config = builder(TradingMode::Spot, Timeframe::H1, &["BTCUSDT", "ETHUSDT"])
        .fill(cryptobt_domain::FillMode::NextOpen)
        .build()
        .unwrap();
    let btc = vec![
        testkit::bar(0, dec!(100), dec!(100), dec!(100), dec!(100)),
        testkit::bar(HOUR, dec!(101), dec!(103), dec!(101), dec!(102)),
    ];
    let eth = vec![
        testkit::bar(0, dec!(50), dec!(50), dec!(50), dec!(50)),
        testkit::bar(HOUR, dec!(49), dec!(49), dec!(47), dec!(48)),
    ];
    let report = run(source, &config, &[(btc, None), (eth, None)]);
    assert_eq!(report.log, ["true\ttrue\tnil"], "queued orders return true");
    let fills: Vec<(String, i64, Decimal, Decimal)> = report
        .trades
        .iter()
        .map(|t| (t.symbol.to_string(), t.timestamp, t.quantity, t.price))
        .collect();
    assert_eq!(
        fills,
        [("ETHUSDT".into(), HOUR, dec!(2), dec!(49)), ("BTCUSDT".into(), HOUR, dec!(1), dec!(101))]
    );
    // Cash 1000 − 98 − 101 = 801; valued at the closes: 801 + 2 × 48 + 1 × 102 = 999.
    let last = report.snapshots.last().unwrap();
    assert_eq!((last.cash, last.portfolio_value), (dec!(801), dec!(999)));
}

/// `intrabar = 1m` on two symbols: each symbol's hour is walked through its own minutes, BTC's
/// first. BTC's first minute of the second hour rises to 106 (its take-profit at 105 fills on the
/// path), ETH's falls to 44 (its stop at 45 fills); the hour bars alone would have said nothing
/// about which came first.
#[test]
fn each_symbol_walks_its_own_minutes_in_list_order() {
    let source = r#"
        local eth = market("ETHUSDT")
        function on_data(bar)
            if bar.timestamp == 0 then
                buy(1)
                set_stop_loss(95)
                set_take_profit(105)
                eth:buy(1)
                eth:set_stop_loss(45)
                eth:set_take_profit(55)
            end
        end
    "#;
    let config = builder(TradingMode::Spot, Timeframe::H1, &["BTCUSDT", "ETHUSDT"])
        .intrabar(cryptobt_domain::Intrabar::OneMinute)
        .build()
        .unwrap();
    let minutes = |price: Decimal, first_of_second_hour: [Decimal; 4]| {
        let bars: Vec<Bar> = (0..120)
            .map(|m| {
                let t = m * 60_000;
                let [o, h, l, c] =
                    if m == 60 { first_of_second_hour } else { [price, price, price, price] };
                testkit::bar(t, o, h, l, c)
            })
            .collect();
        BarSeries::new(vec![Arc::from(bars)])
    };
    let btc_minutes = minutes(dec!(100), [dec!(100), dec!(106), dec!(100), dec!(105)]);
    let eth_minutes = minutes(dec!(50), [dec!(50), dec!(50), dec!(44), dec!(45)]);
    // The hour bars: BTC's second hour reaches both of its exits, ETH's both of its own.
    let btc = BarSeries::new(vec![Arc::from(vec![
        testkit::bar(0, dec!(100), dec!(100), dec!(100), dec!(100)),
        testkit::bar(HOUR, dec!(100), dec!(106), dec!(94), dec!(100)),
    ])]);
    let eth = BarSeries::new(vec![Arc::from(vec![
        testkit::bar(0, dec!(50), dec!(50), dec!(50), dec!(50)),
        testkit::bar(HOUR, dec!(50), dec!(56), dec!(44), dec!(50)),
    ])]);
    let feeds = vec![
        Feed { minutes: Some(&btc_minutes), ..Feed::new(sym("BTCUSDT"), &btc) },
        Feed { minutes: Some(&eth_minutes), ..Feed::new(sym("ETHUSDT"), &eth) },
    ];
    let report = run_feeds(source, &config, feeds);
    let exits: Vec<(String, OrderType, Decimal, bool)> = report.trades[2..]
        .iter()
        .map(|t| (t.symbol.to_string(), t.order_type, t.price, t.ambiguous))
        .collect();
    assert_eq!(
        exits,
        [
            ("BTCUSDT".into(), OrderType::TakeProfit, dec!(105), false),
            ("ETHUSDT".into(), OrderType::StopLoss, dec!(45), false),
        ]
    );
    assert_eq!(report.ambiguous_bars, 0, "the minutes settle both");
    // Cash 1000 − 100 − 50 + 105 + 45.
    assert_eq!(report.snapshots.last().unwrap().cash, dec!(1000));
}
