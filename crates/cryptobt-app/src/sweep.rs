//! `cryptobt sweep`: a parameter sweep in one process on every core (DESIGN §9, §11) — the bars
//! loaded once and shared, one Lua VM per member, members keeping no per-bar data — written as
//! `DIR/sweep.parquet` (one row per member), `DIR/returns.parquet` and `DIR/sweep.json`
//! ([`cryptobt_app::sweeps`]); `cryptobt sweep merge` joins shards.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Subcommand};
use cryptobt_app::sweeps::{self, Row};
use cryptobt_domain::{
    ports::{StrategyLimits, SweepRequest},
    ParamValue, RunStatus,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::backtest::RunArgs;

#[derive(Debug, Args)]
#[command(
    allow_negative_numbers = true,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub(crate) struct SweepArgs {
    #[command(subcommand)]
    command: Option<SweepCommand>,
    #[command(flatten)]
    run: Option<RunArgs>,
    /// A parameter and its values, NAME=SPEC: `a:b:step` (inclusive) or `v1,v2,...`;
    /// with --random, `a:b` is a uniform range (integers when both ends are). Repeatable.
    #[arg(long = "grid", value_name = "NAME=SPEC")]
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
    /// Wall-clock limit of the whole sweep in seconds (default: the setting
    /// `CRYPTOBT_MAX_SWEEP_DURATION`, else 21600): past it the sweep stops as failed with the
    /// members finished so far.
    #[arg(long)]
    max_sweep_duration: Option<u64>,
    /// Where `sweep.parquet`, `returns.parquet` and `sweep.json` go.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum SweepCommand {
    /// Join the folders of a sweep's shards into the files one run of the whole sweep writes.
    Merge {
        /// The shards' folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged files go.
        #[arg(long)]
        out: PathBuf,
    },
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn param_text(v: &ParamValue) -> String {
    match v {
        ParamValue::Number(n) => n.to_string(),
        ParamValue::Text(t) => format!("{t:?}"),
    }
}

/// The top ten by the objective, PBO and DSR, on stdout.
fn print_table(rows: &[Row], summary: &serde_json::Value, objective: &str, minimize: bool) {
    let k = cryptobt_domain::METRICS.iter().position(|d| d.key == objective).unwrap_or(0);
    let mut ranked: Vec<(&Row, f64)> = rows
        .iter()
        .filter(|r| r.row.status == RunStatus::Completed)
        .filter_map(|r| r.row.metrics[k].map(|v| (r, v)))
        .collect();
    ranked.sort_by(|a, b| {
        let by = a.1.total_cmp(&b.1);
        (if minimize { by } else { by.reverse() }).then(a.0.row.index.cmp(&b.0.row.index))
    });
    println!(
        "top {} by {objective}{}:",
        ranked.len().min(10),
        if minimize { " (lowest)" } else { "" }
    );
    for (r, v) in ranked.iter().take(10) {
        let params: Vec<String> =
            r.row.params.iter().map(|(k, v)| format!("{k}={}", param_text(v))).collect();
        println!("  #{:<6} {:>12.4}  {}", r.row.index, v, params.join(" "));
    }
    let figure = |key: &str| summary[key].as_f64().map_or("—".to_owned(), |p| format!("{p:.3}"));
    println!("PBO {}  DSR {}", figure("pbo"), figure("dsr"));
    print_walk_forward(&summary["walk_forward"]);
}

/// The walk-forward windows and the stitched out-of-sample result, when there are any.
fn print_walk_forward(walk: &serde_json::Value) {
    let Some(windows) = walk["windows"].as_array() else { return };
    println!("walk-forward ({} windows):", windows.len());
    for w in windows {
        let day = |k: &str, i: usize| w[k][i].as_str().unwrap_or("?").to_owned();
        let value =
            |v: &serde_json::Value| v.as_f64().map_or("—".to_owned(), |x| format!("{x:.4}"));
        println!(
            "  train {}..{}  test {}..{}  best #{}  train {}  test {}",
            day("train", 0),
            day("train", 1),
            day("test", 0),
            day("test", 1),
            w["best"]["index"].as_u64().map_or("—".to_owned(), |i| i.to_string()),
            value(&w["best"]["train_objective"]),
            value(&w["test_objective"]),
        );
    }
    let stitched = &walk["stitched"];
    let efficiency = match walk["efficiency"].as_f64() {
        Some(e) => format!("{e:.2}"),
        None => "— (null: the mean train objective is ≤ 0 or minimised)".to_owned(),
    };
    println!(
        "  out of sample: final equity {}  total return {}  efficiency {efficiency}",
        stitched["final_equity"].as_f64().map_or("—".to_owned(), |x| format!("{x:.2}")),
        stitched["total_return"].as_f64().map_or("—".to_owned(), |x| format!("{x:.2} %")),
    );
}

pub(crate) fn run(args: &SweepArgs) -> ExitCode {
    if let Some(SweepCommand::Merge { dirs, out }) = &args.command {
        return match sweeps::merge(dirs, out) {
            Ok((rows, summary)) => {
                let objective = summary["objective"].as_str().unwrap_or("sharpe_ratio");
                let minimize = summary["minimize"].as_bool().unwrap_or(false);
                print_table(&rows, &summary, objective, minimize);
                println!("files: {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        };
    }
    let (Some(run), Some(out)) = (&args.run, &args.out) else {
        return fail("a sweep needs the run flags (--strategy ...), --grid and --out");
    };
    let shard = match args.shard.as_deref().map(|text| {
        text.split_once('/')
            .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
            .filter(|(i, n)| i < n)
            .ok_or_else(|| format!("--shard {text:?} is not I/N with 0 ≤ I < N"))
    }) {
        None => None,
        Some(Ok(shard)) => Some(shard),
        Some(Err(e)) => return fail(&e),
    };
    let config = match crate::backtest::config(run, &[]) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let source = match cryptobt_app::read_text(&run.strategy) {
        Ok(s) => s,
        Err(e) => return fail(&e.chain()),
    };
    let request = SweepRequest {
        config,
        strategy_code: source,
        grid: args.grid.clone(),
        random: args.random,
        seed: args.seed,
        objective: args.objective.clone(),
        minimize: args.minimize,
        walk_forward: args.walk_forward.clone(),
        blocks: args.blocks,
        limits: StrategyLimits {
            memory_bytes: run.memory_limit_mb.saturating_mul(1 << 20),
            max_duration: Duration::from_secs(run.max_duration),
            ..StrategyLimits::default()
        },
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        max_duration: match max_sweep_duration(args.max_sweep_duration) {
            Ok(limit) => limit,
            Err(e) => return fail(&e),
        },
    };
    let mut plan = match sweeps::plan(&request) {
        Ok(p) => p,
        Err(e) => return fail(&e.message),
    };
    if let Some((i, n)) = shard {
        if plan.walk.is_some() {
            return fail("--walk-forward needs every member: run it without --shard");
        }
        plan.members.retain(|(index, _)| index % n == i);
    }
    let settings = cryptobt_app::Settings { data_dir: run.data_dir.clone(), ..Default::default() };
    let market = cryptobt_app::market_data(&settings, std::sync::Arc::default());
    let bar = ProgressBar::new(plan.members.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} members {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let cancel = request.limits.cancel.clone();
    if let Err(e) = ctrlc::set_handler(move || cancel.cancel()) {
        tracing::warn!("Ctrl-C will not cancel the sweep: {e}");
    }
    let began = std::time::Instant::now();
    let outcome = match sweeps::run(&request, &plan, args.shard.clone(), &market, &|done| {
        bar.set_position(done as u64);
    }) {
        Ok(o) => o,
        Err(e) => return fail(&e.message),
    };
    bar.finish_and_clear();
    let elapsed = began.elapsed().as_secs_f64();
    if let Err(e) = sweeps::write(out, &outcome.names, &outcome.rows, &outcome.summary) {
        return fail(&e);
    }
    let completed = outcome.summary["completed"].as_u64().unwrap_or(0);
    let bars_total = outcome.bars as f64 * outcome.rows.len() as f64;
    eprintln!(
        "{} members ({completed} completed) over {} bars in {elapsed:.2} s on {} threads: {:.0} bars/s summed over members",
        outcome.rows.len(),
        outcome.bars,
        request.threads,
        bars_total / elapsed.max(1e-9)
    );
    if request.limits.cancel.is_cancelled() {
        eprintln!(
            "cancelled: the files hold the {} members begun before it (those cut short as cancelled)",
            outcome.rows.len()
        );
    }
    print_table(&outcome.rows, &outcome.summary, &args.objective, args.minimize);
    println!("files: {}", out.display());
    if let Some(failure) = &outcome.failure {
        eprintln!("error: the sweep failed ({}): {}", failure.code, failure.message);
        return ExitCode::from(1);
    }
    if request.limits.cancel.is_cancelled() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `--max-sweep-duration`, else the setting `CRYPTOBT_MAX_SWEEP_DURATION`, else 6 hours.
fn max_sweep_duration(flag: Option<u64>) -> Result<Duration, String> {
    if let Some(secs) = flag {
        return Ok(Duration::from_secs(secs));
    }
    match std::env::var("CRYPTOBT_MAX_SWEEP_DURATION") {
        Ok(text) => text.trim().parse().map(Duration::from_secs).map_err(|_| {
            format!("CRYPTOBT_MAX_SWEEP_DURATION = {text:?} is not a number of seconds")
        }),
        Err(_) => Ok(cryptobt_domain::ports::DEFAULT_MAX_SWEEP_DURATION),
    }
}
