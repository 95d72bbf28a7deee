//! The rules of docs/design.md#pending-orders-and-exits and #the-bar-loop, each on a bar worked by hand: the numbers in the
//! assertions are computed in the comments, not taken from the engine.

use std::sync::Arc;

use chrono::NaiveDate;
use cryptobt_domain::{
    ports::{BarSeries, SharedContext, Strategy, StrategyError},
    testkit::btc,
    BacktestConfig, BacktestReport, Bar, ExitKind, Intrabar, OrderKind, OrderOptions, OrderRequest,
    OrderSide, OrderType, Timeframe, TradingMode,
};
use cryptobt_engine::Backtest;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const T0: i64 = 1_735_689_600_000;
const HOUR: i64 = 3_600_000;

/// Runs `on_bar(index, ctx)` over hourly bars `(o, h, l, c)`.
fn run(
    config: BacktestConfig,
    bars: &[[Decimal; 4]],
    minutes: Option<Vec<Bar>>,
    on_bar: impl FnMut(usize, &SharedContext),
) -> BacktestReport {
    struct Script<F>(usize, F);
    impl<F: FnMut(usize, &SharedContext)> Strategy for Script<F> {
        fn on_bar(&mut self, _: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
            (self.1)(self.0, ctx);
            self.0 += 1;
            Ok(())
        }
    }
    let series = cryptobt_domain::testkit::series(T0, HOUR, bars);
    let minutes = minutes.map(|m| BarSeries::new(vec![Arc::from(m)]));
    let mut backtest = Backtest::new(&config, &series);
    if let Some(m) = &minutes {
        backtest = backtest.minutes(m);
    }
    backtest.run(&mut Script(0, on_bar), &())
}

fn config(mode: TradingMode) -> cryptobt_domain::BacktestConfigBuilder {
    let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    BacktestConfig::builder(btc(), Timeframe::H1, day, day)
        .trading_mode(mode)
        .max_leverage(if mode == TradingMode::Futures { dec!(100) } else { Decimal::ONE })
}

fn order(side: OrderSide, kind: OrderKind, quantity: Decimal, price: Decimal) -> OrderRequest {
    OrderRequest { side, kind, quantity, price, options: OrderOptions::default() }
}

fn flat_bar(p: Decimal) -> [Decimal; 4] {
    [p, p, p, p]
}

#[test]
fn the_nearer_extreme_comes_first_and_a_straddled_bar_is_ambiguous() {
    // Long 1 at 100 (spot, fee 0.001), stop-loss 95, take-profit 105.
    let bracket = |ctx: &SharedContext| {
        ctx.submit(ctx.symbol(), OrderSide::Buy, dec!(1), Decimal::ONE).unwrap();
        ctx.set_exit(ctx.symbol(), ExitKind::StopLoss, Some(dec!(95))).unwrap();
        ctx.set_exit(ctx.symbol(), ExitKind::TakeProfit, Some(dec!(105))).unwrap();
    };
    // (100, 106, 92, 99): H − O = 6 < O − L = 8, so the high comes first: take-profit at 105,
    // a maker fill (spot maker fee 0.001): fee 0.105, pnl (105 − 100) − 0.105 = 4.895.
    let r = run(
        config(TradingMode::Spot).build().unwrap(),
        &[flat_bar(dec!(100)), [dec!(100), dec!(106), dec!(92), dec!(99)]],
        None,
        |i, ctx| {
            if i == 0 {
                bracket(ctx);
            }
        },
    );
    let exit = &r.trades[1];
    assert_eq!(
        (exit.order_type, exit.price, exit.fee, exit.pnl),
        (OrderType::TakeProfit, dec!(105), dec!(0.105), dec!(4.895))
    );
    assert!(exit.ambiguous && !r.trades[0].ambiguous);
    assert_eq!(r.ambiguous_bars, 1);
    // (100, 108, 94, 104): H − O = 8 > O − L = 6, so the low comes first: stop-loss at 95, a
    // taker fill: fee 0.095, pnl −5 − 0.095 = −5.095.
    let r = run(
        config(TradingMode::Spot).build().unwrap(),
        &[flat_bar(dec!(100)), [dec!(100), dec!(108), dec!(94), dec!(104)]],
        None,
        |i, ctx| {
            if i == 0 {
                bracket(ctx);
            }
        },
    );
    let exit = &r.trades[1];
    assert_eq!(
        (exit.order_type, exit.price, exit.pnl),
        (OrderType::StopLoss, dec!(95), dec!(-5.095))
    );
    assert_eq!(r.ambiguous_bars, 1);
}

#[test]
fn a_gap_through_a_sell_stop_fills_at_the_open() {
    // Futures long 1 at 100, a sell stop at 95; the next bar opens at 93: filled at 93 (not 95),
    // taker fee 0.0005 × 93 = 0.0465; gross −7 on the long: pnl −7.0465.
    let r = run(
        config(TradingMode::Futures).build().unwrap(),
        &[flat_bar(dec!(100)), [dec!(93), dec!(97), dec!(90), dec!(96)]],
        None,
        |i, ctx| {
            if i == 0 {
                ctx.submit(ctx.symbol(), OrderSide::Buy, dec!(1), dec!(2)).unwrap();
                ctx.place_order(
                    ctx.symbol(),
                    order(OrderSide::Sell, OrderKind::Stop, dec!(1), dec!(95)),
                )
                .unwrap();
            }
        },
    );
    let t = &r.trades[1];
    assert_eq!(
        (t.order_type, t.price, t.fee, t.pnl),
        (OrderType::Stop, dec!(93), dec!(0.0465), dec!(-7.0465))
    );
    assert_eq!(r.ambiguous_bars, 0, "only falling triggers are armed");
}

#[test]
fn a_two_percent_trailing_stop_follows_the_peak() {
    // Long 1 at 100, trailing 2 %: peak 100 (stop 98). Bar 1 (100, 104, 99.5, 103): low first
    // (4 > 0.5), 99.5 > 98; then the peak becomes 104 (stop 101.92). Bar 2 (103, 110, 102.5, 109):
    // low first, 102.5 > 101.92; peak 110 (stop 107.8). Bar 3 (109, 109.5, 106, 107): high first
    // (0.5 < 3), peak 110 stays; the fall to 106 reaches 107.8: filled at 107.8, taker fee
    // 0.1078, pnl 7.8 − 0.1078 = 7.6922.
    let r = run(
        config(TradingMode::Spot).build().unwrap(),
        &[
            flat_bar(dec!(100)),
            [dec!(100), dec!(104), dec!(99.5), dec!(103)],
            [dec!(103), dec!(110), dec!(102.5), dec!(109)],
            [dec!(109), dec!(109.5), dec!(106), dec!(107)],
        ],
        None,
        |i, ctx| {
            if i == 0 {
                ctx.submit(ctx.symbol(), OrderSide::Buy, dec!(1), Decimal::ONE).unwrap();
                ctx.set_exit(ctx.symbol(), ExitKind::Trailing, Some(dec!(0.02))).unwrap();
            }
        },
    );
    assert_eq!(r.trades.len(), 2);
    let t = &r.trades[1];
    assert_eq!(t.timestamp, T0 + 3 * HOUR);
    assert_eq!(
        (t.order_type, t.price, t.fee, t.pnl),
        (OrderType::TrailingStop, dec!(107.8), dec!(0.1078), dec!(7.6922))
    );
}

#[test]
fn a_stop_entry_reaches_its_take_profit_on_the_same_leg() {
    // Buy stop 2 at 102 with take-profit 105 (futures, 5x). Bar (100, 107, 99.5, 106): low first,
    // then the rising leg fills the stop at 102 (taker 0.0005: fee 0.102) and goes on to 105,
    // where the take-profit fills as a maker (0.0002 × 210 = 0.042): pnl 6 − 0.042 = 5.958.
    let r = run(
        config(TradingMode::Futures).build().unwrap(),
        &[flat_bar(dec!(100)), [dec!(100), dec!(107), dec!(99.5), dec!(106)]],
        None,
        |i, ctx| {
            if i == 0 {
                let mut o = order(OrderSide::Buy, OrderKind::Stop, dec!(2), dec!(102));
                o.options.leverage = Some(dec!(5));
                o.options.take_profit = Some(dec!(105));
                ctx.place_order(ctx.symbol(), o).unwrap();
            }
        },
    );
    let got: Vec<_> = r.trades.iter().map(|t| (t.order_type, t.price, t.fee, t.pnl)).collect();
    assert_eq!(
        got,
        [
            (OrderType::Stop, dec!(102), dec!(0.102), dec!(-0.102)),
            (OrderType::TakeProfit, dec!(105), dec!(0.042), dec!(5.958)),
        ]
    );
}

#[test]
fn liquidation_comes_before_a_stop_loss_set_beyond_it() {
    // Long 10 at 100 with 20x: margin 50, mmr 0.005: liq = (1000 − 50) / (10 × 0.995)
    // = 95.47738693467336683417085427 (as `Decimal` divides). Stop-loss at 95 lies beyond it: the falling leg reaches liq
    // first; the whole margin is lost (pnl −50) and the stop-loss goes with the position.
    let r = run(
        config(TradingMode::Futures).build().unwrap(),
        &[flat_bar(dec!(100)), [dec!(100), dec!(100.5), dec!(94), dec!(96)]],
        None,
        |i, ctx| {
            if i == 0 {
                ctx.submit(ctx.symbol(), OrderSide::Buy, dec!(10), dec!(20)).unwrap();
                ctx.set_exit(ctx.symbol(), ExitKind::StopLoss, Some(dec!(95))).unwrap();
            }
        },
    );
    assert_eq!(r.trades.len(), 2);
    let t = &r.trades[1];
    assert_eq!(
        (t.order_type, t.price, t.pnl),
        (OrderType::Liquidation, dec!(95.47738693467336683417085427), dec!(-50))
    );
}

#[test]
fn reduce_only_is_cut_to_the_position_and_cancelled_without_one() {
    // Long 0.5; a reduce-only sell limit of 2 at 104 fills only 0.5 (maker 0.0002 × 52 = 0.0104);
    // a second one finds no position when it fires: cancelled, rejection `reduce_only`.
    let r = run(
        config(TradingMode::Futures).build().unwrap(),
        &[
            flat_bar(dec!(100)),
            [dec!(100), dec!(106), dec!(99.5), dec!(105)],
            [dec!(105), dec!(107), dec!(104), dec!(106)],
        ],
        None,
        |i, ctx| {
            let mut o = order(OrderSide::Sell, OrderKind::Limit, dec!(2), dec!(104));
            o.options.reduce_only = true;
            if i == 0 {
                ctx.submit(ctx.symbol(), OrderSide::Buy, dec!(0.5), dec!(2)).unwrap();
                ctx.place_order(ctx.symbol(), o).unwrap();
            } else if i == 1 {
                o.price = dec!(106.5);
                ctx.place_order(ctx.symbol(), o).unwrap();
            }
        },
    );
    assert_eq!(r.trades.len(), 2);
    assert_eq!((r.trades[1].quantity, r.trades[1].fee), (dec!(0.5), dec!(0.0104)));
    assert_eq!(r.rejections.get("reduce_only"), Some(&1));
    assert_eq!(r.pending_at_end, 0);
}

#[test]
fn a_refusal_at_the_fill_cancels_the_order() {
    // 1000 USDT spot; a buy limit of 20 at 95 needs 1901.9: refused when it fires.
    let r = run(
        config(TradingMode::Spot).initial_capital(dec!(1000)).build().unwrap(),
        &[
            flat_bar(dec!(100)),
            [dec!(100), dec!(100), dec!(94), dec!(96)],
            [dec!(96), dec!(96), dec!(90), dec!(91)],
        ],
        None,
        |i, ctx| {
            if i == 0 {
                ctx.place_order(
                    ctx.symbol(),
                    order(OrderSide::Buy, OrderKind::Limit, dec!(20), dec!(95)),
                )
                .unwrap();
            }
        },
    );
    assert!(r.trades.is_empty());
    assert_eq!(r.rejections.get("insufficient_funds"), Some(&1));
    assert_eq!(r.pending_at_end, 0, "the refused order is gone, not retried on the next bar");
}

#[test]
fn a_limit_pays_the_maker_fee_on_the_path_and_the_taker_fee_at_a_gap() {
    // Futures maker 0.0001, taker 0.0006. A buy limit at 98 reached on the path: fee 0.0098.
    // A buy limit at 96.5 when the bar opens at 96: filled at 96, fee 0.0006 × 96 = 0.0576.
    let r = run(
        config(TradingMode::Futures)
            .fee_rate(dec!(0.0006))
            .maker_fee_rate(dec!(0.0001))
            .build()
            .unwrap(),
        &[
            flat_bar(dec!(100)),
            [dec!(100), dec!(100.5), dec!(97), dec!(98)],
            [dec!(96), dec!(99), dec!(95.5), dec!(98.5)],
        ],
        None,
        |i, ctx| {
            let price = if i == 0 { dec!(98) } else { dec!(96.5) };
            if i < 2 {
                ctx.place_order(
                    ctx.symbol(),
                    order(OrderSide::Buy, OrderKind::Limit, dec!(1), price),
                )
                .unwrap();
            }
        },
    );
    let got: Vec<_> = r.trades.iter().map(|t| (t.price, t.fee)).collect();
    assert_eq!(got, [(dec!(98), dec!(0.0098)), (dec!(96), dec!(0.0576))]);
}

#[test]
fn one_minute_bars_decide_a_bar_the_coarse_rule_gets_wrong() {
    // The hour (100, 104.5, 93, 101) walks high first (4.5 < 7): take-profit 104. Its minutes
    // fall to 93 first and rise later: with intrabar = 1m the stop-loss at 95 fills instead.
    let minutes: Vec<Bar> = (0..60)
        .map(|m| {
            let p = |k: i64| -> Decimal {
                // 100 → 93 over minutes 0..20, → 104.5 over 20..50, → 101 over 50..60.
                let k = Decimal::from(k);
                if k <= dec!(20) {
                    dec!(100) - dec!(0.35) * k
                } else if k <= dec!(50) {
                    dec!(93) + (dec!(11.5) / dec!(30) * (k - dec!(20))).round_dp(4)
                } else {
                    dec!(104.5) - dec!(0.35) * (k - dec!(50))
                }
            };
            let (o, c) = (p(m), p(m + 1));
            Bar {
                timestamp: T0 + HOUR + m * 60_000,
                open: o,
                high: o.max(c),
                low: o.min(c),
                close: c,
                volume: Decimal::ONE,
            }
        })
        .collect();
    let hour = [dec!(100), dec!(104.5), dec!(93), dec!(101)];
    let flat: Vec<Bar> = (0..60)
        .map(|m| Bar {
            timestamp: T0 + m * 60_000,
            open: dec!(100),
            high: dec!(100),
            low: dec!(100),
            close: dec!(100),
            volume: Decimal::ONE,
        })
        .collect();
    let bracket = |i: usize, ctx: &SharedContext| {
        if i == 0 {
            ctx.submit(ctx.symbol(), OrderSide::Buy, dec!(1), Decimal::ONE).unwrap();
            ctx.set_exit(ctx.symbol(), ExitKind::StopLoss, Some(dec!(95))).unwrap();
            ctx.set_exit(ctx.symbol(), ExitKind::TakeProfit, Some(dec!(104))).unwrap();
        }
    };
    let coarse = run(
        config(TradingMode::Spot).build().unwrap(),
        &[flat_bar(dec!(100)), hour],
        None,
        bracket,
    );
    assert_eq!(
        (coarse.trades[1].order_type, coarse.trades[1].price),
        (OrderType::TakeProfit, dec!(104))
    );
    assert_eq!(coarse.ambiguous_bars, 1);
    let fine = run(
        config(TradingMode::Spot).intrabar(Intrabar::OneMinute).build().unwrap(),
        &[flat_bar(dec!(100)), hour],
        Some([flat, minutes].concat()),
        bracket,
    );
    assert_eq!((fine.trades[1].order_type, fine.trades[1].price), (OrderType::StopLoss, dec!(95)));
    assert_eq!(fine.trades[1].timestamp, T0 + HOUR, "stamped with the hour's open time");
    assert_eq!(fine.ambiguous_bars, 0, "no single minute straddles both levels");
}

#[test]
fn a_fill_on_the_path_whose_liquidation_price_is_the_fill_liquidates_at_once() {
    // Futures 50x, mmr 0.02: a long's liq = (E×Q − E×Q/50) / (Q × 0.98) = E. A buy limit for
    // 0.00012347 at 95123.4567 fills at the bar's low on the path: E×Q = 11.744893198749,
    // M = 0.23489786397498 (exact; at 12 places it was 0.234897863975, which put liq a hair
    // below the fill and the liquidation a bar later). liq = E = the current point: the
    // position is liquidated there, at once: price E, pnl −M, fee M + (liq − E) × Q = M.
    let config = config(TradingMode::Futures).maintenance_margin_rate(dec!(0.02)).build().unwrap();
    let e = dec!(95123.4567);
    let r = run(
        config,
        &[flat_bar(dec!(96000)), [dec!(96000), dec!(96500), e, dec!(95500)], flat_bar(e)],
        None,
        |i, ctx| {
            if i == 0 {
                let mut buy = order(OrderSide::Buy, OrderKind::Limit, dec!(0.00012347), e);
                buy.options.leverage = Some(dec!(50));
                ctx.place_order(ctx.symbol(), buy).unwrap();
            }
        },
    );
    let got: Vec<_> =
        r.trades.iter().map(|t| (t.timestamp, t.order_type, t.price, t.fee, t.pnl)).collect();
    assert_eq!(
        got,
        [
            // maker fee 11.744893198749 × 0.0002
            (T0 + HOUR, OrderType::Limit, e, dec!(0.0023489786397498), dec!(-0.0023489786397498)),
            (T0 + HOUR, OrderType::Liquidation, e, dec!(0.23489786397498), dec!(-0.23489786397498)),
        ]
    );
}
