//! Tests of `BacktestConfig` validation: defaults, and one failing case per field.

use chrono::NaiveDate;
use rust_decimal_macros::dec;

use super::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, d).unwrap()
}

fn base() -> BacktestConfigBuilder {
    BacktestConfig::builder(Symbol::new("BTCUSDT").unwrap(), Timeframe::H1, day(1), day(31))
}

#[track_caller]
fn check_err(builder: BacktestConfigBuilder, needle: &str) {
    let err = builder.build().unwrap_err();
    assert!(err.to_string().contains(needle), "{err:?} should mention {needle:?}");
}

#[test]
fn defaults_follow_design() {
    let spot = base().build().unwrap();
    assert_eq!(spot.initial_capital(), dec!(10000));
    assert_eq!(spot.trading_mode(), TradingMode::Spot);
    assert_eq!(spot.max_leverage(), dec!(1));
    assert_eq!(spot.maintenance_margin_rate(), dec!(0.005));
    assert_eq!(spot.fee_rate(), dec!(0.001));
    assert_eq!(spot.slippage_bps(), dec!(0));
    assert_eq!(spot.fill(), FillMode::Close);
    assert_eq!(spot.funding_rate(), dec!(0));
    assert_eq!(spot.limits().min_trade_size, dec!(0.00001));
    assert_eq!(spot.limits().max_trade_size, dec!(1000000));
    assert_eq!(spot.limits().max_positions, 100);
    let fut = base().trading_mode(TradingMode::Futures).max_leverage(dec!(100)).build().unwrap();
    assert_eq!(fut.fee_rate(), dec!(0.0005));
    assert_eq!(fut.max_leverage(), dec!(100));
}

#[test]
fn one_day_range_is_allowed_and_reversed_range_is_not() {
    let one =
        BacktestConfig::builder(Symbol::new("ETHUSDT").unwrap(), Timeframe::M1, day(5), day(5));
    assert!(one.build().is_ok());
    let rev =
        BacktestConfig::builder(Symbol::new("ETHUSDT").unwrap(), Timeframe::M1, day(6), day(5));
    check_err(rev, "end_date 2025-01-05: must not be before start_date 2025-01-06");
}

#[test]
fn every_field_is_range_checked_and_named() {
    check_err(base().initial_capital(dec!(0)), "initial_capital 0");
    check_err(base().initial_capital(dec!(-5)), "initial_capital -5");
    check_err(base().initial_capital(dec!(1000000000001)), "initial_capital 1000000000001");
    check_err(base().max_leverage(dec!(2)), "max_leverage 2: must be 1 in spot mode");
    let fut = || base().trading_mode(TradingMode::Futures);
    check_err(fut().max_leverage(dec!(101)), "max_leverage 101: must be between 1 and 100");
    check_err(fut().max_leverage(dec!(0.5)), "max_leverage 0.5");
    check_err(base().maintenance_margin_rate(dec!(-0.001)), "maintenance_margin_rate -0.001");
    check_err(base().maintenance_margin_rate(dec!(0.6)), "maintenance_margin_rate 0.6");
    check_err(base().fee_rate(dec!(-0.0001)), "fee -0.0001");
    check_err(base().fee_rate(dec!(0.2)), "fee 0.2");
    check_err(base().slippage_bps(dec!(-1)), "slippage_bps -1");
    check_err(base().slippage_bps(dec!(1001)), "slippage_bps 1001");
    check_err(base().funding_rate(dec!(0.5)), "funding_rate 0.5");
    check_err(base().param("bad name", ParamValue::Number(1.0)), "params \"bad name\"");
    let limits = TradeLimits { min_trade_size: dec!(0), ..TradeLimits::default() };
    check_err(base().limits(limits), "limits");
}

#[test]
fn policy_narrows_timeframes_and_leverage() {
    let policy = ConfigPolicy { allowed_timeframes: vec![Timeframe::H1], max_leverage: dec!(20) };
    assert!(base().build_with(&policy).is_ok());
    let m1 =
        BacktestConfig::builder(Symbol::new("BTCUSDT").unwrap(), Timeframe::M1, day(1), day(2));
    let err = m1.build_with(&policy).unwrap_err();
    assert!(err.to_string().contains("timeframe 1m: is not allowed here; allowed: 1h"), "{err}");
    let fut = base().trading_mode(TradingMode::Futures).max_leverage(dec!(25));
    let err = fut.build_with(&policy).unwrap_err();
    assert!(err.to_string().contains("max_leverage 25: must be between 1 and 20"), "{err}");
}

#[test]
fn fill_mode_parses() {
    assert_eq!("next_open".parse::<FillMode>().unwrap(), FillMode::NextOpen);
    assert!("open".parse::<FillMode>().unwrap_err().to_string().contains("\"open\""));
}
