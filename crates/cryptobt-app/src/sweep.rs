//! `cryptobt sweep`: a parameter sweep in one process on every core (DESIGN §9, §11) — the bars
//! loaded once and shared, one Lua VM per member, members keeping no per-bar data — written as
//! `DIR/sweep.parquet` (one row per member) and `DIR/sweep.json` (settings, best, PBO, DSR).

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use clap::Args;
use cryptobt_domain::{
    ports::{BarQuery, MarketData, StrategyLimits},
    ParamValue, Params, RunStatus, TradingMode,
};
use cryptobt_engine::sweep::{self, MemberResult, SweepInput};
use indicatif::{ProgressBar, ProgressStyle};

use crate::backtest::RunArgs;

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    run: RunArgs,
    /// A parameter and its values, NAME=SPEC: `a:b:step` (inclusive) or `v1,v2,...`;
    /// with --random, `a:b` is a uniform range (integers when both ends are). Repeatable.
    #[arg(long = "grid", value_name = "NAME=SPEC", required = true)]
    grid: Vec<String>,
    /// Draw N members at random from the ranges instead of the whole grid.
    #[arg(long)]
    random: Option<usize>,
    /// Seed of the random draws.
    #[arg(long, default_value = "0")]
    seed: u64,
    /// The metric the best member has the most of (or the least, with --minimize).
    #[arg(long, default_value = "sharpe_ratio")]
    objective: String,
    /// The best member is the one with the least of the objective.
    #[arg(long)]
    minimize: bool,
    /// Walk-forward windows: `train=30d,test=7d[,anchored]` (DESIGN §11).
    #[arg(long)]
    walk_forward: Option<String>,
    /// Blocks of the PBO's cross-validation (even).
    #[arg(long, default_value = "16")]
    blocks: usize,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only the members with index mod N = I (`I/N`).
    #[arg(long)]
    shard: Option<String>,
    /// Where `sweep.parquet` and `sweep.json` go.
    #[arg(long)]
    out: PathBuf,
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

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The members: `(index, params)` of the whole grid or of the random draws.
fn members(args: &SweepArgs) -> Result<Vec<(usize, Params)>, String> {
    let mut specs = Vec::new();
    for raw in &args.grid {
        let (name, spec) =
            raw.split_once('=').ok_or_else(|| format!("--grid {raw:?} is not NAME=SPEC"))?;
        specs.push((name.trim().to_owned(), spec.trim().to_owned()));
    }
    let Some(n) = args.random else {
        let grid = specs
            .iter()
            .map(|(name, spec)| Ok((name.clone(), sweep::grid_values(spec)?)))
            .collect::<Result<Vec<_>, String>>()?;
        return Ok(sweep::grid_members(&grid).into_iter().enumerate().collect());
    };
    let mut ranges = Vec::new();
    for (name, spec) in &specs {
        let (a, b) = spec
            .split_once(':')
            .ok_or_else(|| format!("--grid {name}={spec}: with --random a SPEC is a:b"))?;
        let (a, b) = (a.trim(), b.trim());
        let integers = !a.contains('.') && !b.contains('.');
        let (lo, hi): (f64, f64) = (
            a.parse().map_err(|_| format!("{a:?} is not a number"))?,
            b.parse().map_err(|_| format!("{b:?} is not a number"))?,
        );
        if hi < lo {
            return Err(format!("--grid {name}={spec} ends before it starts"));
        }
        ranges.push((name.clone(), lo, hi, integers));
    }
    let mut rng = SplitMix(args.seed);
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

fn param_json(v: &ParamValue) -> serde_json::Value {
    match v {
        ParamValue::Number(n) => serde_json::json!(n),
        ParamValue::Text(t) => serde_json::json!(t),
    }
}

/// `sweep.parquet`: `index`, one column per parameter, every metric, `status`, `error_code`.
fn write_parquet(
    path: &std::path::Path,
    names: &[String],
    results: &[MemberResult],
) -> Result<(), String> {
    let mut fields = vec![Field::new("index", DataType::UInt64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from(
        results.iter().map(|r| r.index as u64).collect::<Vec<_>>(),
    ))];
    for name in names {
        let numeric =
            results.iter().all(|r| !matches!(r.params.get(name), Some(ParamValue::Text(_))));
        if numeric {
            fields.push(Field::new(name, DataType::Float64, true));
            let values: Vec<Option<f64>> = results
                .iter()
                .map(|r| match r.params.get(name) {
                    Some(ParamValue::Number(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            columns.push(Arc::new(Float64Array::from(values)));
        } else {
            fields.push(Field::new(name, DataType::Utf8, true));
            let values: Vec<Option<String>> = results
                .iter()
                .map(|r| {
                    r.params.get(name).map(|v| match v {
                        ParamValue::Number(n) => n.to_string(),
                        ParamValue::Text(t) => t.clone(),
                    })
                })
                .collect();
            columns.push(Arc::new(StringArray::from(values)));
        }
    }
    let metrics: Vec<serde_json::Value> =
        results.iter().map(|r| serde_json::to_value(&r.metrics).unwrap_or_default()).collect();
    for def in &cryptobt_domain::METRICS {
        fields.push(Field::new(def.key, DataType::Float64, true));
        let values: Vec<Option<f64>> = results
            .iter()
            .zip(&metrics)
            .map(|(r, m)| {
                (r.status != RunStatus::Failed || r.metrics != cryptobt_domain::Metrics::default())
                    .then(|| m[def.key].as_f64())
                    .flatten()
            })
            .collect();
        columns.push(Arc::new(Float64Array::from(values)));
    }
    fields.push(Field::new("status", DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from(
        results.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
    )));
    fields.push(Field::new("error_code", DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from(
        results.iter().map(|r| r.error_code.map(|c| c.as_str())).collect::<Vec<_>>(),
    )));
    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_created_by("cryptobt".to_owned())
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props))
        .map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    cryptobt_data::write_atomic(path, &bytes).map_err(|e| e.to_string())
}

pub(crate) fn run(args: &SweepArgs) -> ExitCode {
    let config = match crate::backtest::config(&args.run, &[]) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if cryptobt_domain::metric(&args.objective).is_none() {
        return fail(&format!(
            "--objective {:?} is not a metric (docs/metrics.md)",
            args.objective
        ));
    }
    let mut members = match members(args) {
        Ok(m) if !m.is_empty() => m,
        Ok(_) => return fail("the grid has no member"),
        Err(e) => return fail(&e),
    };
    if let Some(shard) = &args.shard {
        let parsed = shard
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)));
        match parsed {
            Some((i, n)) if n > 0 && i < n => members.retain(|(index, _)| index % n == i),
            _ => return fail(&format!("--shard {shard:?} is not I/N with 0 ≤ I < N")),
        }
    }
    let source = match cryptobt_app::read_text(&args.run.strategy) {
        Ok(s) => s,
        Err(e) => return fail(&e.chain()),
    };
    let settings =
        cryptobt_app::Settings { data_dir: args.run.data_dir.clone(), ..Default::default() };
    let market = cryptobt_app::market_data(&settings, Arc::default());
    let query = BarQuery::of(&config);
    let bars = match market.bars(&query) {
        Ok(b) if !b.is_empty() => b,
        Ok(_) => return fail("no bars for the range"),
        Err(e) => return fail(&e.to_string()),
    };
    let funding = match config.trading_mode() {
        TradingMode::Futures => market
            .funding_rates(config.symbol(), config.start_date(), config.end_date())
            .ok()
            .flatten(),
        TradingMode::Spot => None,
    };
    let strategies = cryptobt_sandbox::LuaStrategyFactory;
    let input = SweepInput {
        config: &config,
        bars: &bars,
        funding: funding.as_deref(),
        strategies: &strategies,
        source: &source,
        limits: StrategyLimits {
            memory_bytes: args.run.memory_limit_mb.saturating_mul(1 << 20),
            max_duration: Duration::from_secs(args.run.max_duration),
            ..StrategyLimits::default()
        },
    };
    let walk = match args.walk_forward.as_deref().map(sweep::parse_walk_forward) {
        None => None,
        Some(Ok(spec)) => Some(spec),
        Some(Err(e)) => return fail(&e),
    };
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let bar = ProgressBar::new(members.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} members {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let began = std::time::Instant::now();
    let results =
        sweep::run_members(&input, &members, threads, &|done| bar.set_position(done as u64));
    bar.finish_and_clear();
    let elapsed = began.elapsed().as_secs_f64();
    let best = sweep::best(&results, &args.objective, args.minimize);
    let (pbo, dsr) = sweep::diagnostics(&results, best.map(|b| b.0.index), args.blocks);
    let walk_forward = walk.map(|(train, test, anchored)| {
        let windows = sweep::windows(config.start_date(), config.end_date(), train, test, anchored);
        let done = sweep::walk_forward(&input, &members, threads, &windows, &args.objective, args.minimize);
        let initial = cryptobt_domain::money::decimal_to_f64(config.initial_capital());
        let last = done.iter().rev().find_map(|w| w.final_equity).map(cryptobt_domain::money::decimal_to_f64);
        serde_json::json!({
            "train_days": train, "test_days": test, "anchored": anchored,
            "windows": done.iter().map(|w| serde_json::json!({
                "train": [w.window.train.0.to_string(), w.window.train.1.to_string()],
                "test": [w.window.test.0.to_string(), w.window.test.1.to_string()],
                "best": w.best.as_ref().map(|(index, params, value)| serde_json::json!({
                    "index": index,
                    "params": params.iter().map(|(k, v)| (k.clone(), param_json(v))).collect::<serde_json::Map<_, _>>(),
                    "train_objective": value,
                })),
                "test_objective": w.test_objective,
                "final_equity": w.final_equity.map(cryptobt_domain::money::decimal_to_f64),
            })).collect::<Vec<_>>(),
            "efficiency": sweep::efficiency(&done),
            "stitched": {
                "final_equity": last,
                "total_return": last.map(|f| (f / initial - 1.0) * 100.0),
            },
        })
    });
    let mut names: Vec<String> = args
        .grid
        .iter()
        .filter_map(|g| g.split_once('=').map(|(n, _)| n.trim().to_owned()))
        .collect();
    names.dedup();
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        return fail(&format!("{}: {e}", args.out.display()));
    }
    if let Err(e) = write_parquet(&args.out.join("sweep.parquet"), &names, &results) {
        return fail(&format!("sweep.parquet: {e}"));
    }
    let completed = results.iter().filter(|r| r.status == RunStatus::Completed).count();
    let summary = serde_json::json!({
        "settings": cryptobt_domain::ConfigFile::from_record(&cryptobt_domain::ports::RunRecord {
            backtest_id: cryptobt_domain::BacktestId::parse("bt_20000101_000000_sweep0").unwrap_or_else(|_| cryptobt_domain::BacktestId::with_seed(chrono::NaiveDate::default().and_hms_opt(0, 0, 0).unwrap_or_default(), 0)),
            created_at: chrono::DateTime::<chrono::Utc>::default(),
            strategy_code: source.clone(),
            config: config.clone(),
            status: RunStatus::Completed,
            error: None,
        }),
        "grid": args.grid, "random": args.random, "seed": args.seed,
        "objective": args.objective, "minimize": args.minimize, "blocks": args.blocks, "shard": args.shard,
        "members": results.len(),
        "completed": completed,
        "best": best.map(|(r, v)| serde_json::json!({
            "index": r.index,
            "params": r.params.iter().map(|(k, v)| (k.clone(), param_json(v))).collect::<serde_json::Map<_, _>>(),
            "objective": v,
        })),
        "pbo": pbo,
        "dsr": dsr,
        "walk_forward": walk_forward,
    });
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
    if let Err(e) = cryptobt_data::write_atomic(&args.out.join("sweep.json"), text.as_bytes()) {
        return fail(&format!("sweep.json: {e}"));
    }
    let bars_total = bars.len() as f64 * results.len() as f64;
    eprintln!(
        "{} members ({} completed) over {} bars in {:.2} s on {} threads: {:.0} bars/s summed over members",
        results.len(), completed, bars.len(), elapsed, threads, bars_total / elapsed.max(1e-9)
    );
    let mut ranked: Vec<(&MemberResult, f64)> = results
        .iter()
        .filter(|r| r.status == RunStatus::Completed)
        .filter_map(|r| sweep::objective(&r.metrics, &args.objective).map(|v| (r, v)))
        .collect();
    ranked.sort_by(|a, b| {
        let by = a.1.total_cmp(&b.1);
        (if args.minimize { by } else { by.reverse() }).then(a.0.index.cmp(&b.0.index))
    });
    println!(
        "top {} by {}{}:",
        ranked.len().min(10),
        args.objective,
        if args.minimize { " (lowest)" } else { "" }
    );
    for (r, v) in ranked.iter().take(10) {
        let params: Vec<String> =
            r.params.iter().map(|(k, v)| format!("{k}={}", param_json(v))).collect();
        println!("  #{:<6} {:>12.4}  {}", r.index, v, params.join(" "));
    }
    println!(
        "PBO {}  DSR {}",
        pbo.map_or("—".to_owned(), |p| format!("{p:.3}")),
        dsr.map_or("—".to_owned(), |d| format!("{d:.3}"))
    );
    println!("files: {}", args.out.display());
    ExitCode::SUCCESS
}
