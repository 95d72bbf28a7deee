//! Sweeps end to end (DESIGN §9, §11), shared by `cryptobt sweep` and the API: the members of a
//! request, the run on every core over bars loaded once, and the files — `sweep.parquet` (one row
//! per member), `returns.parquet` (each completed member's daily returns, so that shards can be
//! merged) and `sweep.json` (settings, best, PBO, DSR, walk-forward).
//!
//! A single run and a merge of its shards go through the same [`Row`]s and the same
//! [`summary`], so they write the same bytes.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use cryptobt_domain::{
    ports::{
        MarketData, PlanError, RunObserver, ServiceError, SweepRequest, SweepRow, SweepService,
        SweepTable,
    },
    BacktestConfig, ErrorCode, ParamValue, Params, RunStatus, METRICS,
};
use cryptobt_engine::sweep::{self, MemberResult, SweepInput};
use serde_json::{json, Value};

/// A member as written: its row of the table and its daily returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index, params, metrics, status, error code.
    pub row: SweepRow,
    /// Each UTC day's return (completed members).
    pub daily: Vec<f64>,
    /// Why it failed, in words (not written to the files).
    pub message: Option<String>,
}

/// What a request comes to: its members, the parameter names and the walk-forward spec.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `(index, params)` of every member to run.
    pub members: Vec<(usize, Params)>,
    /// The parameter names in `--grid` order.
    pub names: Vec<String>,
    /// `(train days, test days, anchored)`.
    pub walk: Option<(u32, u32, bool)>,
}

/// A small deterministic generator (SplitMix64) for `--random`: the same seed draws the same
/// members on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The `--random` draws of `specs` (each `a:b`).
fn random_members(
    specs: &[(String, String)],
    n: usize,
    seed: u64,
) -> Result<Vec<(usize, Params)>, String> {
    let mut ranges = Vec::new();
    for (name, spec) in specs {
        let (a, b) = spec
            .split_once(':')
            .ok_or_else(|| format!("--grid {name}={spec}: with --random a SPEC is a:b"))?;
        let (a, b) = (a.trim(), b.trim());
        let integers = !a.contains('.') && !b.contains('.');
        let (lo, hi): (f64, f64) = (
            a.parse().map_err(|_| format!("{a:?} in --grid {name}={spec} is not a number"))?,
            b.parse().map_err(|_| format!("{b:?} in --grid {name}={spec} is not a number"))?,
        );
        if !(lo.is_finite() && hi.is_finite()) || hi < lo {
            return Err(format!("--grid {name}={spec} ends before it starts"));
        }
        if !(hi - lo + 1.0).is_finite() {
            return Err(format!("--grid {name}={spec}: the range is too wide to draw from"));
        }
        ranges.push((name.clone(), lo, hi, integers));
    }
    let mut rng = SplitMix(seed);
    Ok((0..n)
        .map(|i| {
            let mut params = Params::new();
            for (name, lo, hi, integers) in &ranges {
                let u = rng.unit();
                let v = if *integers {
                    (lo + (u * (hi - lo + 1.0)).floor()).min(*hi)
                } else {
                    lo + u * (hi - lo)
                };
                params.insert(name.clone(), ParamValue::Number(v));
            }
            (i, params)
        })
        .collect())
}

/// Largest sweep accepted (members).
pub const MAX_MEMBERS: usize = 100_000;

/// Largest sweep accepted in members × days of the range.
pub const MAX_MEMBER_DAYS: u64 = 20_000_000;

/// The members of `request`, checked: the grid specs, the objective and the walk-forward spec.
///
/// # Errors
/// A [`PlanError`] naming the field and the bad value.
pub fn plan(request: &SweepRequest) -> Result<Plan, PlanError> {
    let bad_grid = |message: String| PlanError::new("grid", message);
    if cryptobt_domain::metric(&request.objective).is_none() {
        return Err(PlanError::new(
            "objective",
            format!(
                "objective {:?} is not a metric (docs/metrics.md lists them)",
                request.objective
            ),
        ));
    }
    if request.grid.is_empty() {
        return Err(bad_grid("a sweep needs at least one --grid NAME=SPEC".to_owned()));
    }
    let mut specs: Vec<(String, String)> = Vec::new();
    for raw in &request.grid {
        let (name, spec) = raw
            .split_once('=')
            .ok_or_else(|| bad_grid(format!("--grid {raw:?} is not NAME=SPEC")))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad_grid(format!("--grid {raw:?} has no parameter name")));
        }
        if specs.iter().any(|(n, _)| n == name) {
            return Err(bad_grid(format!("parameter {name:?} is in the grid twice")));
        }
        specs.push((name.to_owned(), spec.trim().to_owned()));
    }
    let days = (request.config.end_date() - request.config.start_date()).num_days() + 1;
    let days = u64::try_from(days.max(1)).unwrap_or(u64::MAX);
    let too_large = |field: &'static str, count: usize| -> Result<(), PlanError> {
        let member_days = (count as u64).saturating_mul(days);
        if count > MAX_MEMBERS || member_days > MAX_MEMBER_DAYS {
            return Err(PlanError::new(
                field,
                format!(
                    "the sweep has {count} members over {days} days; at most {MAX_MEMBERS} \
                     members and {MAX_MEMBER_DAYS} members × days"
                ),
            ));
        }
        Ok(())
    };
    let members = match request.random {
        Some(0) => return Err(PlanError::new("random", "random 0 draws no member".to_owned())),
        Some(n) => {
            too_large("random", n)?;
            random_members(&specs, n, request.seed).map_err(bad_grid)?
        }
        None => {
            // The member count first, from the specs alone: nothing is built for a refused grid.
            let mut count = 1usize;
            for (name, spec) in &specs {
                let values = sweep::grid_count(spec)
                    .map_err(|e| bad_grid(format!("--grid {name}={spec}: {e}")))?;
                count = count.saturating_mul(values);
            }
            too_large("grid", count)?;
            let mut grid = Vec::new();
            for (name, spec) in &specs {
                let values = sweep::grid_values(spec)
                    .map_err(|e| bad_grid(format!("--grid {name}={spec}: {e}")))?;
                grid.push((name.clone(), values));
            }
            sweep::grid_members(&grid).into_iter().enumerate().collect()
        }
    };
    if let Some((_, first)) = members.first() {
        // The names must be parameter names (checked once here, not as every member failing).
        request.config.with_params(first).map_err(|e| bad_grid(format!("--grid: {e}")))?;
    }
    if !(2..=20).contains(&request.blocks) || request.blocks % 2 == 1 {
        return Err(PlanError::new(
            "blocks",
            format!("blocks {} must be an even number from 2 to 20", request.blocks),
        ));
    }
    let walk = request
        .walk_forward
        .as_deref()
        .map(|spec| {
            let (train, test, anchored) = sweep::parse_walk_forward(spec)?;
            let (start, end) = (request.config.start_date(), request.config.end_date());
            if sweep::windows(start, end, train, test, anchored).is_empty() {
                return Err(format!(
                    "{spec:?} holds no whole window in {start}..{end} ({train} train days and \
                     {test} test days need {} days)",
                    u64::from(train) + u64::from(test)
                ));
            }
            Ok((train, test, anchored))
        })
        .transpose()
        .map_err(|e| PlanError::new("walk_forward", format!("walk_forward: {e}")))?;
    Ok(Plan { members, names: specs.into_iter().map(|(n, _)| n).collect(), walk })
}

/// A member's row: its metrics as numbers in [`METRICS`] order (all null for a member that failed
/// before its first bar).
fn row_of(result: MemberResult) -> Row {
    let ran =
        result.status != RunStatus::Failed || result.metrics != cryptobt_domain::Metrics::default();
    let values = serde_json::to_value(&result.metrics).unwrap_or_default();
    let metrics =
        METRICS.iter().map(|def| if ran { values[def.key].as_f64() } else { None }).collect();
    let daily =
        if result.status == RunStatus::Completed { result.daily_returns } else { Vec::new() };
    Row {
        row: SweepRow {
            index: result.index,
            params: result.params,
            metrics,
            status: result.status,
            error_code: result.error_code,
        },
        daily,
        message: result.error_message,
    }
}

fn objective_position(key: &str) -> Option<usize> {
    METRICS.iter().position(|d| d.key == key)
}

/// The best row by `key` (DESIGN §11: completed, non-null, ties to the lower index).
fn best_row<'a>(rows: &'a [Row], key: &str, minimize: bool) -> Option<(&'a Row, f64)> {
    let k = objective_position(key)?;
    let candidates = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.row.status == RunStatus::Completed)
        .filter_map(|(i, r)| Some((i, r.row.metrics[k]?)));
    sweep::pick_best(candidates, minimize).map(|(i, v)| (&rows[i], v))
}

/// The fields of `sweep.json` that say what was swept.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The run settings as `config.json` writes them.
    pub config: Value,
    /// `--grid` as given.
    pub grid: Vec<String>,
    /// `--random`.
    pub random: Option<usize>,
    /// `--seed`.
    pub seed: u64,
    /// `--objective`.
    pub objective: String,
    /// `--minimize`.
    pub minimize: bool,
    /// `--blocks`.
    pub blocks: usize,
    /// `--shard` (`I/N`).
    pub shard: Option<String>,
}

impl Settings {
    fn of(request: &SweepRequest, shard: Option<String>) -> Self {
        let record = cryptobt_domain::ports::RunRecord {
            backtest_id: cryptobt_domain::BacktestId::with_seed(
                chrono::NaiveDate::default().and_hms_opt(0, 0, 0).unwrap_or_default(),
                0,
            ),
            created_at: chrono::DateTime::<chrono::Utc>::default(),
            strategy_code: request.strategy_code.clone(),
            config: request.config.clone(),
            status: RunStatus::Completed,
            error: None,
        };
        let mut config = serde_json::to_value(cryptobt_domain::ConfigFile::from_record(&record))
            .unwrap_or_default();
        // A sweep is not a run: the record's identity fields say nothing here.
        if let Some(map) = config.as_object_mut() {
            for key in ["backtest_id", "created_at", "status", "error_message", "error_code"] {
                map.remove(key);
            }
        }
        Self {
            config,
            grid: request.grid.clone(),
            random: request.random,
            seed: request.seed,
            objective: request.objective.clone(),
            minimize: request.minimize,
            blocks: request.blocks,
            shard,
        }
    }

    fn from_json(v: &Value) -> Result<Self, String> {
        let text = |key: &str| v[key].as_str().map(str::to_owned);
        Ok(Self {
            config: v["settings"].clone(),
            grid: v["grid"]
                .as_array()
                .ok_or("sweep.json has no grid")?
                .iter()
                .filter_map(|g| g.as_str().map(str::to_owned))
                .collect(),
            random: v["random"].as_u64().map(|n| n as usize),
            seed: v["seed"].as_u64().unwrap_or(0),
            objective: text("objective").ok_or("sweep.json has no objective")?,
            minimize: v["minimize"].as_bool().unwrap_or(false),
            blocks: v["blocks"].as_u64().map_or(16, |n| n as usize),
            shard: text("shard"),
        })
    }
}

/// `sweep.json`: the settings, the counts, the best member, PBO and DSR over `rows`, and the
/// walk-forward report when there is one.
#[must_use]
pub fn summary(
    settings: &Settings,
    rows: &[Row],
    walk_forward: Option<Value>,
    cancelled: &dyn Fn() -> bool,
) -> Value {
    let best = best_row(rows, &settings.objective, settings.minimize);
    let done: Vec<(usize, &[f64])> = rows
        .iter()
        .filter(|r| r.row.status == RunStatus::Completed)
        .map(|r| (r.row.index, r.daily.as_slice()))
        .collect();
    let (pbo, dsr) =
        sweep::diagnostics(&done, best.map(|b| b.0.row.index), settings.blocks, cancelled);
    json!({
        "settings": settings.config,
        "grid": settings.grid, "random": settings.random, "seed": settings.seed,
        "objective": settings.objective, "minimize": settings.minimize,
        "blocks": settings.blocks, "shard": settings.shard,
        "members": rows.len(),
        "completed": done.len(),
        "best": best.map(|(r, v)| json!({
            "index": r.row.index, "params": r.row.params, "objective": v,
        })),
        "pbo": pbo,
        "dsr": dsr,
        "walk_forward": walk_forward,
    })
}

/// The walk-forward report of `sweep.json` for `done` windows.
fn walk_forward_json(
    spec: (u32, u32, bool),
    done: &[sweep::WindowResult],
    initial: f64,
    minimize: bool,
) -> Value {
    let (train, test, anchored) = spec;
    let (equity, metrics) = stitched(done, initial);
    json!({
        "train_days": train, "test_days": test, "anchored": anchored,
        "windows": done.iter().map(|w| json!({
            "train": [w.window.train.0.to_string(), w.window.train.1.to_string()],
            "test": [w.window.test.0.to_string(), w.window.test.1.to_string()],
            "best": w.best.as_ref().map(|(index, params, value)| json!({
                "index": index, "params": params, "train_objective": value,
            })),
            "test_objective": w.test_objective,
            "final_equity": w.metrics.final_equity.map(cryptobt_domain::money::decimal_to_f64),
        })).collect::<Vec<_>>(),
        "efficiency": sweep::efficiency(done, minimize),
        "stitched": {
            "final_equity": metrics["final_equity"],
            "total_return": metrics["total_return"],
            "metrics": metrics,
            "equity": equity,
        },
    })
}

/// A finished sweep: its rows and `sweep.json`.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The parameter names.
    pub names: Vec<String>,
    /// One per member run, in index order.
    pub rows: Vec<Row>,
    /// `sweep.json`.
    pub summary: Value,
    /// Bars in the range (each member replayed them all).
    pub bars: usize,
    /// Why the sweep as a whole failed, with its files still written: every member failed (the
    /// lowest index's error), or the sweep-wide time limit stopped it.
    pub failure: Option<ServiceError>,
}

/// Runs `plan` of `request` over `market`'s bars on `request.threads` workers; `progress(done)`
/// after each member. `shard` is written into the settings as given.
///
/// # Errors
/// A [`ServiceError`] when the bars cannot be loaded.
pub fn run(
    request: &SweepRequest,
    plan: &Plan,
    shard: Option<String>,
    market: &dyn MarketData,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Outcome, ServiceError> {
    let config: &BacktestConfig = &request.config;
    let prepared = cryptobt_engine::Prepared::load(market, config)?;
    let strategies = cryptobt_sandbox::LuaStrategyFactory;
    let input = SweepInput {
        config,
        market: &prepared,
        strategies: &strategies,
        source: &request.strategy_code,
        limits: request.limits.clone(),
    };
    let threads = request.threads.max(1);
    let (timed_out, finished) = (AtomicBool::new(false), AtomicBool::new(false));
    let (rows, walk_forward) = std::thread::scope(|scope| {
        // The sweep-wide limit reaches the engine as its cancel flag (the engine keeps no clock).
        scope.spawn(|| {
            let deadline = std::time::Instant::now() + request.max_duration;
            while !finished.load(Ordering::Relaxed) {
                if std::time::Instant::now() >= deadline {
                    timed_out.store(true, Ordering::Relaxed);
                    request.limits.cancel.cancel();
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        // The first member runs alone first: a grid name it never reads fails the sweep before
        // the others run (a typo would otherwise sweep identical members).
        let Some(((index, params), rest)) = plan.members.split_first() else {
            return Ok((Vec::new(), None));
        };
        let first = sweep::run_member(&input, *index, params);
        progress(1);
        if first.status == RunStatus::Completed {
            let unused: Vec<&str> = plan
                .names
                .iter()
                .filter(|n| first.unused_params.contains(n))
                .map(String::as_str)
                .collect();
            if !unused.is_empty() {
                finished.store(true, Ordering::Relaxed);
                let reads = if first.params_read.is_empty() {
                    "no name".to_owned()
                } else {
                    first.params_read.join(", ")
                };
                return Err(ServiceError {
                    code: ErrorCode::InvalidArgument,
                    message: format!(
                        "--grid {}: the strategy never reads {} through params (it reads {reads})",
                        unused.join(", "),
                        if unused.len() == 1 { "this name" } else { "these names" },
                    ),
                });
            }
        }
        let mut results = vec![first];
        results.extend(sweep::run_members(&input, rest, threads, &|done| progress(done + 1)));
        let walk_forward = plan.walk.map(|spec| {
            let (train, test, anchored) = spec;
            let (start, end) = (config.start_date(), config.end_date());
            let windows = sweep::windows(start, end, train, test, anchored);
            let done = sweep::walk_forward(
                &input,
                &plan.members,
                threads,
                &windows,
                &request.objective,
                request.minimize,
            );
            let initial = cryptobt_domain::money::decimal_to_f64(config.initial_capital());
            walk_forward_json(spec, &done, initial, request.minimize)
        });
        finished.store(true, Ordering::Relaxed);
        Ok((results.into_iter().map(row_of).collect::<Vec<Row>>(), walk_forward))
    })?;
    let cancelled = || request.limits.cancel.is_cancelled();
    let summary = summary(&Settings::of(request, shard), &rows, walk_forward, &cancelled);
    let failure = if timed_out.load(Ordering::Relaxed) {
        Some(ServiceError {
            code: ErrorCode::TimeLimitExceeded,
            message: format!(
                "the sweep ran past its limit of {} s (max_sweep_duration); the files hold the \
                 {} members begun before it",
                request.max_duration.as_secs(),
                rows.len()
            ),
        })
    } else {
        all_failed(&rows)
    };
    Ok(Outcome { names: plan.names.clone(), rows, summary, bars: prepared.bars.len(), failure })
}

/// A sweep whose members all failed is failed itself, with the error of its lowest index.
fn all_failed(rows: &[Row]) -> Option<ServiceError> {
    if rows.is_empty() || rows.iter().any(|r| r.row.status != RunStatus::Failed) {
        return None;
    }
    let first = &rows[0];
    let code = first.row.error_code.unwrap_or(ErrorCode::RuntimeError);
    let message = first.message.clone().unwrap_or_else(|| code.to_string());
    Some(ServiceError {
        code,
        message: format!("every member failed; member {} (the first): {message}", first.row.index),
    })
}

/// The stitched out-of-sample equity, one point per test day (`[day, equity]`, starting with
/// the first test day's opening equity), and its metrics: those of DESIGN §7 that a daily series
/// defines (returns, volatility, Sharpe and Sortino ratios, drawdown, from the daily equity), and
/// the sums of the windows' fills, round trips and fees.
fn stitched(done: &[sweep::WindowResult], initial: f64) -> (Value, Value) {
    let mut points = Vec::new();
    let mut returns = Vec::new();
    let mut equity = initial;
    let (mut peak, mut drawdown) = (initial, 0.0f64);
    if let Some(first) = done.first() {
        let before = first.window.test.0 - chrono::Duration::days(1);
        points.push(json!([before.to_string(), equity]));
    }
    for w in done {
        for (k, r) in w.daily_returns.iter().enumerate() {
            equity *= 1.0 + r;
            returns.push(*r);
            peak = peak.max(equity);
            drawdown = drawdown.min((equity / peak - 1.0) * 100.0);
            let day = w.window.test.0 + chrono::Duration::days(k as i64);
            points.push(json!([day.to_string(), equity]));
        }
    }
    let last = done
        .iter()
        .rev()
        .find_map(|w| w.metrics.final_equity)
        .map_or(equity, cryptobt_domain::money::decimal_to_f64);
    let (volatility, sharpe_ratio, sortino_ratio) = cryptobt_engine::return_statistics(&returns);
    let sum =
        |f: fn(&cryptobt_domain::Metrics) -> f64| done.iter().map(|w| f(&w.metrics)).sum::<f64>();
    let metrics = json!({
        "days": returns.len(),
        "final_equity": last,
        "total_return": (last / initial - 1.0) * 100.0,
        "volatility": volatility,
        "sharpe_ratio": sharpe_ratio,
        "sortino_ratio": sortino_ratio,
        "max_drawdown": drawdown,
        "total_trades": sum(|m| m.total_trades as f64),
        "round_trips": sum(|m| m.round_trips as f64),
        "total_fees": sum(|m| cryptobt_domain::money::decimal_to_f64(m.total_fees)),
    });
    (Value::Array(points), metrics)
}

fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_created_by("cryptobt".to_owned())
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props))
        .map_err(|e| e.to_string())?;
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// `sweep.parquet`: `index`, one column per parameter (numbers, or text when any value is
/// text), every metric, `status`, `error_code`.
fn table_batch(names: &[String], rows: &[Row]) -> Result<RecordBatch, String> {
    let mut fields = vec![Field::new("index", DataType::UInt64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from(
        rows.iter().map(|r| r.row.index as u64).collect::<Vec<_>>(),
    ))];
    for name in names {
        let numeric =
            rows.iter().all(|r| !matches!(r.row.params.get(name), Some(ParamValue::Text(_))));
        if numeric {
            fields.push(Field::new(name, DataType::Float64, true));
            let values: Vec<Option<f64>> = rows
                .iter()
                .map(|r| match r.row.params.get(name) {
                    Some(ParamValue::Number(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            columns.push(Arc::new(Float64Array::from(values)));
        } else {
            fields.push(Field::new(name, DataType::Utf8, true));
            let values: Vec<Option<String>> = rows
                .iter()
                .map(|r| {
                    r.row.params.get(name).map(|v| match v {
                        ParamValue::Number(n) => n.to_string(),
                        ParamValue::Text(t) => t.clone(),
                    })
                })
                .collect();
            columns.push(Arc::new(StringArray::from(values)));
        }
    }
    for (k, def) in METRICS.iter().enumerate() {
        if def.unit == cryptobt_domain::MetricUnit::Count {
            // Counts are integers in the file.
            fields.push(Field::new(def.key, DataType::Int64, true));
            let values: Vec<Option<i64>> =
                rows.iter().map(|r| r.row.metrics[k].map(|v| v as i64)).collect();
            columns.push(Arc::new(Int64Array::from(values)));
        } else {
            fields.push(Field::new(def.key, DataType::Float64, true));
            let values: Vec<Option<f64>> = rows.iter().map(|r| r.row.metrics[k]).collect();
            columns.push(Arc::new(Float64Array::from(values)));
        }
    }
    fields.push(Field::new("status", DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from(
        rows.iter().map(|r| r.row.status.as_str()).collect::<Vec<_>>(),
    )));
    fields.push(Field::new("error_code", DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from(
        rows.iter().map(|r| r.row.error_code.map(ErrorCode::as_str)).collect::<Vec<_>>(),
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// `returns.parquet`: `index`, `day` (0 = the first day of the range) and `return`, one row per
/// completed member and day.
fn returns_batch(rows: &[Row]) -> Result<RecordBatch, String> {
    let (mut index, mut day, mut value) = (Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        for (d, x) in r.daily.iter().enumerate() {
            index.push(r.row.index as u64);
            day.push(u32::try_from(d).unwrap_or(u32::MAX));
            value.push(*x);
        }
    }
    let schema = Schema::new(vec![
        Field::new("index", DataType::UInt64, false),
        Field::new("day", DataType::UInt32, false),
        Field::new("return", DataType::Float64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(index)),
        Arc::new(UInt32Array::from(day)),
        Arc::new(Float64Array::from(value)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| e.to_string())
}

/// Writes `sweep.parquet`, `returns.parquet` and `sweep.json` into `dir` (each atomically).
///
/// # Errors
/// A message naming the file that could not be written.
pub fn write(dir: &Path, names: &[String], rows: &[Row], summary: &Value) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let put = |name: &str, bytes: Result<Vec<u8>, String>| {
        let bytes = bytes.map_err(|e| format!("{name}: {e}"))?;
        cryptobt_data::write_atomic(&dir.join(name), &bytes).map_err(|e| format!("{name}: {e}"))
    };
    put("sweep.parquet", table_batch(names, rows).and_then(|b| parquet_bytes(&b)))?;
    put("returns.parquet", returns_batch(rows).and_then(|b| parquet_bytes(&b)))?;
    let text = serde_json::to_string_pretty(summary).unwrap_or_default() + "\n";
    put("sweep.json", Ok(text.into_bytes()))
}

/// Reads the Parquet file `name` in `dir`, refusing one whose footer claims more than
/// `max_rows` rows or more decoded bytes than such rows can take, and turning a panic of the
/// decoder on a damaged page into an error: a crafted or corrupt file never takes the process
/// down or makes it allocate what the footer claims. Errors name the file, never the folder.
fn read_batches(dir: &Path, name: &str, max_rows: u64) -> Result<Vec<RecordBatch>, String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = open_in(dir, name).map_err(|e| format!("{name}: {e}"))?;
    let length = file.metadata().map_err(|e| format!("{name}: {e}"))?.len();
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
        let meta = builder.metadata();
        let rows = u64::try_from(meta.file_metadata().num_rows()).unwrap_or(u64::MAX);
        if rows > max_rows {
            return Err(format!("claims {rows} rows; a sweep of this size has at most {max_rows}"));
        }
        let columns = meta.file_metadata().schema_descr().num_columns() as u64;
        let claimed: i64 = meta
            .row_groups()
            .iter()
            .flat_map(|g| g.columns())
            .map(|c| c.uncompressed_size().max(0))
            .sum();
        let bound =
            rows.saturating_mul(columns).saturating_mul(256).saturating_add(length) + (1 << 20);
        if u64::try_from(claimed).unwrap_or(u64::MAX) > bound {
            return Err(format!("claims {claimed} decoded bytes for {rows} rows"));
        }
        let reader = builder.build().map_err(|e| e.to_string())?;
        reader.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
    }));
    match decoded {
        Ok(Ok(batches)) => Ok(batches),
        Ok(Err(e)) => Err(format!("{name}: {e}")),
        Err(panic) => {
            Err(format!("{name} is damaged: {}", cryptobt_domain::panic_message(panic.as_ref())))
        }
    }
}

/// Opens the file `name` in the sweep folder `dir` without following a symbolic link.
fn open_in(dir: &Path, name: &str) -> std::io::Result<std::fs::File> {
    cryptobt_fs::check_no_links(dir, Path::new(name))?;
    std::fs::File::open(dir.join(name))
}

/// A metric column as f64: counts are integers in the file (older files wrote floats).
fn metric_values(batch: &RecordBatch, key: &str) -> Result<Vec<Option<f64>>, String> {
    let column =
        batch.column_by_name(key).ok_or_else(|| format!("sweep.parquet has no column {key:?}"))?;
    if let Some(c) = column.as_any().downcast_ref::<Float64Array>() {
        return Ok((0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i))).collect());
    }
    if let Some(c) = column.as_any().downcast_ref::<Int64Array>() {
        return Ok((0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i) as f64)).collect());
    }
    Err(format!("sweep.parquet's column {key:?} is not a number"))
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, String> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| format!("sweep.parquet has no column {name:?} of the expected type"))
}

fn status_of(text: &str) -> Result<RunStatus, String> {
    [RunStatus::Completed, RunStatus::Failed, RunStatus::Cancelled]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("{text:?} is not a member status"))
}

/// Reads the files of the sweep in `dir`: the parameter names, the rows and `sweep.json`; each
/// row's daily returns too (`returns.parquet`, what a merge needs) with `with_returns`.
///
/// # Errors
/// A message naming the file that is missing or malformed.
pub fn read(dir: &Path, with_returns: bool) -> Result<(Vec<String>, Vec<Row>, Value), String> {
    let text = open_in(dir, "sweep.json")
        .and_then(|mut f| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut f, &mut text).map(|_| text)
        })
        .map_err(|e| format!("sweep.json: {e}"))?;
    let summary: Value = serde_json::from_str(&text).map_err(|e| format!("sweep.json: {e}"))?;
    let members = summary["members"].as_u64().ok_or("sweep.json: no member count")?;
    let days = summary["settings"]["start_date"]
        .as_str()
        .zip(summary["settings"]["end_date"].as_str())
        .and_then(|(a, b)| {
            Some((a.parse::<chrono::NaiveDate>().ok()?, b.parse::<chrono::NaiveDate>().ok()?))
        })
        .map_or(0, |(a, b)| u64::try_from((b - a).num_days() + 1).unwrap_or(0));
    let settings = Settings::from_json(&summary)?;
    let names: Vec<String> = settings
        .grid
        .iter()
        .filter_map(|g| g.split_once('=').map(|(n, _)| n.trim().to_owned()))
        .collect();
    let mut rows = Vec::new();
    for batch in read_batches(dir, "sweep.parquet", members)? {
        let index = column::<UInt64Array>(&batch, "index")?;
        let status = column::<StringArray>(&batch, "status")?;
        let error = column::<StringArray>(&batch, "error_code")?;
        let metrics: Vec<Vec<Option<f64>>> =
            METRICS.iter().map(|d| metric_values(&batch, d.key)).collect::<Result<_, _>>()?;
        let params: Vec<(&String, &Arc<dyn Array>)> = names
            .iter()
            .map(|n| batch.column_by_name(n).map(|c| (n, c)))
            .collect::<Option<_>>()
            .ok_or("sweep.parquet lacks a parameter column")?;
        for i in 0..batch.num_rows() {
            let mut p = Params::new();
            for (name, col) in &params {
                if col.is_null(i) {
                    continue;
                }
                if let Some(numbers) = col.as_any().downcast_ref::<Float64Array>() {
                    p.insert((*name).clone(), ParamValue::Number(numbers.value(i)));
                } else if let Some(texts) = col.as_any().downcast_ref::<StringArray>() {
                    p.insert((*name).clone(), ParamValue::parse(texts.value(i)));
                }
            }
            rows.push(Row {
                row: SweepRow {
                    index: usize::try_from(index.value(i)).unwrap_or(usize::MAX),
                    params: p,
                    metrics: metrics.iter().map(|m| m[i]).collect(),
                    status: status_of(status.value(i))?,
                    error_code: (!error.is_null(i))
                        .then(|| ErrorCode::from_name(error.value(i)))
                        .flatten(),
                },
                daily: Vec::new(),
                message: None,
            });
        }
    }
    if with_returns && dir.join("returns.parquet").exists() {
        for batch in read_batches(dir, "returns.parquet", members.saturating_mul(days))? {
            let index = column::<UInt64Array>(&batch, "index")?;
            let value = column::<Float64Array>(&batch, "return")?;
            for i in 0..batch.num_rows() {
                let k = usize::try_from(index.value(i)).unwrap_or(usize::MAX);
                if let Ok(at) = rows.binary_search_by_key(&k, |r| r.row.index) {
                    rows[at].daily.push(value.value(i));
                }
            }
        }
    }
    Ok((names, rows, summary))
}

/// `cryptobt sweep merge`: joins the shards in `dirs` into the files one run of the whole sweep
/// writes. The shards must be of one sweep (same settings), together hold every member once,
/// and carry no walk-forward (it needs every member).
///
/// # Errors
/// A message naming the shard that does not fit.
pub fn merge(dirs: &[std::path::PathBuf], out: &Path) -> Result<(Vec<Row>, Value), String> {
    let mut names = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut settings: Option<Settings> = None;
    for dir in dirs {
        let (n, r, summary) = read(dir, true).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !summary["walk_forward"].is_null() {
            return Err(format!(
                "{}: a shard with walk-forward cannot be merged; run walk-forward without --shard",
                dir.display()
            ));
        }
        let mut s = Settings::from_json(&summary)?;
        s.shard = None;
        match &settings {
            None => {
                settings = Some(s);
                names = n;
            }
            Some(first) if *first != s => {
                return Err(format!("{} is a shard of another sweep", dir.display()));
            }
            Some(_) => {}
        }
        rows.extend(r);
    }
    let settings = settings.ok_or("sweep merge needs at least one shard folder")?;
    rows.sort_by_key(|r| r.row.index);
    if let Some(w) = rows.windows(2).find(|w| w[0].row.index == w[1].row.index) {
        return Err(format!("member {} is in more than one shard", w[0].row.index));
    }
    if let Some((k, r)) = rows.iter().enumerate().find(|(k, r)| r.row.index != *k) {
        return Err(format!(
            "member {k} is in no shard (the next is {}); merge every shard of the sweep",
            r.row.index
        ));
    }
    let summary = summary(&settings, &rows, None, &|| false);
    write(out, &names, &rows, &summary)?;
    Ok((rows, summary))
}

/// The sweep service over `market`: what the API runs sweeps with.
pub struct SweepRunner {
    market: Arc<dyn MarketData>,
}

impl SweepRunner {
    /// Sweeps over `market`'s bars.
    #[must_use]
    pub fn new(market: Arc<dyn MarketData>) -> Self {
        Self { market }
    }
}

impl SweepService for SweepRunner {
    fn plan(&self, request: &SweepRequest) -> Result<usize, PlanError> {
        plan(request).map(|p| p.members.len())
    }

    fn run(
        &self,
        request: &SweepRequest,
        dir: &Path,
        observer: &dyn RunObserver,
    ) -> Result<(), ServiceError> {
        let plan = plan(request)
            .map_err(|e| ServiceError { code: ErrorCode::InvalidStrategy, message: e.message })?;
        let total = plan.members.len() as u64;
        let progress = |done: usize| observer.on_progress(done as u64, total);
        let outcome = run(request, &plan, None, self.market.as_ref(), &progress)?;
        write(dir, &outcome.names, &outcome.rows, &outcome.summary)
            .map_err(|message| ServiceError { code: ErrorCode::StorageError, message })?;
        outcome.failure.map_or(Ok(()), Err)
    }

    fn read(&self, dir: &Path) -> Result<SweepTable, ServiceError> {
        let (names, rows, summary) = read(dir, false)
            .map_err(|message| ServiceError { code: ErrorCode::StorageError, message })?;
        let rows = rows.into_iter().map(|r| r.row).collect();
        Ok(SweepTable { summary: summary.to_string(), names, rows })
    }
}
