//! `Symbol`: a validated trading pair name such as `BTCUSDT`, stored inline and `Copy`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::DomainError;

const MAX_LEN: usize = 20;
const MIN_LEN: usize = 2;

/// A trading pair such as `BTCUSDT` or `ETHUSDT`: 2 to 20 characters out of `A-Z` and `0-9`.
///
/// Kept inline (no heap) so that it can be copied into every trade of a long run for free.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol {
    bytes: [u8; MAX_LEN],
    len: u8,
}

impl Symbol {
    /// Parses and validates a symbol.
    ///
    /// # Errors
    /// [`DomainError::InvalidSymbol`] naming the value when it is not 2–20 of `A-Z0-9`.
    pub fn new(text: &str) -> Result<Self, DomainError> {
        let valid = (MIN_LEN..=MAX_LEN).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            return Err(DomainError::InvalidSymbol { value: text.chars().take(64).collect() });
        }
        let mut bytes = [0u8; MAX_LEN];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Self { bytes, len: text.len() as u8 })
    }

    /// The symbol as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored, see `new`.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl FromStr for Symbol {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({})", self.as_str())
    }
}

impl Serialize for Symbol {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exchange_symbols() {
        for text in ["BTCUSDT", "ETHUSDT", "1000PEPEUSDT", "AB", "ABCDEFGHIJKLMNOPQRST"] {
            assert_eq!(Symbol::new(text).unwrap().as_str(), text);
        }
    }

    #[test]
    fn rejects_and_names_bad_symbols() {
        for text in ["", "B", "btcusdt", "BTC/USDT", "BTC USDT", "ABCDEFGHIJKLMNOPQRSTU", "../x"] {
            let err = Symbol::new(text).unwrap_err();
            assert!(err.to_string().contains(&format!("{text:?}")), "{err} for {text:?}");
        }
    }

    #[test]
    fn serde_round_trips_as_a_string() {
        let symbol = Symbol::new("ETHUSDT").unwrap();
        let json = serde_json::to_string(&symbol).unwrap();
        assert_eq!(json, "\"ETHUSDT\"");
        assert_eq!(serde_json::from_str::<Symbol>(&json).unwrap(), symbol);
        assert!(serde_json::from_str::<Symbol>("\"eth\"").is_err());
    }
}
