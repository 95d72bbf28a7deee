//! `cryptobt._native`: the Rust side of the Python package `cryptobt` (docs/python.md). Each
//! function takes the request as JSON text (the Python side checks keywords and turns values into
//! exact text), releases the GIL while the engine runs, and answers JSON text; a bad argument
//! raises `ValueError` naming it, a failed run answers `{"error": {"code", "message"}}`, which the
//! Python side raises as `cryptobt.Error`. Runs go through the engine's run pipeline and the
//! result store, sweeps through the engine's `SweepEngine` and the sweep store: the CLI's paths.

use std::{path::PathBuf, str::FromStr, sync::Arc, time::Duration};

use cryptobt_data::CsvMarketData;
use cryptobt_domain::{
    money::write_plain,
    ports::{
        BacktestRequest, BarQuery, MarketData, ResultStore, RunRecord, ServiceError,
        StrategyLimits, SweepMember, SweepRequest, SweepService,
    },
    BacktestConfig, FillMode, Intrabar, ParamValue, Params, RunPipeline, RunStatus, SweepSpec,
    SweepText, Symbol, Timeframe, TradingMode,
};
use cryptobt_engine::{Engine, SweepEngine};
use cryptobt_sandbox::LuaStrategyFactory;
use cryptobt_store::FileResultStore;
use pyo3::{exceptions::PyValueError, prelude::*};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

/// A run as the Python side sends it: every value as text, as the CLI's flags take them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunSpec {
    code: String,
    symbols: Vec<String>,
    timeframe: String,
    start: String,
    end: String,
    mode: String,
    #[serde(default)]
    params: serde_json::Map<String, Value>,
    data_dir: String,
    #[serde(default)]
    settings: serde_json::Map<String, Value>,
}

/// A sweep: a run and its space.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepSpecText {
    run: RunSpec,
    grid: Vec<String>,
    random: Option<usize>,
    #[serde(default)]
    seed: u64,
    objective: String,
    #[serde(default)]
    minimize: bool,
    walk_forward: Option<String>,
    blocks: usize,
    threads: Option<usize>,
    max_sweep_duration: Option<u64>,
}

fn bad(field: &str, message: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{field}: {message}"))
}

fn parse<T: FromStr>(field: &str, text: &str) -> PyResult<T>
where
    T::Err: std::fmt::Display,
{
    text.trim().parse().map_err(|e| bad(field, format!("{text:?}: {e}")))
}

/// A setting's text (numbers arrive as their exact text).
fn setting(settings: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    settings.get(key).and_then(|v| match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    })
}

/// The run settings `backtest` and `sweep` take: the CLI's run flags with `_` (the Python
/// package's `SETTINGS`).
const SETTINGS: [&str; 11] = [
    "capital",
    "max_leverage",
    "mmr",
    "fee",
    "maker_fee",
    "slippage_bps",
    "fill",
    "intrabar",
    "funding_rate",
    "max_duration",
    "memory_limit_mb",
];

/// The run's config and limits, as `cryptobt backtest`'s flags give them.
fn config_of(spec: &RunSpec) -> PyResult<(BacktestConfig, StrategyLimits)> {
    if let Some(unknown) = spec.settings.keys().find(|k| !SETTINGS.contains(&k.as_str())) {
        return Err(bad(unknown, "is not a run setting"));
    }
    let symbols: Vec<Symbol> = spec
        .symbols
        .iter()
        .map(|s| Symbol::new(s).map_err(|e| bad("symbols", e)))
        .collect::<PyResult<_>>()?;
    let Some(&symbol) = symbols.first() else {
        return Err(bad("symbols", "give at least one symbol"));
    };
    let timeframe: Timeframe = parse("timeframe", &spec.timeframe)?;
    let start: chrono::NaiveDate = parse("start", &spec.start)?;
    let end: chrono::NaiveDate = parse("end", &spec.end)?;
    let mut params = Params::new();
    for (name, value) in &spec.params {
        let value = match value {
            Value::Number(n) => ParamValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => ParamValue::parse(s),
            other => {
                return Err(bad("params", format!("{name} = {other} is not a number or text")))
            }
        };
        params.insert(name.clone(), value);
    }
    let decimal = |key: &str, default: &str| -> PyResult<Decimal> {
        parse(key, &setting(&spec.settings, key).unwrap_or_else(|| default.to_owned()))
    };
    let mut builder = BacktestConfig::builder(symbol, timeframe, start, end)
        .symbols(symbols)
        .initial_capital(decimal("capital", "10000")?)
        .trading_mode(parse::<TradingMode>("mode", &spec.mode)?)
        .max_leverage(decimal("max_leverage", "1")?)
        .maintenance_margin_rate(decimal("mmr", "0.005")?)
        .slippage_bps(decimal("slippage_bps", "0")?)
        .fill(parse::<FillMode>(
            "fill",
            &setting(&spec.settings, "fill").unwrap_or("close".into()),
        )?)
        .intrabar(parse::<Intrabar>(
            "intrabar",
            &setting(&spec.settings, "intrabar").unwrap_or("bar".into()),
        )?)
        .funding_rate(decimal("funding_rate", "0")?)
        .params(params);
    if let Some(fee) = setting(&spec.settings, "maker_fee") {
        builder = builder.maker_fee_rate(parse("maker_fee", &fee)?);
    }
    if let Some(fee) = setting(&spec.settings, "fee") {
        builder = builder.fee_rate(parse("fee", &fee)?);
    }
    let config = builder.build().map_err(|e| PyValueError::new_err(e.to_string()))?;
    let max_duration: u64 =
        parse("max_duration", &setting(&spec.settings, "max_duration").unwrap_or("3600".into()))?;
    let memory_mb: usize = parse(
        "memory_limit_mb",
        &setting(&spec.settings, "memory_limit_mb").unwrap_or("64".into()),
    )?;
    let limits = StrategyLimits {
        memory_bytes: memory_mb.saturating_mul(1 << 20),
        max_duration: Duration::from_secs(max_duration),
        ..StrategyLimits::default()
    };
    Ok((config, limits))
}

fn market(data_dir: &str) -> Arc<CsvMarketData> {
    Arc::new(CsvMarketData::open(PathBuf::from(data_dir)))
}

fn error_json(e: &ServiceError) -> String {
    json!({ "error": { "code": e.code, "message": e.message } }).to_string()
}

fn json_of<T: for<'de> Deserialize<'de>>(text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| PyValueError::new_err(format!("request: {e}")))
}

/// Runs a backtest and writes its files into `out` (what `cryptobt backtest --out` writes);
/// answers what `--json` prints, or the error.
#[pyfunction]
fn backtest(py: Python<'_>, spec: &str, out: &str) -> PyResult<String> {
    let spec: RunSpec = json_of(spec)?;
    let (config, limits) = config_of(&spec)?;
    let out = PathBuf::from(out);
    py.allow_threads(move || {
        let engine = Arc::new(Engine::new(market(&spec.data_dir), Arc::new(LuaStrategyFactory)));
        let store: Arc<dyn ResultStore> = Arc::new(FileResultStore::single_folder(&out));
        let id = store.new_id();
        let request =
            BacktestRequest { config: config.clone(), strategy_code: spec.code.clone(), limits };
        let record = RunRecord {
            backtest_id: id.clone(),
            created_at: chrono::Utc::now(),
            strategy_code: spec.code,
            config,
            status: RunStatus::Queued,
            error: None,
        };
        let outcome = RunPipeline::new(engine, store).run(record, &request, &());
        let report = match outcome.report {
            Ok(report) => report,
            Err(e) => return Ok(error_json(&e)),
        };
        if let Err(e) = outcome.saved {
            return Ok(json!({ "error": { "code": "storage_error", "message": e.to_string() } })
                .to_string());
        }
        Ok(json!({
            "status": report.status,
            "metrics": report.metrics,
            "trades": report.trades.len(),
            "round_trips": report.round_trips.len(),
            "error_code": report.error.as_ref().map(|e| e.code),
            "error_message": report.error.as_ref().map(|e| &e.message),
            "error_line": report.error.as_ref().and_then(|e| e.line),
            "backtest_id": id.as_str(),
            "files": out.display().to_string(),
            "rejections": report.rejections.values().sum::<u64>(),
            "open_at_end": report.open_at_end,
            "unused_params": report.unused_params,
        })
        .to_string())
    })
}

/// The request of a sweep spec, checked (a bad spec raises `ValueError` naming the field).
fn sweep_request(spec: &SweepSpecText) -> PyResult<SweepRequest> {
    let (config, limits) = config_of(&spec.run)?;
    let days =
        u64::try_from((config.end_date() - config.start_date()).num_days() + 1).unwrap_or(u64::MAX);
    let text = SweepText {
        grid: &spec.grid,
        random: spec.random,
        seed: spec.seed,
        objective: &spec.objective,
        minimize: spec.minimize,
        blocks: spec.blocks,
        walk_forward: spec.walk_forward.as_deref(),
    };
    let parsed = SweepSpec::parse(&text, days).map_err(|e| bad(e.field, e.message))?;
    Ok(SweepRequest {
        config,
        strategy_code: spec.run.code.clone(),
        spec: parsed,
        limits,
        threads: spec
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        max_duration: spec
            .max_sweep_duration
            .map_or(cryptobt_domain::ports::DEFAULT_MAX_SWEEP_DURATION, Duration::from_secs),
    })
}

fn sweep_engine(spec: &SweepSpecText) -> SweepEngine {
    SweepEngine::new(market(&spec.run.data_dir), Arc::new(LuaStrategyFactory))
}

/// How many members a sweep has (its spec checked against its range).
#[pyfunction]
fn sweep_plan(spec: &str) -> PyResult<usize> {
    let spec: SweepSpecText = json_of(spec)?;
    let request = sweep_request(&spec)?;
    sweep_engine(&spec).plan(&request).map_err(|e| bad(e.field, e.message))
}

/// The answer of a finished sweep: its files written into `out`, `sweep.json`'s text and the
/// sweep's failure, if any.
fn sweep_answer(outcome: &cryptobt_domain::ports::SweepOutcome, out: &str) -> String {
    if let Err(e) = cryptobt_store::write_sweep(&PathBuf::from(out), outcome) {
        return json!({ "error": { "code": "storage_error", "message": e.to_string() } })
            .to_string();
    }
    json!({
        "summary": outcome.summary,
        "failure": outcome.failure.as_ref().map(|e| json!({ "code": e.code, "message": e.message })),
    })
    .to_string()
}

/// Runs a whole sweep in this process and writes its files into `out` (what `cryptobt sweep
/// --out` writes).
#[pyfunction]
fn sweep(py: Python<'_>, spec: &str, out: &str) -> PyResult<String> {
    let spec: SweepSpecText = json_of(spec)?;
    let request = sweep_request(&spec)?;
    let engine = sweep_engine(&spec);
    py.allow_threads(move || match engine.run(&request, None, &()) {
        Ok(outcome) => Ok(sweep_answer(&outcome, out)),
        Err(e) => Ok(error_json(&e)),
    })
}

/// Runs the members `indices` of a sweep (a task of a distributed sweep); answers them as JSON.
#[pyfunction]
fn sweep_part(py: Python<'_>, spec: &str, indices: Vec<usize>) -> PyResult<String> {
    let spec: SweepSpecText = json_of(spec)?;
    let request = sweep_request(&spec)?;
    let engine = sweep_engine(&spec);
    py.allow_threads(move || match engine.run_part(&request, &indices, &()) {
        Ok(members) => Ok(json!({ "members": members }).to_string()),
        Err(e) => Ok(error_json(&e)),
    })
}

/// Joins the parts (each `sweep_part`'s answer) into the one-process sweep and writes its files
/// into `out`.
#[pyfunction]
fn sweep_join(py: Python<'_>, spec: &str, parts: Vec<String>, out: &str) -> PyResult<String> {
    #[derive(Deserialize)]
    struct Part {
        members: Vec<SweepMember>,
    }
    let spec: SweepSpecText = json_of(spec)?;
    let request = sweep_request(&spec)?;
    let mut members = Vec::new();
    for part in &parts {
        let part: Part = json_of(part)?;
        members.extend(part.members);
    }
    let engine = sweep_engine(&spec);
    py.allow_threads(move || match engine.join(&request, members) {
        Ok(outcome) => Ok(sweep_answer(&outcome, out)),
        Err(e) => Ok(error_json(&e)),
    })
}

/// The bars of a range as CSV text (`timestamp,open,high,low,close,volume`, exact decimals).
#[pyfunction]
fn bars(
    py: Python<'_>,
    symbol: &str,
    timeframe: &str,
    start: &str,
    end: &str,
    mode: &str,
    data_dir: &str,
) -> PyResult<String> {
    let query = BarQuery {
        symbol: Symbol::new(symbol).map_err(|e| bad("symbol", e))?,
        timeframe: parse("timeframe", timeframe)?,
        start: parse("start", start)?,
        end: parse("end", end)?,
        mode: parse("mode", mode)?,
    };
    let market = market(data_dir);
    py.allow_threads(move || {
        let bars = match market.bars(&query) {
            Ok(bars) => bars,
            Err(e) => {
                return Ok(json!({ "error": { "code": "data_error", "message": e.to_string() } })
                    .to_string())
            }
        };
        let mut text = String::from("timestamp,open,high,low,close,volume\n");
        for b in bars.iter() {
            text.push_str(&b.timestamp.to_string());
            for v in [b.open, b.high, b.low, b.close, b.volume] {
                text.push(',');
                write_plain(&mut text, v);
            }
            text.push('\n');
        }
        Ok(text)
    })
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(backtest, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_plan, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_part, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_join, m)?)?;
    m.add_function(wrap_pyfunction!(bars, m)?)?;
    m.add("SETTINGS", SETTINGS.to_vec())?;
    Ok(())
}
