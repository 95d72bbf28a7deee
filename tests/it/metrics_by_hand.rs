//! Every metric of docs/metrics.md and the round trips on runs worked by hand: the expected numbers are
//! computed in the comments (floats with Python's `math`), not taken from the engine.

use chrono::NaiveDate;
use cryptobt_domain::{
    ports::{SharedContext, Strategy, StrategyError},
    testkit::btc,
    BacktestConfig, BacktestReport, Bar, OrderSide, OrderType, PositionType, Timeframe,
    TradingMode,
};
use cryptobt_engine::Backtest;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const T0: i64 = 1_735_689_600_000; // 2025-01-01 00:00 UTC
const DAY: i64 = 86_400_000;

#[derive(Clone, Copy)]
enum Act {
    Buy(Decimal, Decimal),
    Sell(Decimal, Decimal),
    Close(Decimal),
}

fn run(
    config: BacktestConfig,
    step: i64,
    bars: &[[Decimal; 4]],
    acts: &[(usize, Act)],
) -> BacktestReport {
    struct Script(usize, Vec<(usize, Act)>);
    impl Strategy for Script {
        fn on_bar(&mut self, _: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
            for (_, act) in self.1.iter().filter(|(i, _)| *i == self.0) {
                let _ = match *act {
                    Act::Buy(q, l) => ctx.submit(ctx.symbol(), OrderSide::Buy, q, l),
                    Act::Sell(q, l) => ctx.submit(ctx.symbol(), OrderSide::Sell, q, l),
                    Act::Close(p) => ctx.close_position(ctx.symbol(), p),
                };
            }
            self.0 += 1;
            Ok(())
        }
    }
    let series = cryptobt_domain::testkit::series(T0, step, bars);
    Backtest::new(&config, &series).run(&mut Script(0, acts.to_vec()), &())
}

fn flat(p: Decimal) -> [Decimal; 4] {
    [p, p, p, p]
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
}

#[track_caller]
fn near(got: Option<f64>, want: f64) {
    let got = got.expect("a value");
    assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "got {got}, want {want}");
}

#[test]
fn spot_round_trips_and_every_metric() {
    // Spot, 1000 USDT, no fee; one bar a day closing 100, 110, 105, 100, 100, 98, 101.
    // Day 0 buy 1 @100, day 1 close @110 (+10); day 2 buy 1 @105, day 3 close @100 (−5);
    // day 4 buy 1 @100, day 5 close @98 (−2). Equity at the closes: 1000, 1010, 1010, 1005,
    // 1005, 1003, 1003.
    let config = BacktestConfig::builder(btc(), Timeframe::D1, day(), day())
        .initial_capital(dec!(1000))
        .fee_rate(Decimal::ZERO)
        .build()
        .unwrap();
    let closes = [dec!(100), dec!(110), dec!(105), dec!(100), dec!(100), dec!(98), dec!(101)];
    let bars: Vec<_> = closes.iter().map(|c| flat(*c)).collect();
    let one = (Decimal::ONE, Decimal::ONE);
    let acts = [
        (0, Act::Buy(one.0, one.1)),
        (1, Act::Close(dec!(100))),
        (2, Act::Buy(one.0, one.1)),
        (3, Act::Close(dec!(100))),
        (4, Act::Buy(one.0, one.1)),
        (5, Act::Close(dec!(100))),
    ];
    let r = run(config, DAY, &bars, &acts);
    let pnls: Vec<Decimal> = r.round_trips.iter().map(|t| t.pnl).collect();
    assert_eq!(pnls, [dec!(10), dec!(-5), dec!(-2)]);
    assert!(r.round_trips.iter().all(|t| t.bars_held == 1 && t.side == PositionType::Long));
    assert_eq!((r.round_trips[1].entry_price, r.round_trips[1].exit_price), (dec!(105), dec!(100)));
    let m = &r.metrics;
    assert_eq!((m.round_trips, m.total_trades, m.max_consecutive_losses), (3, 6, 2));
    near(m.win_rate, 100.0 / 3.0);
    near(m.profit_factor, 10.0 / 7.0); // 10 / |−5 − 2|
    assert_eq!(m.expectancy, Some(dec!(1))); // (10 − 5 − 2) / 3
    assert_eq!((m.avg_win, m.avg_loss), (Some(dec!(10)), Some(dec!(-3.5))));
    assert_eq!((m.largest_win, m.largest_loss), (Some(dec!(10)), Some(dec!(-5))));
    near(m.avg_bars_held, 1.0);
    // Highs: 1000 (day 0), 1010 (days 1 and 2); below it from day 3 to the end (day 6):
    // 6 − 2 = 4 days. The worst drawdown: 1003 / 1010 − 1.
    near(m.max_drawdown_duration_days, 4.0);
    near(m.max_drawdown, -0.6930693069306937);
    // Daily returns 0, 0.01, 0, −0.004950…, 0, −0.001990…, 0 (Python: statistics by hand).
    near(m.volatility, 0.4603088064438407);
    near(m.annualized_volatility, 8.79418739911539);
    near(m.sharpe_ratio, 1.8140247432705432);
    near(m.sortino_ratio, 4.140619525635181);
    // ((1003 / 1000)^(365 / 6) − 1) × 100 and its ratio to |max drawdown|.
    near(m.annualized_return, 19.988629276009927);
    near(m.calmar_ratio, 28.840736526814297);
    near(m.benchmark_return, 1.0); // 101 / 100 − 1
    assert_eq!(m.total_fees, Decimal::ZERO);
    assert!(!r.open_at_end);
}

#[test]
fn a_run_without_round_trips_has_their_metrics_null() {
    // Never trades: flat equity, no round trip, no drawdown.
    let config = BacktestConfig::builder(btc(), Timeframe::D1, day(), day()).build().unwrap();
    let bars = [flat(dec!(100)), flat(dec!(101)), flat(dec!(99))];
    let m = run(config, DAY, &bars, &[]).metrics;
    assert_eq!((m.round_trips, m.max_consecutive_losses), (0, 0));
    assert_eq!((m.win_rate, m.profit_factor, m.avg_bars_held), (None, None, None));
    assert_eq!((m.expectancy, m.avg_win, m.avg_loss), (None, None, None));
    assert_eq!((m.largest_win, m.largest_loss), (None, None));
    assert_eq!(m.max_drawdown_duration_days, Some(0.0));
    assert_eq!(m.max_drawdown, Some(0.0));
    assert_eq!(m.calmar_ratio, None, "the drawdown is 0");
    assert_eq!(m.sharpe_ratio, None, "no daily return moves: the deviation is 0");
}

#[test]
fn only_winners_leave_the_profit_factor_and_the_largest_loss_null() {
    let config = BacktestConfig::builder(btc(), Timeframe::D1, day(), day())
        .fee_rate(Decimal::ZERO)
        .build()
        .unwrap();
    let bars = [flat(dec!(100)), flat(dec!(105))];
    let acts = [(0, Act::Buy(Decimal::ONE, Decimal::ONE)), (1, Act::Close(dec!(100)))];
    let m = run(config, DAY, &bars, &acts).metrics;
    assert_eq!((m.profit_factor, m.largest_loss, m.avg_loss), (None, None, None));
    assert_eq!((m.largest_win, m.max_consecutive_losses), (Some(dec!(5)), 0));
    near(m.win_rate, 100.0);
}

/// A zero-fee round trip that gains 2e-13 (0.00001 BTC, 100 → 100.00000002) is booked exactly
/// and counts as a win; at 12 places it was 0 and left the win rate.
#[test]
fn a_round_trip_of_two_tenths_of_a_picodollar_is_a_win() {
    let config = BacktestConfig::builder(btc(), Timeframe::D1, day(), day())
        .fee_rate(Decimal::ZERO)
        .build()
        .unwrap();
    let bars = [flat(dec!(100)), flat(dec!(100.00000002))];
    let acts = [(0, Act::Buy(dec!(0.00001), Decimal::ONE)), (1, Act::Close(dec!(100)))];
    let r = run(config, DAY, &bars, &acts);
    assert_eq!(r.round_trips.len(), 1);
    assert_eq!(r.round_trips[0].pnl, dec!(0.0000000000002));
    let m = r.metrics;
    assert_eq!(
        (m.round_trips, m.largest_win, m.avg_win),
        (1, Some(dec!(0.0000000000002)), Some(dec!(0.0000000000002)))
    );
    near(m.win_rate, 100.0);
    assert_eq!(m.final_equity, Some(dec!(10000.0000000000002)));
}

#[test]
fn futures_round_trips_through_an_add_a_partial_close_a_flip_funding_and_a_liquidation() {
    // Futures, no fee, funding 0.001 every 8 h, bars every 4 h from 00:00.
    // b0 (00:00, 100): buy 1 at 10x: entry 100, margin 10.
    // b1 (04:00, close 110): buy 1 at 10x: size 2, entry 105, margin 21.
    // b2 (08:00, open 110): funding 2 × 110 × 0.001 = 0.22 paid; close 50 % at 120: +15.
    // b3 (12:00, close 115): sell 3 at 10x: closes 1 (+10), opens a short of 2 at 115 (margin
    //   23). Trip 1: 15 + 10 − 0.22 = 24.78; entry (100 + 110) / 2 = 105, exit (120 + 115) / 2 =
    //   117.5, max size 2, bars 3 − 0 = 3.
    // b4 (16:00, open 115): funding −(−2) × 115 × 0.001 = +0.23; the high 130 reaches the short's
    //   liquidation price (115 × 2 + 23) / (2 × 1.005) = 125.870646766169: pnl −23. Trip 2:
    //   −23 + 0.23 = −22.77, bars 1, exit by liquidation; its clearance fee
    //   23 + (125.870646766169 − 115) × 2 × (−1) = 1.258706467662 is not in `fees`.
    // b5 (20:00, 128): buy 1 at 5x — still open at the end (not a round trip).
    // b6 (00:00, open 128): funding 1 × 128 × 0.001 = 0.128 paid.
    let config = BacktestConfig::builder(btc(), Timeframe::H4, day(), day())
        .trading_mode(TradingMode::Futures)
        .max_leverage(dec!(10))
        .fee_rate(Decimal::ZERO)
        .funding_rate(dec!(0.001))
        .build()
        .unwrap();
    let bars = [
        flat(dec!(100)),
        [dec!(100), dec!(110), dec!(100), dec!(110)],
        [dec!(110), dec!(120), dec!(110), dec!(120)],
        [dec!(120), dec!(120), dec!(115), dec!(115)],
        [dec!(115), dec!(130), dec!(115), dec!(128)],
        flat(dec!(128)),
        [dec!(128), dec!(130), dec!(128), dec!(130)],
    ];
    let ten = dec!(10);
    let acts = [
        (0, Act::Buy(Decimal::ONE, ten)),
        (1, Act::Buy(Decimal::ONE, ten)),
        (2, Act::Close(dec!(50))),
        (3, Act::Sell(dec!(3), ten)),
        (5, Act::Buy(Decimal::ONE, dec!(5))),
    ];
    let r = run(config, 4 * 3_600_000, &bars, &acts);
    assert_eq!(r.round_trips.len(), 2);
    let (a, b) = (&r.round_trips[0], &r.round_trips[1]);
    assert_eq!(
        (a.side, a.entry_time, a.exit_time, a.bars_held),
        (PositionType::Long, T0, T0 + 12 * 3_600_000, 3)
    );
    assert_eq!((a.max_size, a.entry_price, a.exit_price), (dec!(2), dec!(105), dec!(117.5)));
    assert_eq!(
        (a.fees, a.funding, a.pnl, a.exit_reason),
        (dec!(0), dec!(-0.22), dec!(24.78), OrderType::Market)
    );
    assert_eq!(
        (b.side, b.max_size, b.entry_price, b.bars_held),
        (PositionType::Short, dec!(2), dec!(115), 1)
    );
    assert_eq!(
        (b.exit_price, b.exit_reason),
        (dec!(125.87064676616915422885572139), OrderType::Liquidation)
    );
    assert_eq!((b.fees, b.funding, b.pnl), (dec!(0), dec!(0.23), dec!(-22.77)));
    assert!(r.open_at_end);
    let m = &r.metrics;
    assert_eq!((m.round_trips, m.liquidations, m.liquidation_losses), (2, 1, dec!(23)));
    assert_eq!(m.total_fees, Decimal::ZERO, "the clearance is not a fee");
    assert_eq!(m.total_funding, dec!(-0.118)); // −0.22 + 0.23 − 0.128
    assert_eq!(m.expectancy, Some(dec!(1.005))); // (24.78 − 22.77) / 2
    near(m.profit_factor, 24.78 / 22.77);
    near(m.win_rate, 50.0);
    near(m.avg_bars_held, 2.0);
}
