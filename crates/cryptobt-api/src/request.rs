//! The body of `POST /api/backtest`, read field by field so that every error names its field:
//! the original spec's fields plus the docs/design.md#command-line options.

use std::str::FromStr;

use chrono::NaiveDate;
use cryptobt_domain::{
    BacktestConfig, ConfigPolicy, DomainError, FillMode, Intrabar, ParamValue, Params, Symbol,
    Timeframe, TradingMode, MAX_SYMBOLS,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{value::RawValue, Map, Value};

use crate::ApiError;

/// Every field the request may carry.
const FIELDS: &[&str] = &[
    "strategy_code",
    "symbol",
    "symbols",
    "timeframe",
    "start_date",
    "end_date",
    "initial_capital",
    "trading_mode",
    "max_leverage",
    "maintenance_margin_rate",
    "fee",
    "maker_fee",
    "slippage_bps",
    "fill",
    "intrabar",
    "funding_rate",
    "params",
];

/// A validated submission.
#[derive(Debug, Clone)]
pub(crate) struct Submission {
    pub(crate) config: BacktestConfig,
    pub(crate) strategy_code: String,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => {
            Err(ApiError::request(field, format!("{field} must be a string, got {}", kind(other))))
        }
    }
}

fn required<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    text(body, field)?.ok_or_else(|| ApiError::request(field, format!("missing field {field}")))
}

/// A top-level JSON object read as its members in order, each value as the text it was sent
/// as: numbers are then read exactly (no trip through f64), and a key sent twice is seen.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// The body's fields as values, and the text of each number as sent.
pub(crate) struct Body {
    values: Map<String, Value>,
    numbers: std::collections::HashMap<String, String>,
}

/// Reads a body: a JSON object without repeated keys.
pub(crate) fn read(bytes: &[u8]) -> Result<Body, ApiError> {
    let invalid =
        |e: serde_json::Error| ApiError::InvalidJson(format!("the body is not valid JSON: {e}"));
    let members = match serde_json::from_slice::<Members>(bytes) {
        Ok(members) => members,
        Err(e) => {
            // Valid JSON of another kind gets the message naming what it is.
            let value: Value = serde_json::from_slice(bytes).map_err(invalid)?;
            let _ = e;
            return Err(ApiError::InvalidRequest {
                field: None,
                message: format!("the body must be a JSON object, got {}", kind(&value)),
            });
        }
    };
    let mut body = Body { values: Map::new(), numbers: std::collections::HashMap::new() };
    for (key, raw) in members.0 {
        if body.values.contains_key(&key) {
            return Err(ApiError::request(&key, format!("field {key:?} is given more than once")));
        }
        let value: Value = serde_json::from_str(raw.get()).map_err(invalid)?;
        if value.is_number() {
            body.numbers.insert(key.clone(), raw.get().to_owned());
        }
        body.values.insert(key, value);
    }
    Ok(body)
}

fn number(body: &Body, field: &str) -> Result<Option<Decimal>, ApiError> {
    match body.values.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            // The number exactly as sent: 1000000000000.0001 stays above a 1e12 cap.
            let t = body.numbers.get(field).cloned().unwrap_or_else(|| n.to_string());
            Decimal::from_str_exact(&t)
                .or_else(|_| Decimal::from_scientific(&t))
                .map(Some)
                .map_err(|_| ApiError::field(field, format!("{field} {t} is out of range")))
        }
        Some(other) => {
            Err(ApiError::request(field, format!("{field} must be a number, got {}", kind(other))))
        }
    }
}

fn date(body: &Map<String, Value>, field: &str) -> Result<NaiveDate, ApiError> {
    let raw = required(body, field)?;
    let bad =
        || ApiError::field(field, format!("{field} {raw:?} is not a date of the form YYYY-MM-DD"));
    // Exactly ten characters, digits and dashes: no sign, no spaces (which chrono would allow).
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(bad());
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())
}

/// The run's symbols: `symbol` (one) or `symbols` (a list of 1 to 8), never both.
fn symbols(body: &Map<String, Value>) -> Result<Vec<Symbol>, ApiError> {
    let list = match body.get("symbols") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items),
        Some(other) => {
            return Err(ApiError::field(
                "symbols",
                format!("symbols must be an array of symbol names, got {}", kind(other)),
            ))
        }
    };
    let Some(items) = list else {
        return Ok(vec![Symbol::new(required(body, "symbol")?).map_err(domain_error)?]);
    };
    if text(body, "symbol")?.is_some() {
        return Err(ApiError::field("symbols", "give symbol (one) or symbols (a list), not both"));
    }
    if items.is_empty() || items.len() > MAX_SYMBOLS {
        return Err(ApiError::field(
            "symbols",
            format!("symbols must list 1 to {MAX_SYMBOLS} symbols, got {}", items.len()),
        ));
    }
    let mut symbols = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(name) = item else {
            return Err(ApiError::field(
                "symbols",
                format!("symbols must be strings, got {}", kind(item)),
            ));
        };
        let symbol = Symbol::new(name).map_err(|e| ApiError::field("symbols", e.to_string()))?;
        if symbols.contains(&symbol) {
            return Err(ApiError::field("symbols", format!("{symbol} is listed twice")));
        }
        symbols.push(symbol);
    }
    Ok(symbols)
}

fn domain_error(e: DomainError) -> ApiError {
    let field = match &e {
        DomainError::InvalidConfig { field, .. } => field,
        DomainError::InvalidSymbol { .. } => "symbol",
        DomainError::InvalidTimeframe { .. } => "timeframe",
        DomainError::InvalidTradingMode { .. } => "trading_mode",
        DomainError::InvalidFillMode { .. } => "fill",
        DomainError::InvalidPosition { .. } | DomainError::InvalidBacktestId { .. } => "request",
    };
    ApiError::field(field, e.to_string())
}

/// The `strategy_code` of a body (a submission or a check): a string of at most
/// `max_code_bytes`, not empty, without NUL bytes. The one place these rules are checked.
pub(crate) fn strategy_code(whole: &Body, max_code_bytes: usize) -> Result<String, ApiError> {
    let code = required(&whole.values, "strategy_code")?;
    if code.len() > max_code_bytes {
        return Err(ApiError::PayloadTooLarge(format!(
            "strategy_code is {} bytes; the limit is {max_code_bytes}",
            code.len()
        )));
    }
    if code.trim().is_empty() {
        return Err(ApiError::field("strategy_code", "strategy_code is empty"));
    }
    if code.contains('\0') {
        return Err(ApiError::field("strategy_code", "strategy_code contains a NUL byte"));
    }
    Ok(code.to_owned())
}

/// Reads a submission. `max_code_bytes` caps the strategy source.
pub(crate) fn parse(
    whole: &Body,
    policy: &ConfigPolicy,
    default_mmr: Decimal,
    max_code_bytes: usize,
) -> Result<Submission, ApiError> {
    let body = &whole.values;
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::request(
            unknown,
            format!("unknown field {unknown:?}; expected one of {}", FIELDS.join(", ")),
        ));
    }
    let strategy_code = strategy_code(whole, max_code_bytes)?;
    let symbols = symbols(body)?;
    let timeframe = Timeframe::from_str(required(body, "timeframe")?).map_err(domain_error)?;
    let start = date(body, "start_date")?;
    let end = date(body, "end_date")?;
    let mut builder = BacktestConfig::builder(symbols[0], timeframe, start, end).symbols(symbols);
    if let Some(mode) = text(body, "trading_mode")? {
        builder = builder.trading_mode(TradingMode::from_str(mode).map_err(domain_error)?);
    }
    if let Some(fill) = text(body, "fill")? {
        builder = builder.fill(FillMode::from_str(fill).map_err(domain_error)?);
    }
    if let Some(intrabar) = text(body, "intrabar")? {
        builder = builder.intrabar(Intrabar::from_str(intrabar).map_err(domain_error)?);
    }
    if let Some(v) = number(whole, "initial_capital")? {
        builder = builder.initial_capital(v);
    }
    if let Some(v) = number(whole, "max_leverage")? {
        builder = builder.max_leverage(v);
    }
    builder = builder
        .maintenance_margin_rate(number(whole, "maintenance_margin_rate")?.unwrap_or(default_mmr));
    if let Some(v) = number(whole, "fee")? {
        builder = builder.fee_rate(v);
    }
    if let Some(v) = number(whole, "maker_fee")? {
        builder = builder.maker_fee_rate(v);
    }
    if let Some(v) = number(whole, "slippage_bps")? {
        builder = builder.slippage_bps(v);
    }
    if let Some(v) = number(whole, "funding_rate")? {
        builder = builder.funding_rate(v);
    }
    match body.get("params") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            let mut params = Params::new();
            for (name, value) in map {
                let value = match value {
                    Value::Number(n) => ParamValue::Number(n.as_f64().unwrap_or(f64::NAN)),
                    Value::String(s) => ParamValue::Text(s.clone()),
                    other => {
                        return Err(ApiError::request(
                            "params",
                            format!(
                                "params.{name} must be a number or a string, got {}",
                                kind(other)
                            ),
                        ))
                    }
                };
                params.insert(name.clone(), value);
            }
            builder = builder.params(params);
        }
        Some(other) => {
            return Err(ApiError::request(
                "params",
                format!("params must be an object, got {}", kind(other)),
            ))
        }
    }
    let config = builder.build_with(policy).map_err(domain_error)?;
    Ok(Submission { config, strategy_code })
}

/// The fields `POST /api/sweeps` adds to a run's (docs/design.md#sweeps).
const SWEEP_FIELDS: &[&str] =
    &["grid", "random", "seed", "objective", "minimize", "walk_forward", "blocks"];

/// A validated sweep submission: the run every member starts from and the parameter space.
#[derive(Debug, Clone)]
pub(crate) struct SweepSubmission {
    pub(crate) run: Submission,
    /// The run's fields as sent (a member is opened as a run of these with its params).
    pub(crate) run_fields: Value,
    pub(crate) grid: Vec<String>,
    pub(crate) random: Option<usize>,
    pub(crate) seed: u64,
    pub(crate) objective: String,
    pub(crate) minimize: bool,
    pub(crate) walk_forward: Option<String>,
    pub(crate) blocks: usize,
}

fn whole_number(sweep: &Map<String, Value>, field: &str) -> Result<Option<u64>, ApiError> {
    match sweep.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ApiError::request(field, format!("{field} must be a whole number ≥ 0, got {v}"))
        }),
    }
}

/// Reads a sweep submission: a run's fields plus `grid` (`["NAME=SPEC", ...]`, the first
/// varying slowest), `random`, `seed`, `objective`, `minimize`, `walk_forward` and `blocks`.
pub(crate) fn parse_sweep(
    mut whole: Body,
    policy: &ConfigPolicy,
    default_mmr: Decimal,
    max_code_bytes: usize,
) -> Result<SweepSubmission, ApiError> {
    let mut sweep = Map::new();
    for key in SWEEP_FIELDS {
        if let Some(v) = whole.values.remove(*key) {
            sweep.insert((*key).to_owned(), v);
        }
    }
    let run = parse(&whole, policy, default_mmr, max_code_bytes)?;
    let grid = match sweep.get("grid") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::request("grid", format!("each grid entry is \"NAME=SPEC\", got {v}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None | Some(Value::Null) => {
            return Err(ApiError::request("grid", "grid is required: [\"NAME=SPEC\", ...]"))
        }
        Some(other) => {
            return Err(ApiError::request(
                "grid",
                format!("grid must be a non-empty array of \"NAME=SPEC\", got {}", kind(other)),
            ))
        }
    };
    let text_field = |field: &str| match sweep.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(ApiError::request(field, format!("{field} must be a string, got {}", kind(other))))
        }
    };
    let minimize = match sweep.get("minimize") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ApiError::request(
                "minimize",
                format!("minimize must be true or false, got {}", kind(other)),
            ))
        }
    };
    let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(SweepSubmission {
        run,
        run_fields: Value::Object(whole.values),
        grid,
        random: whole_number(&sweep, "random")?.map(to_usize),
        seed: whole_number(&sweep, "seed")?.unwrap_or(0),
        objective: text_field("objective")?.unwrap_or_else(|| "sharpe_ratio".to_owned()),
        minimize,
        walk_forward: text_field("walk_forward")?,
        blocks: whole_number(&sweep, "blocks")?.map_or(16, to_usize),
    })
}

/// The body of a run of `fields` (a sweep's run fields) with `params` over its own.
pub(crate) fn member_body(fields: &Value, params: &Params) -> Result<Body, ApiError> {
    let mut values = fields.as_object().cloned().unwrap_or_default();
    let mut merged = values.get("params").and_then(Value::as_object).cloned().unwrap_or_default();
    for (name, value) in params {
        merged.insert(name.clone(), serde_json::to_value(value).map_err(ApiError::internal)?);
    }
    values.insert("params".to_owned(), Value::Object(merged));
    read(serde_json::to_string(&values).map_err(ApiError::internal)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: Value) -> Result<Submission, ApiError> {
        check_text(&body.to_string())
    }

    fn check_text(body: &str) -> Result<Submission, ApiError> {
        parse(&read(body.as_bytes())?, &ConfigPolicy::default(), Decimal::new(5, 3), 1_000)
    }

    fn base() -> Value {
        serde_json::from_str(
            r#"{"strategy_code": "function on_data(b) end", "symbol": "BTCUSDT", "timeframe": "1h",
                "start_date": "2025-01-01", "end_date": "2025-01-31"}"#,
        )
        .unwrap()
    }

    #[track_caller]
    fn fails(change: &str, field: &str, needle: &str) {
        let change: Value = serde_json::from_str(change).unwrap();
        let mut body = base();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let err = check(body).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(needle), "{text} should contain {needle}");
        match err {
            ApiError::Validation { field: f, .. } => assert_eq!(f, field),
            ApiError::InvalidRequest { field: Some(f), .. } => assert_eq!(f, field),
            ApiError::PayloadTooLarge(_) => assert_eq!(field, "strategy_code"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_minimal_body_gets_the_defaults() {
        let s = check(base()).unwrap();
        assert_eq!(s.config.initial_capital(), Decimal::from(10_000));
        assert_eq!(s.config.trading_mode(), TradingMode::Spot);
    }

    #[test]
    fn every_bad_field_is_named() {
        fails(r#"{"symbol": "btc"}"#, "symbol", "invalid symbol \"btc\"");
        fails(r#"{"symbol": 5}"#, "symbol", "symbol must be a string, got a number");
        fails(r#"{"timeframe": "2h"}"#, "timeframe", "\"2h\"");
        fails(r#"{"end_date": "2024-12-31"}"#, "end_date", "must not be before start_date");
        fails(r#"{"start_date": "2025-13-01"}"#, "start_date", "YYYY-MM-DD");
        fails(r#"{"initial_capital": 0}"#, "initial_capital", "initial_capital 0");
        fails(r#"{"initial_capital": "100"}"#, "initial_capital", "must be a number, got a string");
        fails(
            r#"{"trading_mode": "futures", "max_leverage": 101}"#,
            "max_leverage",
            "max_leverage 101",
        );
        fails(r#"{"trading_mode": "margin"}"#, "trading_mode", "\"margin\"");
        fails(r#"{"fill": "open"}"#, "fill", "\"open\"");
        fails(r#"{"params": [1]}"#, "params", "params must be an object");
        fails(r#"{"colour": "red"}"#, "colour", "unknown field \"colour\"");
        fails(
            &format!(r#"{{"strategy_code": "{}"}}"#, "x".repeat(2_000)),
            "strategy_code",
            "limit is 1000",
        );
        let mut missing = base();
        missing.as_object_mut().unwrap().remove("symbol");
        assert!(check(missing).unwrap_err().to_string().contains("missing field symbol"));
        for bad in [" 2025-01-01", "+2025-01-01", "2025-1-01", "2025-01-01 "] {
            fails(&format!(r#"{{"start_date": "{bad}"}}"#), "start_date", "YYYY-MM-DD");
        }
    }

    #[test]
    fn symbols_is_a_list_of_one_to_eight_never_with_symbol() {
        let mut body = base();
        body.as_object_mut().unwrap().remove("symbol");
        body["symbols"] = serde_json::from_str(r#"["BTCUSDT", "ETHUSDT"]"#).unwrap();
        let s = check(body.clone()).unwrap();
        let names: Vec<&str> = s.config.symbols().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["BTCUSDT", "ETHUSDT"]);
        assert_eq!(s.config.symbol().as_str(), "BTCUSDT", "the first is the primary");
        fails(r#"{"symbols": ["ETHUSDT"]}"#, "symbols", "not both");
        let mut only = body.clone();
        for (list, needle) in [
            (r#"["BTCUSDT", "BTCUSDT"]"#, "BTCUSDT is listed twice"),
            (r#"[]"#, "1 to 8 symbols, got 0"),
            (r#"["A1","A2","A3","A4","A5","A6","A7","A8","A9"]"#, "got 9"),
            (r#"["btc"]"#, "invalid symbol"),
            (r#"[5]"#, "symbols must be strings, got a number"),
            (r#""BTCUSDT""#, "must be an array"),
        ] {
            only["symbols"] = serde_json::from_str(list).unwrap();
            let err = check(only.clone()).unwrap_err();
            assert!(err.to_string().contains(needle), "{list}: {err}");
            assert!(
                matches!(err, ApiError::Validation { ref field, .. } if field == "symbols"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn numbers_are_read_exactly_and_keys_only_once() {
        let body = r#"{"strategy_code": "function on_data(b) end", "symbol": "BTCUSDT",
            "timeframe": "1h", "start_date": "2025-01-01", "end_date": "2025-01-31","#;
        let err =
            check_text(&format!("{body} \"initial_capital\": 1000000000000.0001}}")).unwrap_err();
        assert!(err.to_string().contains("initial_capital 1000000000000.0001"), "{err}");
        let ok =
            check_text(&format!("{body} \"initial_capital\": 1234.56789012345678901}}")).unwrap();
        assert_eq!(ok.config.initial_capital().to_string(), "1234.56789012345678901");
        let ok = check_text(&format!("{body} \"fee\": 1e-4}}")).unwrap();
        assert_eq!(ok.config.fee_rate().to_string(), "0.0001");
        let err = check_text(&format!("{body} \"symbol\": \"ETHUSDT\"}}")).unwrap_err();
        assert!(err.to_string().contains("\"symbol\" is given more than once"), "{err}");
        assert!(matches!(check_text("[1, 2]"), Err(ApiError::InvalidRequest { .. })));
        assert!(matches!(check_text("{nope"), Err(ApiError::InvalidJson(_))));
    }
}
