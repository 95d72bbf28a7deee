//! Strategy parameters (`--param NAME=VALUE`, the API's `params`): numbers or strings by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One parameter value as the strategy sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A number (a strategy's tuning knob; not a ledger amount, so f64).
    Number(f64),
    /// Anything that does not parse as a finite number.
    Text(String),
}

impl ParamValue {
    /// Reads a command-line value: a finite number when it parses as one, text otherwise.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Self::Number(n),
            _ => Self::Text(text.to_owned()),
        }
    }
}

/// Parameters by name, in name order (so that output is deterministic).
pub type Params = BTreeMap<String, ParamValue>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text_are_told_apart() {
        assert_eq!(ParamValue::parse("20"), ParamValue::Number(20.0));
        assert_eq!(ParamValue::parse("-0.5"), ParamValue::Number(-0.5));
        assert_eq!(ParamValue::parse("fast"), ParamValue::Text("fast".into()));
        assert_eq!(ParamValue::parse("nan"), ParamValue::Text("nan".into()));
        assert_eq!(ParamValue::parse("inf"), ParamValue::Text("inf".into()));
    }
}
