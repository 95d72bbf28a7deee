//! `DomainError`: every way a value handed to the domain can be invalid.

use thiserror::Error;

/// An invalid value handed to the domain. Each message names the field and the value.
///
/// A refused order is not a `DomainError` but a [`crate::Rejection`]: an event of the run, not a
/// failure of it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// A symbol outside `[A-Z0-9]{2,20}`.
    #[error(
        "invalid symbol {value:?}: expected 2 to 20 characters out of A-Z and 0-9, e.g. BTCUSDT"
    )]
    InvalidSymbol {
        /// The offending text (at most 64 characters of it).
        value: String,
    },
    /// A timeframe other than 1m 5m 15m 1h 4h 1d.
    #[error("invalid timeframe {value:?}: expected one of 1m, 5m, 15m, 1h, 4h, 1d")]
    InvalidTimeframe {
        /// The offending text.
        value: String,
    },
    /// A trading mode other than spot or futures.
    #[error("invalid trading_mode {value:?}: expected spot or futures")]
    InvalidTradingMode {
        /// The offending text.
        value: String,
    },
    /// A fill mode other than close or next_open.
    #[error("invalid fill {value:?}: expected close or next_open")]
    InvalidFillMode {
        /// The offending text.
        value: String,
    },
    /// A configuration field whose value is out of its range.
    #[error("invalid {field} {value}: {reason}")]
    InvalidConfig {
        /// The field, as named in the API and `config.json`.
        field: &'static str,
        /// The offending value as text.
        value: String,
        /// What the value must be.
        reason: String,
    },
    /// A position that cannot exist (non-positive entry, leverage out of range, a short in spot...).
    #[error("invalid position: {field} {value}: {reason}")]
    InvalidPosition {
        /// The offending field.
        field: &'static str,
        /// The offending value as text.
        value: String,
        /// What the value must be.
        reason: String,
    },
    /// A backtest id that does not match `^bt_[0-9]{8}_[0-9]{6}_[a-z0-9]{6}$`.
    #[error("invalid backtest id {value:?}: expected bt_YYYYMMDD_HHMMSS_xxxxxx")]
    InvalidBacktestId {
        /// The offending text (at most 64 characters of it).
        value: String,
    },
}

impl DomainError {
    pub(crate) fn config(
        field: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidConfig { field, value: value.to_string(), reason: reason.into() }
    }

    pub(crate) fn position(
        field: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidPosition { field, value: value.to_string(), reason: reason.into() }
    }
}
