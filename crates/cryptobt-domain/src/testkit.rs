//! Builders for tests (feature `testkit`): configs and portfolios with the DESIGN defaults.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::{BacktestConfig, Bar, Portfolio, Symbol, Timeframe, TradingMode};

/// `BTCUSDT`.
#[must_use]
pub fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap_or_else(|_| unreachable!("BTCUSDT is a valid symbol"))
}

/// A 1h config over 2025-01-01..=2025-01-31 in `mode` with `capital` and `max_leverage`; other
/// settings at their defaults.
#[must_use]
pub fn config(mode: TradingMode, capital: Decimal, max_leverage: Decimal) -> BacktestConfig {
    let day = |d| NaiveDate::from_ymd_opt(2025, 1, d).unwrap_or_default();
    BacktestConfig::builder(btc(), Timeframe::H1, day(1), day(31))
        .trading_mode(mode)
        .initial_capital(capital)
        .max_leverage(max_leverage)
        .build()
        .unwrap_or_else(|e| panic!("testkit config must be valid: {e}"))
}

/// A futures portfolio with `capital`, leverage up to 100 and the default rates.
#[must_use]
pub fn futures(capital: Decimal) -> Portfolio {
    Portfolio::new(&config(TradingMode::Futures, capital, Decimal::ONE_HUNDRED))
}

/// A spot portfolio with `capital` and the default fee.
#[must_use]
pub fn spot(capital: Decimal) -> Portfolio {
    Portfolio::new(&config(TradingMode::Spot, capital, Decimal::ONE))
}

/// A bar at `timestamp` with the given prices and volume 1.
#[must_use]
pub fn bar(timestamp: i64, open: Decimal, high: Decimal, low: Decimal, close: Decimal) -> Bar {
    Bar { timestamp, open, high, low, close, volume: Decimal::ONE }
}
