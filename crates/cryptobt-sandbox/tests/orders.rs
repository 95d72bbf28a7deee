//! The order calls of docs/strategy-api.md (limit and stop orders, cancels, exits) through a real Luau VM:
//! what they return, what they place, and that hostile arguments are refused without raising.

#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

mod common;

use common::{futures_desk, run, run_with};
use cryptobt_domain::{testkit, OrderKind, OrderSide};
use rust_decimal_macros::dec;

#[test]
fn placements_return_ids_and_are_listed_in_id_order() {
    let desk = futures_desk();
    let src = r#"
        function on_data(bar)
            local a = buy_limit(0.5, 95, { tag = "dip", leverage = 3 })
            local b = sell_stop(0.25, 90.5, { reduce_only = true, stop_loss = 80, take_profit = 120 })
            local c = buy_stop(1, 110)
            local d = sell_limit(2, 130)
            log(a, b, c, d)
            for _, o in ipairs(get_open_orders()) do
                log(o.id, o.side, o.type, o.amount, o.price, o.leverage, o.reduce_only, o.tag)
            end
        end
    "#;
    run(src, &desk, &[100.0]).unwrap();
    let log = desk.log.borrow();
    assert_eq!(log[0], "1\t2\t3\t4");
    assert_eq!(log[1], "1\tbuy\tlimit\t0.5\t95\t3\tfalse\tdip");
    assert_eq!(log[2], "2\tsell\tstop\t0.25\t90.5\t1\ttrue\tnil");
    assert_eq!(log[3], "3\tbuy\tstop\t1\t110\t1\tfalse\tnil");
    assert_eq!(log[4], "4\tsell\tlimit\t2\t130\t1\tfalse\tnil");
    let book = desk.book.borrow();
    let o = &book.orders()[1];
    assert_eq!(
        (o.side, o.kind, o.amount, o.price),
        (OrderSide::Sell, OrderKind::Stop, dec!(0.25), dec!(90.5))
    );
    assert_eq!((o.stop_loss, o.take_profit), (Some(dec!(80)), Some(dec!(120))));
}

#[test]
fn cancels_free_slots_and_only_accepted_placements_take_ids() {
    let desk = futures_desk();
    let src = r#"
        function on_data(bar)
            local a = buy_limit(1, 90)
            local bad = buy_limit(1, -5)
            local b = buy_limit(1, 91)
            log(a, bad, b)
            log(cancel_order(a), cancel_order(a))
            log(cancel_order("x"), cancel_order(999))
            log(#get_open_orders(), cancel_all_orders(), #get_open_orders())
        end
    "#;
    run(src, &desk, &[100.0]).unwrap();
    let log = desk.log.borrow();
    assert_eq!(log[0], "1\tfalse\t2");
    // The last call's two values are both logged.
    assert_eq!(log[1], "true\tfalse\tno pending order with id 1");
    assert_eq!(log[2], "false\tfalse\tno pending order with id 999");
    assert_eq!(log[3], "1\t1\t0");
    // A refused placement is a rejection; a false cancel is not.
    assert_eq!(*desk.rejections.borrow(), ["invalid_price"]);
}

#[test]
fn hostile_arguments_are_refused_with_a_reason_never_raised() {
    let desk = futures_desk();
    let src = r#"
        local function try(label, ...)
            local ok, id, reason = pcall(...)
            log(label, ok, id, reason ~= nil)
        end
        function on_data(bar)
            local nan, inf = 0/0, math.huge
            try("nan amount", buy_limit, nan, 100)
            try("inf price", buy_limit, 1, inf)
            try("nan price", sell_stop, 1, nan)
            try("neg amount", buy_stop, -1, 100)
            try("huge amount", buy_limit, 1e300, 100)
            try("string amount", buy_limit, "1", 100)
            try("table price", buy_limit, 1, {})
            try("opts not a table", buy_limit, 1, 100, "fast")
            try("unknown key", buy_limit, 1, 100, { levrage = 2 })
            try("non-bool reduce_only", buy_limit, 1, 100, { reduce_only = 1 })
            try("table tag", buy_limit, 1, 100, { tag = {} })
            try("long tag", buy_limit, 1, 100, { tag = string.rep("x", 33) })
            try("huge tag", buy_limit, 1, 100, { tag = string.rep("x", 10 * 1024 * 1024) })
            try("bad stop_loss", buy_limit, 1, 100, { stop_loss = -1 })
            try("inf take_profit", buy_limit, 1, 100, { take_profit = inf })
            try("bad leverage", buy_limit, 1, 100, { leverage = 1000 })
            try("number key", buy_limit, 1, 100, { [1] = 2 })
        end
    "#;
    run(src, &desk, &[100.0]).unwrap();
    let log = desk.log.borrow();
    assert_eq!(log.len(), 17, "{log:?}");
    for line in log.iter() {
        assert!(line.ends_with("\ttrue\tfalse\ttrue"), "refused with a reason, not raised: {line}");
    }
    assert!(desk.book.borrow().orders().is_empty());
    assert_eq!(desk.rejections.borrow().len(), 17, "every refused placement is counted");
}

#[test]
fn a_million_placements_and_cancels_in_a_bar_are_capped_and_quick() {
    let desk = futures_desk();
    let src = r#"
        function on_data(bar)
            local placed = 0
            for i = 1, 1000000 do
                local id = buy_limit(0.001, 50 + (i % 40))
                if id then placed += 1 end
                cancel_order(i)
            end
            log(placed, #get_open_orders())
        end
    "#;
    let mut limits = common::limits();
    // Two million host calls take a while in an unoptimized test build; the point is that they
    // are refused one by one without error and without growing the book.
    limits.max_duration = std::time::Duration::from_secs(120);
    run_with(&limits, src, &desk, &[100.0]).unwrap();
    let log = desk.log.borrow();
    // 10 calls per bar under the test limits; each accepted one cancelled right after.
    assert_eq!(log[0], "10\t0");
    assert_eq!(
        desk.rejections.borrow().iter().filter(|r| *r == "orders_per_bar").count(),
        1_000_000 - 10
    );
}

#[test]
fn at_most_100_orders_wait_at_once() {
    let desk = futures_desk();
    let mut limits = common::limits();
    limits.max_orders_per_bar = 1_000;
    let src = r#"
        function on_data(bar)
            local placed, reason = 0, nil
            for i = 1, 150 do
                local id, why = buy_limit(0.001, 50)
                if id then placed += 1 else reason = why end
            end
            log(placed, reason)
        end
    "#;
    run_with(&limits, src, &desk, &[100.0]).unwrap();
    let log = desk.log.borrow();
    assert!(log[0].starts_with("100\tpending order limit reached"), "{}", log[0]);
}

#[test]
fn exits_need_a_position_and_the_right_side_of_the_price() {
    let desk = futures_desk();
    let src = r#"
        function on_data(bar)
            log(set_stop_loss(90))
            log(set_stop_loss(nil), set_take_profit(nil), set_trailing_stop(nil))
            buy(1)
            log(set_stop_loss(100))
            log(set_stop_loss(101))
            log(set_take_profit(99))
            log(set_stop_loss(95), set_take_profit(110), set_trailing_stop(0.02))
            log(set_trailing_stop(0), set_trailing_stop(1), set_trailing_stop(0/0), set_stop_loss("x"))
        end
    "#;
    run(src, &desk, &[100.0]).unwrap();
    let log = desk.log.borrow();
    assert_eq!(log[0], "false\tno open position to close");
    assert_eq!(log[1], "true\ttrue\ttrue\tnil");
    assert!(
        log[2].starts_with("false\tstop_loss 100 must be below the current price 100"),
        "{}",
        log[2]
    );
    assert!(log[3].starts_with("false\tstop_loss 101 must be below"), "{}", log[3]);
    assert!(log[4].starts_with("false\ttake_profit 99 must be above"), "{}", log[4]);
    assert_eq!(log[5], "true\ttrue\ttrue\tnil");
    assert!(log[6].starts_with("false\tfalse\tfalse\tfalse\tstop_loss must be"), "{}", log[6]);
    let book = desk.book.borrow();
    assert_eq!(book.exits(testkit::btc()).stop_loss.map(|a| a.value), Some(dec!(95)));
    assert_eq!(book.exits(testkit::btc()).take_profit.map(|a| a.value), Some(dec!(110)));
    assert_eq!(book.exits(testkit::btc()).trailing.map(|a| a.value.level), Some(dec!(98)));
    // Refused set_* calls are not rejections.
    assert!(desk.rejections.borrow().is_empty(), "{:?}", desk.rejections.borrow());
    let _ = testkit::btc();
}

#[test]
fn placements_in_initialize_are_refused_and_counted() {
    let desk = futures_desk();
    let src = r#"
        function initialize() log(buy_limit(1, 90)) end
        function on_data(bar) end
    "#;
    run(src, &desk, &[100.0]).unwrap();
    assert!(desk.log.borrow()[0].starts_with("false\torders need a price"));
    assert_eq!(*desk.rejections.borrow(), ["no_price"]);
}

#[test]
fn plot_draws_series_and_refuses_bad_values_without_failing() {
    let desk = futures_desk();
    let src = r#"
        local n = 0
        function on_data(bar)
            n += 1
            log(plot("close", bar.close), plot("osc", n, { pane = "own", levels = { 30, 70 } }))
            if n == 1 then
                log(plot("osc", 1, { pane = "own", levels = { 1, "x" } }), plot("osc", 1, { pane = "own", levels = 5 }))
                log(plot("osc", 1, { pane = "own", levels = { 1, 2, 3, 4, 5, 6, 7, 8, 9 } }), plot("osc", 1, { pane = "own", levels = { 0/0 } }))
                log(plot("nan", 0/0), plot(42, 1), plot("x", "1"), plot("y", 1, { pane = "left" }))
                log(plot(string.rep("n", 33), 1), plot("z", 1, "own"), plot("close", 1, { pane = "own" }))
                for i = 1, 20 do plot("s" .. i, i) end
            end
        end
    "#;
    run(src, &desk, &[100.0, 101.5]).unwrap();
    let log = desk.log.borrow();
    assert_eq!(log[0], "true\ttrue\tnil");
    assert!(log[1].starts_with("false\tfalse\tplot levels must be a list"), "{}", log[1]);
    assert!(log[2].starts_with("false\tfalse\tplot levels must be a list"), "{}", log[2]);
    let log: Vec<String> = log[..1].iter().chain(&log[3..]).cloned().collect();
    assert!(log[1].starts_with("false\tfalse\tfalse\tfalse\tplot pane must be"), "{}", log[1]);
    assert!(
        log[2].starts_with("false\tfalse\tfalse\tplot \"close\" is already drawn"),
        "{}",
        log[2]
    );
    let plots = desk.plots.borrow().clone().into_series();
    assert_eq!(plots.len(), cryptobt_domain::MAX_PLOT_SERIES, "capped at the series limit");
    assert_eq!(plots[0].name, "close");
    assert_eq!(plots[0].points.iter().map(|p| p.1).collect::<Vec<_>>(), [100.0, 101.5]);
    assert_eq!(plots[1].pane, cryptobt_domain::PlotPane::Own);
    assert_eq!(plots[1].levels, [30.0, 70.0], "refused levels left the first ones");
    assert_eq!(plots[1].points.iter().map(|p| p.1).collect::<Vec<_>>(), [1.0, 2.0]);
    assert!(desk.rejections.borrow().is_empty(), "plot refusals are not order rejections");
}
