//! `BacktestId`: the validated name of a run, safe to join to a results directory.

use std::fmt;

use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;

/// The id of a backtest run: `bt_YYYYMMDD_HHMMSS_xxxxxx` with six characters of `a-z0-9`.
///
/// A value of this type has been checked against `^bt_[0-9]{8}_[0-9]{6}_[a-z0-9]{6}$`, so it can
/// be joined to a directory without any risk of escaping it: parse every id that arrives from
/// outside before it reaches a path.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BacktestId(String);

impl BacktestId {
    /// Parses an id, rejecting anything that does not match the pattern exactly.
    ///
    /// # Errors
    /// [`DomainError::InvalidBacktestId`] naming the value.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let b = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
        let valid = b.len() == 25
            && b.starts_with(b"bt_")
            && digits(3..11)
            && b[11] == b'_'
            && digits(12..18)
            && b[18] == b'_'
            && b[19..].iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(DomainError::InvalidBacktestId { value: text.chars().take(64).collect() })
        }
    }

    /// Builds an id from the creation time and a six-character suffix of `a-z0-9` (the caller
    /// brings the clock and the randomness; the domain has neither).
    ///
    /// # Errors
    /// [`DomainError::InvalidBacktestId`] when the suffix is not six of `a-z0-9`.
    pub fn from_parts(created_at: NaiveDateTime, suffix: &str) -> Result<Self, DomainError> {
        Self::parse(&format!("bt_{}_{suffix}", created_at.format("%Y%m%d_%H%M%S")))
    }

    /// Builds an id from the creation time and a seed, whose base-36 digits make the six
    /// characters of the suffix (the caller brings a random seed).
    #[must_use]
    pub fn with_seed(created_at: NaiveDateTime, seed: u64) -> Self {
        const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut n = seed;
        let suffix: String = (0..6)
            .map(|_| {
                let c = char::from(ALPHABET[(n % 36) as usize]);
                n /= 36;
                c
            })
            .collect();
        Self(format!("bt_{}_{suffix}", created_at.format("%Y%m%d_%H%M%S")))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BacktestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BacktestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BacktestId({})", self.0)
    }
}

impl Serialize for BacktestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for BacktestId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn accepts_the_documented_shape() {
        let id = BacktestId::parse("bt_20250910_123456_a1b2c3").unwrap();
        assert_eq!(id.as_str(), "bt_20250910_123456_a1b2c3");
    }

    #[test]
    fn rejects_everything_else_before_a_path_is_built() {
        for text in [
            "",
            "bt_20250910_123456",
            "bt_20250910_123456_A1B2C3",
            "bt_2025091_0123456_a1b2c3",
            "bt_20250910_123456_a1b2c3 ",
            "../../etc/passwd",
            "bt_20250910_123456_../../",
            "bt_20250910_123456_a1b2c",
            "bt_20250910_123456_a1b2c3d",
            "bt_2025091x_123456_a1b2c3",
            "xx_20250910_123456_a1b2c3",
            "bt_20250910_123456_a1b2é",
        ] {
            let err = BacktestId::parse(text).unwrap_err();
            assert!(matches!(err, DomainError::InvalidBacktestId { .. }), "{text:?}");
        }
    }

    #[test]
    fn builds_from_time_and_suffix() {
        let at = NaiveDate::from_ymd_opt(2025, 9, 10).unwrap().and_hms_opt(12, 34, 56).unwrap();
        assert_eq!(
            BacktestId::from_parts(at, "zz9zz9").unwrap().as_str(),
            "bt_20250910_123456_zz9zz9"
        );
        assert!(BacktestId::from_parts(at, "ZZ").is_err());
        let seeded = BacktestId::with_seed(at, 36 * 36 + 35);
        assert_eq!(seeded.as_str(), "bt_20250910_123456_9abaaa");
        assert_eq!(
            BacktestId::parse(BacktestId::with_seed(at, u64::MAX).as_str()).unwrap().as_str().len(),
            25
        );
    }
}
