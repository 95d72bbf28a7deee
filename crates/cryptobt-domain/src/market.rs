//! Market vocabulary: `Timeframe`, `TradingMode`, the OHLCV `Bar` and a `FundingRate` event.

use std::{fmt, str::FromStr};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Bar length. Bars open on multiples of their duration since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timeframe {
    /// One minute.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes.
    #[serde(rename = "5m")]
    M5,
    /// Fifteen minutes.
    #[serde(rename = "15m")]
    M15,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
    /// Four hours.
    #[serde(rename = "4h")]
    H4,
    /// One day.
    #[serde(rename = "1d")]
    D1,
}

impl Timeframe {
    /// Every timeframe, shortest first.
    pub const ALL: [Self; 6] = [Self::M1, Self::M5, Self::M15, Self::H1, Self::H4, Self::D1];

    /// The name used in paths, flags and JSON (`1m` ... `1d`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::H1 => "1h",
            Self::H4 => "4h",
            Self::D1 => "1d",
        }
    }

    /// The bar length in milliseconds.
    #[must_use]
    pub const fn duration_ms(self) -> i64 {
        const MINUTE: i64 = 60_000;
        match self {
            Self::M1 => MINUTE,
            Self::M5 => 5 * MINUTE,
            Self::M15 => 15 * MINUTE,
            Self::H1 => 60 * MINUTE,
            Self::H4 => 240 * MINUTE,
            Self::D1 => 1_440 * MINUTE,
        }
    }

    /// Bars of this timeframe in one UTC day.
    #[must_use]
    pub const fn bars_per_day(self) -> i64 {
        86_400_000 / self.duration_ms()
    }
}

impl FromStr for Timeframe {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|tf| tf.as_str() == s)
            .ok_or_else(|| DomainError::InvalidTimeframe { value: s.chars().take(64).collect() })
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Spot (no leverage, no shorts) or USDT-margined perpetual futures (isolated margin).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum TradingMode {
    /// Spot: leverage 1, longs only, no liquidation, no funding.
    #[default]
    Spot,
    /// USDT-margined perpetual futures with isolated margin.
    Futures,
}

impl TradingMode {
    /// The name used in paths, flags and JSON (`spot`, `futures`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Spot => "spot",
            Self::Futures => "futures",
        }
    }

    /// The default taker fee rate of the mode: spot 0.001, futures 0.0005.
    #[must_use]
    pub const fn default_fee_rate(self) -> Decimal {
        match self {
            Self::Spot => Decimal::from_parts(1, 0, 0, false, 3),
            Self::Futures => Decimal::from_parts(5, 0, 0, false, 4),
        }
    }

    /// The default maker fee rate of the mode: spot 0.001, futures 0.0002.
    #[must_use]
    pub const fn default_maker_fee_rate(self) -> Decimal {
        match self {
            Self::Spot => Decimal::from_parts(1, 0, 0, false, 3),
            Self::Futures => Decimal::from_parts(2, 0, 0, false, 4),
        }
    }
}

impl FromStr for TradingMode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "spot" => Ok(Self::Spot),
            "futures" => Ok(Self::Futures),
            _ => Err(DomainError::InvalidTradingMode { value: s.chars().take(64).collect() }),
        }
    }
}

impl fmt::Display for TradingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One OHLCV bar. Prices are exact as written in the data file; `timestamp` is the bar's open
/// time in Unix milliseconds (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    /// Open time, Unix milliseconds UTC.
    pub timestamp: i64,
    /// First trade price of the bar.
    pub open: Decimal,
    /// Highest trade price.
    pub high: Decimal,
    /// Lowest trade price.
    pub low: Decimal,
    /// Last trade price.
    pub close: Decimal,
    /// Traded volume in base-asset units.
    pub volume: Decimal,
}

/// A funding rate published for a funding time (decimal rate per 8 h; positive: longs pay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingRate {
    /// The funding time, Unix milliseconds UTC.
    pub timestamp: i64,
    /// The rate as a fraction, e.g. `0.0001` for 0.01 %.
    pub rate: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn timeframes_parse_and_know_their_length() {
        let expect = [("1m", 60_000), ("5m", 300_000), ("15m", 900_000), ("1h", 3_600_000)];
        for (text, ms) in expect {
            assert_eq!(text.parse::<Timeframe>().unwrap().duration_ms(), ms);
        }
        assert_eq!(Timeframe::H4.duration_ms(), 14_400_000);
        assert_eq!(Timeframe::D1.duration_ms(), 86_400_000);
        assert_eq!(Timeframe::M1.bars_per_day(), 1_440);
        assert_eq!(Timeframe::H4.bars_per_day(), 6);
        let err = "2h".parse::<Timeframe>().unwrap_err();
        assert!(err.to_string().contains("\"2h\""));
        assert_eq!(serde_json::to_string(&Timeframe::M15).unwrap(), "\"15m\"");
    }

    #[test]
    fn modes_carry_their_default_fee() {
        assert_eq!(TradingMode::Spot.default_fee_rate(), dec!(0.001));
        assert_eq!(TradingMode::Futures.default_fee_rate(), dec!(0.0005));
        assert_eq!("futures".parse::<TradingMode>().unwrap(), TradingMode::Futures);
        assert!("margin".parse::<TradingMode>().unwrap_err().to_string().contains("\"margin\""));
    }
}
