//! Hand-worked ledger cases. Every expected number comes from Binance's published worked examples
//! of its formulas (recomputed with Python `decimal`), from the independent reference
//! `tests/reference/ledger.py` (docs/design.md#orders-and-the-ledger re-implemented in Python `decimal` at 60 digits, no
//! intermediate rounding), whose printout is quoted beside each scenario. Comparisons are at
//! 8 decimal places (the reference prints 8); the cases at the end check exact `Decimal` results.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::{
    testkit::{btc, futures, spot},
    ActionType, BacktestConfig, BacktestConfigBuilder, PositionType, Symbol, Timeframe,
};

const T: i64 = 1_735_689_600_000; // 2025-01-01 00:00 UTC

fn r8(x: Decimal) -> Decimal {
    x.round_dp(8).normalize()
}

/// The reference's `show` line: cash, margin, signed size, entry, Σ pnl, Σ funding.
#[track_caller]
fn check(p: &Portfolio, expect: [Decimal; 6]) {
    let pos = p.position(btc());
    let got = [
        p.cash(),
        p.margin_used(),
        p.position_size(btc()),
        pos.map_or(Decimal::ZERO, Position::entry_price),
        p.realized_pnl(),
        p.total_funding(),
    ];
    let got = got.map(r8);
    let expect = expect.map(r8);
    assert_eq!(got, expect, "[cash, margin, size, entry, pnl_sum, funding]");
    crate::testkit::assert_balanced(
        p.cash() + p.margin_used(),
        p.initial_capital() + p.realized_pnl() + p.total_funding(),
    );
}

/// The reference's `trade` line: action, quantity, price, leverage, fee, position type, pnl.
#[track_caller]
fn check_trade(
    t: &Trade,
    action: ActionType,
    nums: [Decimal; 4],
    position_type: PositionType,
    pnl: Decimal,
) {
    assert_eq!(t.action, action);
    assert_eq!(t.position_type, position_type);
    let [quantity, price, leverage, fee] = nums;
    assert_eq!(
        [t.quantity, t.price, t.leverage, t.fee, t.pnl].map(r8),
        [quantity, price, leverage, fee, pnl].map(r8),
        "[quantity, price, leverage, fee, pnl] of {t:?}"
    );
}

fn buy(
    p: &mut Portfolio,
    qty: Decimal,
    price: Decimal,
    lev: Decimal,
) -> Result<Vec<Trade>, Rejection> {
    p.submit(btc(), OrderSide::Buy, qty, lev, price, T)
}

fn sell(
    p: &mut Portfolio,
    qty: Decimal,
    price: Decimal,
    lev: Decimal,
) -> Result<Vec<Trade>, Rejection> {
    p.submit(btc(), OrderSide::Sell, qty, lev, price, T)
}

fn futures_with(
    capital: Decimal,
    max_lev: Decimal,
    f: impl FnOnce(BacktestConfigBuilder) -> BacktestConfigBuilder,
) -> Portfolio {
    let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let builder = BacktestConfig::builder(btc(), Timeframe::H1, day, day)
        .trading_mode(TradingMode::Futures)
        .initial_capital(capital)
        .max_leverage(max_lev);
    Portfolio::new(&f(builder).build().unwrap())
}

// ---- worked examples of the exchange's formulas ------------------------------------------------------------

#[test]
fn liq_1_long_half_btc_at_42000_10x() {
    // LIQ-1: long 0.5 at 42000, WB 2100, MMR 0.004 → 37951.807229; bankruptcy would be 37800.
    let lp = liquidation_price(PositionType::Long, dec!(42000), dec!(0.5), dec!(2100), dec!(0.004));
    assert_eq!(lp.unwrap().round_dp(6), dec!(37951.807229));
}

#[test]
fn liq_2_short_two_eth_at_2500_20x() {
    // LIQ-2: short 2 at 2500, WB 250, MMR 0.004 → 2614.541833; with MMR 0.005 → 2611.940299.
    let lp = |m| liquidation_price(PositionType::Short, dec!(2500), dec!(2), dec!(250), m).unwrap();
    assert_eq!(lp(dec!(0.004)).round_dp(6), dec!(2614.541833));
    assert_eq!(lp(dec!(0.005)).round_dp(6), dec!(2611.940299));
}

#[test]
fn liquidation_price_matches_freqtrade_docstring() {
    // Binance's worked example: MMR 0.01, WB 2, Q 1, EP 10 (cum 0.01 there; the isolated formula with cum 0
    // is checked on the simplified forms instead): long EP(1 − 1/L)/(1 − m) with L = 5.
    let long = liquidation_price(PositionType::Long, dec!(10), dec!(1), dec!(2), dec!(0.01));
    assert_eq!(long.unwrap().round_dp(6), dec!(8.080808)); // 8 / 0.99
    let short = liquidation_price(PositionType::Short, dec!(10), dec!(1), dec!(2), dec!(0.01));
    assert_eq!(short.unwrap().round_dp(6), dec!(11.881188)); // 12 / 1.01
                                                             // A long at leverage 1 has no liquidation price above zero.
    let one_x = liquidation_price(PositionType::Long, dec!(100), dec!(1), dec!(100), dec!(0.005));
    assert_eq!(one_x, Some(dec!(0)));
    assert_eq!(liquidation_price(PositionType::Long, dec!(1), dec!(1), dec!(0), dec!(1)), None);
}

#[test]
fn fee_1_taker_fee_on_21000_notional() {
    // FEE-1: 0.5 × 42000 × 0.0005 = 10.5; and the close at 43000: 10.75.
    let mut p = futures(dec!(10000));
    let open = buy(&mut p, dec!(0.5), dec!(42000), dec!(10)).unwrap();
    assert_eq!(open[0].fee, dec!(10.5));
    let close = p.close_position(btc(), dec!(100), dec!(43000), T).unwrap();
    assert_eq!(close[0].fee, dec!(10.75));
}

// ---- scenarios of tests/reference/ledger.py --------------------------------------------------

#[test]
fn spot_round_trip() {
    // reference "spot round trip": fee 0.001.
    let mut p = spot(dec!(10000));
    buy(&mut p, dec!(0.1), dec!(42000), dec!(1)).unwrap();
    check(&p, [dec!(5795.8), dec!(4200), dec!(0.1), dec!(42000), dec!(-4.2), dec!(0)]);
    p.mark(btc(), dec!(42500));
    assert_eq!(p.equity(), dec!(10045.8));
    let t = sell(&mut p, dec!(0.1), dec!(43000), dec!(1)).unwrap();
    check(&p, [dec!(10091.5), dec!(0), dec!(0), dec!(0), dec!(91.5), dec!(0)]);
    check_trade(
        &t[0],
        ActionType::Sell,
        [dec!(0.1), dec!(43000), dec!(1), dec!(4.3)],
        PositionType::Long,
        dec!(95.7),
    );
    assert!(p.position(btc()).is_none());
}

#[test]
fn pnl_1_futures_long_with_funding() {
    // notes PNL-1 / reference "futures long with funding": net 476.6 = 500 − 21.25 − 2.15.
    let mut p = futures(dec!(10000));
    buy(&mut p, dec!(0.5), dec!(42000), dec!(10)).unwrap();
    check(&p, [dec!(7889.5), dec!(2100), dec!(0.5), dec!(42000), dec!(-10.5), dec!(0)]);
    assert_eq!(
        r8(p.position(btc()).unwrap().liquidation_price(dec!(0.005)).unwrap()),
        dec!(37989.94974874)
    );
    let paid = p.settle_funding(btc(), T + 28_800_000, dec!(43000), dec!(0.0001)).unwrap();
    assert_eq!(paid.amount, dec!(-2.15)); // FUND-1
    check(&p, [dec!(7887.35), dec!(2100), dec!(0.5), dec!(42000), dec!(-10.5), dec!(-2.15)]);
    let t = sell(&mut p, dec!(0.5), dec!(43000), dec!(1)).unwrap();
    check(&p, [dec!(10476.6), dec!(0), dec!(0), dec!(0), dec!(478.75), dec!(-2.15)]);
    check_trade(
        &t[0],
        ActionType::Sell,
        [dec!(0.5), dec!(43000), dec!(10), dec!(10.75)],
        PositionType::Long,
        dec!(489.25),
    );
    // PNL-1: gross 500 − fees 21.25 − funding 2.15.
    assert_eq!(p.realized_pnl() + p.total_funding(), dec!(476.6));
}

#[test]
fn pnl_2_futures_short_with_negative_funding() {
    // notes PNL-2 and FUND-2 / reference "futures short": net 195.1 before funding.
    let mut p = futures(dec!(10000));
    sell(&mut p, dec!(2), dec!(2500), dec!(20)).unwrap();
    check(&p, [dec!(9747.5), dec!(250), dec!(-2), dec!(2500), dec!(-2.5), dec!(0)]);
    p.mark(btc(), dec!(2450));
    assert_eq!(p.equity(), dec!(10097.5));
    let paid = p.settle_funding(btc(), T, dec!(2480), dec!(-0.000125)).unwrap();
    assert_eq!(paid.amount, dec!(-0.62));
    let t = buy(&mut p, dec!(2), dec!(2400), dec!(1)).unwrap();
    check(&p, [dec!(10194.48), dec!(0), dec!(0), dec!(0), dec!(195.1), dec!(-0.62)]);
    check_trade(
        &t[0],
        ActionType::Buy,
        [dec!(2), dec!(2400), dec!(20), dec!(2.4)],
        PositionType::Short,
        dec!(197.6),
    );
}

#[test]
fn adds_move_the_entry_and_partial_closes_release_margin_pro_rata() {
    // reference "adds and partial closes".
    let mut p = futures_with(dec!(10000), dec!(20), |b| b);
    buy(&mut p, dec!(0.3), dec!(40000), dec!(5)).unwrap();
    check(&p, [dec!(7594), dec!(2400), dec!(0.3), dec!(40000), dec!(-6), dec!(0)]);
    buy(&mut p, dec!(0.2), dec!(41000), dec!(10)).unwrap();
    check(&p, [dec!(6769.9), dec!(3220), dec!(0.5), dec!(40400), dec!(-10.1), dec!(0)]);
    p.mark(btc(), dec!(41500));
    assert_eq!(p.equity(), dec!(10539.9));
    assert_eq!(r8(p.leverage(btc())), dec!(6.27329193));
    let half = p.close_position(btc(), dec!(50), dec!(42000), T).unwrap();
    check(&p, [dec!(8774.65), dec!(1610), dec!(0.25), dec!(40400), dec!(384.65), dec!(0)]);
    check_trade(
        &half[0],
        ActionType::Sell,
        [dec!(0.25), dec!(42000), dec!(6.27329193), dec!(5.25)],
        PositionType::Long,
        dec!(394.75),
    );
    p.close_position(btc(), dec!(30), dec!(41000), T).unwrap();
    check(&p, [dec!(9301.1125), dec!(1127), dec!(0.175), dec!(40400), dec!(428.1125), dec!(0)]);
    let last = p.close_position(btc(), dec!(100), dec!(39000), T).unwrap();
    check(&p, [dec!(10179.7), dec!(0), dec!(0), dec!(0), dec!(179.7), dec!(0)]);
    check_trade(
        &last[0],
        ActionType::Sell,
        [dec!(0.175), dec!(39000), dec!(6.27329193), dec!(3.4125)],
        PositionType::Long,
        dec!(-248.4125),
    );
}

#[test]
fn an_opposite_order_larger_than_the_position_flips_it() {
    // reference "flip long to short": two fills, each with its own fee.
    let mut p = futures_with(dec!(10000), dec!(10), |b| b);
    assert!(matches!(
        buy(&mut p, dec!(1), dec!(30000), dec!(3)),
        Err(Rejection::InsufficientFunds { .. })
    ));
    buy(&mut p, dec!(1), dec!(30000), dec!(4)).unwrap();
    check(&p, [dec!(2485), dec!(7500), dec!(1), dec!(30000), dec!(-15), dec!(0)]);
    let t = sell(&mut p, dec!(3), dec!(31000), dec!(10)).unwrap();
    assert_eq!(t.len(), 2);
    check_trade(
        &t[0],
        ActionType::Sell,
        [dec!(1), dec!(31000), dec!(4), dec!(15.5)],
        PositionType::Long,
        dec!(984.5),
    );
    check_trade(
        &t[1],
        ActionType::Sell,
        [dec!(2), dec!(31000), dec!(10), dec!(31)],
        PositionType::Short,
        dec!(-31),
    );
    check(&p, [dec!(4738.5), dec!(6200), dec!(-2), dec!(31000), dec!(938.5), dec!(0)]);
    p.mark(btc(), dec!(30500));
    assert_eq!(p.equity(), dec!(11938.5));
    let liq = p.position(btc()).unwrap().liquidation_price(dec!(0.005)).unwrap();
    assert_eq!(r8(liq), dec!(33930.34825871));
}

#[test]
fn a_flip_without_funds_for_its_second_part_changes_nothing() {
    // reference "flip refused for funds".
    let mut p = futures_with(dec!(1000), dec!(10), |b| b);
    buy(&mut p, dec!(0.1), dec!(30000), dec!(10)).unwrap();
    let before = p.clone();
    check(&p, [dec!(698.5), dec!(300), dec!(0.1), dec!(30000), dec!(-1.5), dec!(0)]);
    let err = sell(&mut p, dec!(2), dec!(29000), dec!(2)).unwrap_err();
    assert!(matches!(err, Rejection::InsufficientFunds { .. }), "{err}");
    assert_eq!(p, before);
}

#[test]
fn liq_out_1_a_long_loses_exactly_its_margin() {
    // notes LIQ-OUT-1 / reference "liquidation of a long": the bar gaps through the liquidation
    // price, the fill is still at 37951.807229, fee = margin left = 75.90361446, pnl = −2100.
    let mut p = futures_with(dec!(10000), dec!(100), |b| b.maintenance_margin_rate(dec!(0.004)));
    buy(&mut p, dec!(0.5), dec!(42000), dec!(10)).unwrap();
    assert!(p.liquidate_if_reached(btc(), dec!(38000), dec!(42100), T).is_none());
    let t = p.liquidate_if_reached(btc(), dec!(37000), dec!(38000), T).unwrap();
    check_trade(
        &t,
        ActionType::Liquidation,
        [dec!(0.5), dec!(37951.80722892), dec!(10), dec!(75.90361446)],
        PositionType::Long,
        dec!(-2100),
    );
    check(&p, [dec!(7889.5), dec!(0), dec!(0), dec!(0), dec!(-2110.5), dec!(0)]);
    assert_eq!(p.equity(), dec!(7889.5));
    assert_eq!(t.pnl, dec!(-2100));
    assert!(p.cash() >= Decimal::ZERO);
}

#[test]
fn a_short_is_liquidated_at_its_price_when_the_high_reaches_it() {
    // reference "liquidation of a short": fee 20.91633466 (the margin left at the liquidation price).
    let mut p = futures_with(dec!(1000), dec!(100), |b| b.maintenance_margin_rate(dec!(0.004)));
    sell(&mut p, dec!(2), dec!(2500), dec!(20)).unwrap();
    p.settle_funding(btc(), T, dec!(2480), dec!(-0.000125)).unwrap();
    check(&p, [dec!(746.88), dec!(250), dec!(-2), dec!(2500), dec!(-2.5), dec!(-0.62)]);
    assert!(p.liquidate_if_reached(btc(), dec!(2500), dec!(2614), T).is_none());
    let t = p.liquidate_if_reached(btc(), dec!(2600), dec!(2700), T).unwrap();
    check_trade(
        &t,
        ActionType::Liquidation,
        [dec!(2), dec!(2614.54183267), dec!(20), dec!(20.91633466)],
        PositionType::Short,
        dec!(-250),
    );
    check(&p, [dec!(746.88), dec!(0), dec!(0), dec!(0), dec!(-252.5), dec!(-0.62)]);
}

#[test]
fn slippage_moves_buys_up_and_sells_down() {
    // reference "slippage 10 bps": buy at 1001, sell at 1098.9.
    let mut p = futures_with(dec!(10000), dec!(10), |b| b.slippage_bps(dec!(10)));
    let t = buy(&mut p, dec!(1), dec!(1000), dec!(2)).unwrap();
    check_trade(
        &t[0],
        ActionType::Buy,
        [dec!(1), dec!(1001), dec!(2), dec!(0.5005)],
        PositionType::Long,
        dec!(-0.5005),
    );
    check(&p, [dec!(9498.9995), dec!(500.5), dec!(1), dec!(1001), dec!(-0.5005), dec!(0)]);
    let t = sell(&mut p, dec!(1), dec!(1100), dec!(1)).unwrap();
    check_trade(
        &t[0],
        ActionType::Sell,
        [dec!(1), dec!(1098.9), dec!(2), dec!(0.54945)],
        PositionType::Long,
        dec!(97.35055),
    );
    check(&p, [dec!(10096.85005), dec!(0), dec!(0), dec!(0), dec!(96.85005), dec!(0)]);
}

// ---- rejections leave the state untouched ----------------------------------------------------

#[track_caller]
fn refused(
    p: &mut Portfolio,
    order: impl FnOnce(&mut Portfolio) -> Result<Vec<Trade>, Rejection>,
    code: &str,
) {
    let before = p.clone();
    let err = order(p).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(*p, before, "a refused order changed the portfolio");
}

#[test]
fn refused_orders_change_nothing() {
    let mut s = spot(dec!(1000));
    refused(&mut s, |p| buy(p, dec!(1), dec!(1000), dec!(1)), "insufficient_funds"); // 1000 + fee 1
    refused(&mut s, |p| buy(p, dec!(0.000009), dec!(1000), dec!(1)), "below_min_size");
    refused(&mut s, |p| buy(p, dec!(1000001), dec!(1), dec!(1)), "above_max_size");
    refused(&mut s, |p| buy(p, dec!(0), dec!(1), dec!(1)), "invalid_quantity");
    refused(&mut s, |p| buy(p, dec!(-1), dec!(1), dec!(1)), "invalid_quantity");
    refused(&mut s, |p| buy(p, dec!(0.1), dec!(1000), dec!(2)), "invalid_leverage");
    refused(&mut s, |p| sell(p, dec!(0.1), dec!(1000), dec!(1)), "spot_short");
    refused(&mut s, |p| p.close_position(btc(), dec!(100), dec!(1000), T), "no_position");
    buy(&mut s, dec!(0.5), dec!(1000), dec!(1)).unwrap();
    refused(&mut s, |p| sell(p, dec!(0.6), dec!(1000), dec!(1)), "spot_short");
    refused(&mut s, |p| p.close_position(btc(), dec!(0), dec!(1000), T), "invalid_percentage");
    refused(&mut s, |p| p.close_position(btc(), dec!(100.5), dec!(1000), T), "invalid_percentage");
    refused(
        &mut s,
        |p| p.close_position(btc(), dec!(0.001), dec!(1000), T),
        "partial_close_too_small",
    );

    let mut f = futures_with(dec!(1000), dec!(20), |b| b);
    refused(&mut f, |p| buy(p, dec!(0.1), dec!(1000), dec!(21)), "invalid_leverage");
    refused(&mut f, |p| buy(p, dec!(0.1), dec!(1000), dec!(0.5)), "invalid_leverage");
    refused(&mut f, |p| sell(p, dec!(30), dec!(1000), dec!(20)), "insufficient_funds");
}

#[test]
fn closing_everything_works_whatever_the_size() {
    let mut p = futures(dec!(1000));
    buy(&mut p, dec!(0.00001), dec!(1000), dec!(1)).unwrap();
    refused(
        &mut p,
        |p| p.close_position(btc(), dec!(50), dec!(1000), T),
        "partial_close_too_small",
    );
    let t = p.close_position(btc(), dec!(100), dec!(1000), T).unwrap();
    assert_eq!(t[0].quantity, dec!(0.00001));
    assert!(p.position(btc()).is_none());
}

#[test]
fn the_position_limit_counts_symbols() {
    let limits = crate::TradeLimits { max_positions: 1, ..crate::TradeLimits::default() };
    let mut p = futures_with(dec!(10000), dec!(10), |b| b.limits(limits));
    buy(&mut p, dec!(0.1), dec!(1000), dec!(1)).unwrap();
    let eth = Symbol::new("ETHUSDT").unwrap();
    let err = p.submit(eth, OrderSide::Buy, dec!(0.1), dec!(1), dec!(100), T).unwrap_err();
    assert_eq!(err.code(), "too_many_positions");
    buy(&mut p, dec!(0.1), dec!(1000), dec!(1)).unwrap(); // adding to the same symbol is fine
}

#[test]
fn f64_inputs_are_converted_then_checked_by_the_ledger() {
    let rules = futures(dec!(1000)).rules().clone();
    assert_eq!(rules.quantity_from_f64(0.1).unwrap(), dec!(0.1));
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(rules.quantity_from_f64(bad).unwrap_err().code(), "invalid_quantity");
    }
    // Numbers a Decimal holds convert; the limits are the ledger's to check, once.
    for (amount, code) in
        [(-1.0, "invalid_quantity"), (0.0, "invalid_quantity"), (2e6, "above_max_size")]
    {
        let q = rules.quantity_from_f64(amount).unwrap();
        assert_eq!(rules.check_quantity(q).unwrap_err().code(), code);
    }
    assert_eq!(rules.quantity_from_f64(1e30).unwrap_err().code(), "above_max_size");
    assert_eq!(rules.quantity_from_f64(1e-30).unwrap_err().code(), "below_min_size");
    assert_eq!(rules.leverage_from_f64(100.0).unwrap(), dec!(100));
    assert_eq!(rules.leverage_from_f64(f64::NAN).unwrap_err().code(), "invalid_leverage");
    let lev = rules.leverage_from_f64(100.5).unwrap();
    assert_eq!(rules.check_leverage(lev).unwrap_err().code(), "invalid_leverage");
    assert_eq!(rules.percentage_from_f64(25.0).unwrap(), dec!(25));
    assert_eq!(rules.percentage_from_f64(f64::INFINITY).unwrap_err().code(), "invalid_percentage");
    let msg = rules.quantity_from_f64(f64::NAN).unwrap_err().to_string();
    assert_eq!(msg, "amount must be a finite number greater than 0, got NaN");
}

#[test]
fn snapshots_report_the_design_fields() {
    let mut p = futures(dec!(10000));
    assert_eq!(p.snapshot(T).leverage_ratio(), dec!(0));
    assert_eq!(p.margin_ratio(), None);
    buy(&mut p, dec!(0.5), dec!(42000), dec!(10)).unwrap();
    p.mark(btc(), dec!(39000));
    let s = p.snapshot(T);
    // upnl −1500; equity 7889.5 + 2100 − 1500 = 8489.5; leverage 0.5 × 39000 / 8489.5.
    assert_eq!(s.unrealized_pnl, dec!(-1500));
    assert_eq!(s.portfolio_value, dec!(8489.5));
    assert_eq!(s.cash, dec!(7889.5));
    assert_eq!(s.margin_used, dec!(2100));
    assert_eq!(s.realized_pnl, dec!(-10.5));
    assert_eq!(s.leverage_ratio().round_dp(8), dec!(2.29695506)); // 19500 / 8489.5
    assert_eq!(p.margin_ratio().unwrap().round_dp(8), dec!(4.04261905)); // 8489.5 / 2100
}

#[test]
fn spot_has_no_liquidation_and_no_funding() {
    let mut p = spot(dec!(10000));
    buy(&mut p, dec!(0.1), dec!(42000), dec!(1)).unwrap();
    assert!(p.liquidate_if_reached(btc(), dec!(1), dec!(100000), T).is_none());
    assert!(p.settle_funding(btc(), T, dec!(42000), dec!(0.01)).is_none());
    let mut flat = futures(dec!(10000));
    assert!(flat.settle_funding(btc(), T, dec!(42000), dec!(0.01)).is_none());
}

#[test]
fn shared_portfolio_is_readable_from_another_thread() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Portfolio>();
    assert_send_sync::<SharedPortfolio>();
    let shared = SharedPortfolio::new(futures(dec!(10000)));
    let writer = shared.clone();
    std::thread::spawn(move || {
        writer.write(|p| buy(p, dec!(0.5), dec!(42000), dec!(10)).map(|_| ())).unwrap();
    })
    .join()
    .unwrap();
    assert_eq!(shared.read(Portfolio::cash), dec!(7889.5));
}

// ---- the contract fixes of issue 10 ---------------------------------------------------------

fn spot_with(
    capital: Decimal,
    f: impl FnOnce(BacktestConfigBuilder) -> BacktestConfigBuilder,
) -> Portfolio {
    let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let builder = BacktestConfig::builder(btc(), Timeframe::H1, day, day).initial_capital(capital);
    Portfolio::new(&f(builder).build().unwrap())
}

#[test]
fn a_slipped_fill_is_marked_at_the_market_price() {
    // Spot, 10 bps: buy 0.1 at close 94591.79 fills at 94686.38179 (fee 9.468638179). The
    // position is worth (94591.79 − 94686.38179) × 0.1 = −9.459179 over its cost at the close.
    let mut p = spot_with(dec!(10000), |b| b.slippage_bps(dec!(10)));
    buy(&mut p, dec!(0.1), dec!(94591.79), dec!(1)).unwrap();
    assert_eq!(p.cash(), dec!(521.893182821));
    assert_eq!(p.unrealized_pnl(), dec!(-9.459179));
    assert_eq!(p.equity(), dec!(9981.072182821));
    assert_eq!(p.snapshot(T).portfolio_value, dec!(9981.072182821));
    // A partial close at the next close marks there too.
    sell(&mut p, dec!(0.05), dec!(95000), dec!(1)).unwrap();
    assert_eq!(p.unrealized_pnl(), dec!(15.6809105)); // (95000 − 94686.38179) × 0.05
}

#[test]
fn the_funds_check_compares_exact_amounts() {
    // Fee 0: 0.1000000000000000036 × 100000 = 10000.00000000000036 > 10000 cash.
    let mut p = spot_with(dec!(10000), |b| b.fee_rate(dec!(0)));
    let err = buy(&mut p, dec!(0.1000000000000000036), dec!(100000), dec!(1)).unwrap_err();
    assert_eq!(err.code(), "insufficient_funds");
    assert!(err.to_string().contains("10000.00000000000036"), "{err}");
    assert_eq!(p.cash(), dec!(10000));
    // Exactly the cash is enough; the same holds with a fee and at leverage.
    buy(&mut p, dec!(0.1), dec!(100000), dec!(1)).unwrap();
    assert_eq!(p.cash(), dec!(0));
    let mut f = futures_with(dec!(1000), dec!(3), |b| b.fee_rate(dec!(0.001)));
    // margin 2997/3 = 999, fee 2.997 → 1001.997 needed: refused.
    assert!(buy(&mut f, dec!(0.02997), dec!(100000), dec!(3)).is_err());
    let mut f = futures_with(dec!(1001.997), dec!(3), |b| b.fee_rate(dec!(0.001)));
    buy(&mut f, dec!(0.02997), dec!(100000), dec!(3)).unwrap();
    assert_eq!(f.cash(), dec!(0));
    let mut f = futures_with(dec!(1001.996999999999), dec!(3), |b| b.fee_rate(dec!(0.001)));
    assert!(buy(&mut f, dec!(0.02997), dec!(100000), dec!(3)).is_err());
}

/// The all-cash boundary where the margin is a quotient with no finite decimal: 0.1 BTC at
/// 100000 with 3x and fee 0.0005 locks `10000 / 3` = 3333.3333333333333333333333333 (what
/// `Decimal` gives, 25 places) and pays 5, so the need is 3338.3333333333333333333333333.
/// Cash of exactly that much is enough and leaves 0; one unit of 10⁻²⁵ less is refused.
/// (Rounded to 12 places the margin was 3333.333333333333 and a cash of 3338.333333333333 was
/// enough; the exact need is not met by it.)
#[test]
fn the_all_cash_boundary_uses_decimal_quotients_both_ways() {
    let need = dec!(3338.3333333333333333333333333);
    let open = |capital| {
        let mut f = futures_with(capital, dec!(3), |b| b.fee_rate(dec!(0.0005)));
        let result = buy(&mut f, dec!(0.1), dec!(100000), dec!(3));
        (f, result)
    };
    let (f, result) = open(need);
    result.unwrap();
    assert_eq!(f.cash(), Decimal::ZERO);
    assert_eq!(f.margin_used(), dec!(3333.3333333333333333333333333));
    let (f, result) = open(need - dec!(0.0000000000000000000000001));
    assert_eq!(result.unwrap_err().code(), "insufficient_funds");
    assert_eq!(f.cash(), need - dec!(0.0000000000000000000000001));
    let (_, result) = open(dec!(3338.333333333333));
    assert_eq!(result.unwrap_err().code(), "insufficient_funds");
}

#[test]
fn a_tiny_gain_or_loss_is_booked_exactly() {
    // Fee 0: buy 0.00001 at 100, sell at 100.00000002 → gross (0.00000002 × 0.00001) = 2e-13,
    // booked as it is (a win), and the mirror loss −2e-13.
    let mut p = futures_with(dec!(1000), dec!(1), |b| b.fee_rate(dec!(0)));
    buy(&mut p, dec!(0.00001), dec!(100), dec!(1)).unwrap();
    let t = sell(&mut p, dec!(0.00001), dec!(100.00000002), dec!(1)).unwrap();
    assert_eq!(t[0].pnl, dec!(0.0000000000002));
    buy(&mut p, dec!(0.00001), dec!(100), dec!(1)).unwrap();
    let t = sell(&mut p, dec!(0.00001), dec!(99.99999998), dec!(1)).unwrap();
    assert_eq!(t[0].pnl, dec!(-0.0000000000002));
    assert_eq!(p.cash(), dec!(1000));
}

#[test]
fn a_partial_close_fills_exactly_the_percentage_asked() {
    // Long 0.01 at 95000 (futures, 10x: margin 95, fee 0.475). close_position(99.95) sells
    // 0.01 × 99.95 / 100 = 0.009995 and leaves 0.000005, below the minimum trade size: it is
    // not rounded up to the whole position. Released 95 × 0.009995 / 0.01 = 94.9525; the rest
    // keeps 0.0475, so its liquidation price stays the position's:
    // (95000 × 0.01 − 95) / (0.01 × 0.995) = 855 / 0.00995 = 85929.64824120603015075376884.
    let mut p = futures(dec!(10000));
    buy(&mut p, dec!(0.01), dec!(95000), dec!(10)).unwrap();
    let liq = p.position(btc()).unwrap().liquidation_price(dec!(0.005));
    assert_eq!(liq, Some(dec!(85929.64824120603015075376884)));
    let t = p.close_position(btc(), dec!(99.95), dec!(95000), T).unwrap();
    assert_eq!(t[0].quantity, dec!(0.009995));
    // fee 0.009995 × 95000 × 0.0005 = 0.4747625; gross 0.
    assert_eq!(t[0].fee, dec!(0.4747625));
    assert_eq!(t[0].pnl, dec!(-0.4747625));
    let rest = p.position(btc()).unwrap();
    assert_eq!((rest.size(), rest.margin()), (dec!(0.000005), dec!(0.0475)));
    assert_eq!(
        rest.liquidation_price(dec!(0.005)).map(|x| x.round_dp(20)),
        liq.map(|x| x.round_dp(20))
    );
    // 10000 − 95 − 0.475 + 94.9525 − 0.4747625 = 9999.0027375
    check(
        &p,
        [dec!(9999.0027375), dec!(0.0475), dec!(0.000005), dec!(95000), dec!(-0.9497625), dec!(0)],
    );
    // close_position() closes the remainder, however small: fee 0.000005 × 95000 × 0.0005.
    let t = p.close_position(btc(), dec!(100), dec!(95000), T).unwrap();
    assert_eq!((t[0].quantity, t[0].fee), (dec!(0.000005), dec!(0.0002375)));
    assert_eq!(p.position(btc()), None);
    assert_eq!(p.cash(), dec!(9999.05)); // + 0.0475 released − 0.0002375 fee
}

#[test]
fn a_sell_of_whole_steps_leaves_its_remainder() {
    // Spot long 0.0123437; sell(floor(size × 1e5) / 1e5) = sell(0.01234) leaves 0.0000037.
    // Fee 0.001: buy cost 0.0123437 × 90000 = 1110.933, fee 1.110933. The sell gets
    // 0.01234 × 90000 = 1110.6, fee 1.1106; released 1110.933 × 0.01234 / 0.0123437
    // = 1110.6 (the cost basis is proportional), so gross 0 and pnl −1.1106.
    let mut p = spot_with(dec!(10000), |b| b);
    buy(&mut p, dec!(0.0123437), dec!(90000), dec!(1)).unwrap();
    let steps = (crate::money::decimal_to_f64(p.position_size(btc())) * 1e5).floor() / 1e5;
    let qty = crate::money::decimal_from_f64(steps).unwrap();
    assert_eq!(qty, dec!(0.01234));
    let t = sell(&mut p, qty, dec!(90000), dec!(1)).unwrap();
    assert_eq!((t[0].quantity, t[0].pnl), (dec!(0.01234), dec!(-1.1106)));
    assert_eq!(p.position_size(btc()), dec!(0.0000037));
    assert_eq!(p.margin_used(), dec!(0.333));
    // 10000 − 1110.933 − 1.110933 + 1110.6 − 1.1106 = 9997.445467
    assert_eq!(p.cash(), dec!(9997.445467));
}
