//! `cryptobt sweep`: a parameter sweep in one process on every core (docs/design.md#sweeps) — the bars
//! loaded once and shared, one Lua VM per member, members keeping no per-bar data — written as
//! `DIR/sweep.parquet` (one row per member), `DIR/returns.parquet` and `DIR/sweep.json` by the
//! sweep store; `cryptobt sweep merge` joins shards ([`cryptobt_app::sweeps`]).

use cryptobt_domain::MetricUnit;
use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use clap::{Args, Subcommand};
use cryptobt_app::sweeps;
use cryptobt_domain::{
    ports::{
        RunObserver, Shard, StrategyLimits, SweepMember, SweepRequest, SweepService, SweepSummary,
    },
    ErrorCode, ParamValue, RunStatus, SweepSpec, SweepText,
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
    /// Walk-forward windows: `train=30d,test=7d[,anchored]` (docs/design.md#sweeps).
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

/// The top ten by the objective (the engine's one ranking), PBO and DSR, on stdout.
fn print_table(members: &[SweepMember], summary: &SweepSummary) {
    let (objective, minimize) = (summary.objective.as_str(), summary.minimize);
    let k = cryptobt_domain::METRICS.iter().position(|d| d.key == objective).unwrap_or(0);
    let unit = cryptobt_domain::METRICS[k].unit;
    let mut ranked: Vec<(&SweepMember, f64)> = members
        .iter()
        .filter(|m| m.row.status == RunStatus::Completed)
        .filter_map(|m| m.row.metrics[k].map(|v| (m, v)))
        .collect();
    ranked.sort_by(|a, b| {
        cryptobt_engine::sweeper::rank((a.1, a.0.row.index), (b.1, b.0.row.index), minimize)
    });
    println!(
        "top {} by {objective}{}:",
        ranked.len().min(10),
        if minimize { " (lowest)" } else { "" }
    );
    for (m, v) in ranked.iter().take(10) {
        let params: Vec<String> =
            m.row.params.iter().map(|(k, v)| format!("{k}={}", param_text(v))).collect();
        println!("  #{:<6} {:>14}  {}", m.row.index, unit.format(*v), params.join(" "));
    }
    let figure = |p: Option<f64>| p.map_or("—".to_owned(), |p| MetricUnit::Ratio.format(p));
    println!("PBO {}  DSR {}", figure(summary.pbo), figure(summary.dsr));
    if let Some(walk) = &summary.walk_forward {
        print_walk_forward(walk, unit);
    }
}

/// The walk-forward windows and the stitched out-of-sample result.
fn print_walk_forward(walk: &cryptobt_domain::ports::WalkForwardReport, unit: MetricUnit) {
    let value = |v: Option<f64>| v.map_or("—".to_owned(), |x| unit.format(x));
    println!("walk-forward ({} windows):", walk.windows.len());
    for w in &walk.windows {
        println!(
            "  train {}..{}  test {}..{}  best #{}  train {}  test {}",
            w.train[0],
            w.train[1],
            w.test[0],
            w.test[1],
            w.best.as_ref().map_or("—".to_owned(), |b| b.index.to_string()),
            value(w.best.as_ref().map(|b| b.train_objective)),
            value(w.test_objective),
        );
    }
    let efficiency = match walk.efficiency {
        Some(e) => format!("{e:.2}"),
        None => "— (null: the mean train objective is ≤ 0 or minimised)".to_owned(),
    };
    println!(
        "  out of sample: final equity {:.2}  total return {:.2} %  efficiency {efficiency}",
        walk.stitched.final_equity, walk.stitched.total_return,
    );
}

/// The progress bar as the engine's observer.
struct Progress(ProgressBar);

impl RunObserver for Progress {
    fn on_progress(&self, done: u64, _total: u64) {
        self.0.set_position(done);
    }
}

pub(crate) fn run(args: &SweepArgs) -> ExitCode {
    if let Some(SweepCommand::Merge { dirs, out }) = &args.command {
        return match sweeps::merge(dirs, out) {
            Ok(outcome) => {
                print_table(&outcome.members, &outcome.summary);
                println!("files: {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        };
    }
    let (Some(run), Some(out)) = (&args.run, &args.out) else {
        return fail("a sweep needs the run flags (--strategy ...), --grid and --out");
    };
    let shard = match args.shard.as_deref().map(|text| {
        text.split_once('/')
            .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
            .filter(|(i, n)| i < n)
            .map(|(part, count)| Shard { part, count })
            .ok_or_else(|| format!("--shard {text:?} is not I/N with 0 ≤ I < N"))
    }) {
        None => None,
        Some(Ok(shard)) => Some(shard),
        Some(Err(e)) => return fail(&e),
    };
    let config = match crate::backtest::config(run, &[]) {
        Ok(c) => c,
        Err(e) => return fail(&e.chain()),
    };
    let source = match cryptobt_app::read_text(&run.strategy) {
        Ok(s) => s,
        Err(e) => return fail(&e.chain()),
    };
    let days =
        u64::try_from((config.end_date() - config.start_date()).num_days() + 1).unwrap_or(u64::MAX);
    let text = SweepText {
        grid: &args.grid,
        random: args.random,
        seed: args.seed,
        objective: &args.objective,
        minimize: args.minimize,
        blocks: args.blocks,
        walk_forward: args.walk_forward.as_deref(),
    };
    let spec = match SweepSpec::parse(&text, days) {
        Ok(spec) => spec,
        Err(e) => return fail(&format!("--{}: {}", flag_of(e.field), e.message)),
    };
    if shard.is_some() && spec.walk_forward.is_some() {
        return fail("--walk-forward needs every member: run it without --shard");
    }
    let settings = match cryptobt_app::Settings::with_data_dir(run.data_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let request = SweepRequest {
        config,
        strategy_code: source,
        spec,
        limits: StrategyLimits {
            memory_bytes: run.memory_limit_mb.saturating_mul(1 << 20),
            max_duration: Duration::from_secs(run.max_duration),
            ..StrategyLimits::default()
        },
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        // `--max-sweep-duration`, else the setting (`CRYPTOBT_MAX_SWEEP_DURATION`, 6 h).
        max_duration: Duration::from_secs(
            args.max_sweep_duration.unwrap_or(settings.max_sweep_duration_secs),
        ),
    };
    let market = Arc::new(cryptobt_app::market_data(&settings, Arc::default()));
    let engine =
        cryptobt_engine::SweepEngine::new(market, Arc::new(cryptobt_sandbox::LuaStrategyFactory));
    let planned = match engine.plan(&request) {
        Ok(n) => shard.map_or(n, |s| (0..n).filter(|i| i % s.count == s.part).count()),
        Err(e) => return fail(&format!("--{}: {}", flag_of(e.field), e.message)),
    };
    let bar = ProgressBar::new(planned as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} members {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let cancel = request.limits.cancel.clone();
    if let Err(e) = ctrlc::set_handler(move || cancel.cancel()) {
        tracing::warn!("Ctrl-C will not cancel the sweep: {e}");
    }
    let began = std::time::Instant::now();
    let progress = Progress(bar);
    let outcome = match engine.run(&request, shard, &progress) {
        Ok(o) => o,
        Err(e) if e.code == ErrorCode::DataError || e.code == ErrorCode::InvalidArgument => {
            return fail(&e.message)
        }
        Err(e) => {
            eprintln!("error: the sweep failed ({}): {}", e.code, e.message);
            return ExitCode::from(1);
        }
    };
    progress.0.finish_and_clear();
    let elapsed = began.elapsed().as_secs_f64();
    if let Err(e) = cryptobt_store::write_sweep(out, &outcome) {
        return fail(&e.to_string());
    }
    let completed = outcome.summary.completed;
    let bars_total = outcome.bars as f64 * outcome.members.len() as f64;
    eprintln!(
        "{} members ({completed} completed) over {} bars in {elapsed:.2} s on {} threads: {:.0} bars/s summed over members",
        outcome.members.len(),
        outcome.bars,
        request.threads,
        bars_total / elapsed.max(1e-9)
    );
    if request.limits.cancel.is_cancelled() {
        eprintln!(
            "cancelled: the files hold the {} members begun before it (those cut short as cancelled)",
            outcome.members.len()
        );
    }
    print_table(&outcome.members, &outcome.summary);
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

/// The CLI flag of a request field.
fn flag_of(field: &str) -> &str {
    match field {
        "walk_forward" => "walk-forward",
        other => other,
    }
}
