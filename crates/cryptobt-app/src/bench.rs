//! `cryptobt bench`: the end-to-end figure of the engine issue — the SMA crossover in Lua over two
//! years of 1m bars (1,051,200), load + run + metrics + files, in one process — with the
//! throughput and the peak memory (VmHWM) it took.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Instant,
};

use chrono::{Duration as Days, NaiveDate, Utc};
use clap::Args;
use cryptobt_data::{day_file_name, day_start_ms, write_atomic, BAR_HEADER};
use cryptobt_domain::{
    ports::{BacktestRequest, ResultStore, RunObserver, RunRecord, StrategyLimits},
    BacktestConfig, RunPipeline, RunStatus, Symbol, Timeframe, TradingMode,
};
use cryptobt_store::FileResultStore;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Days of synthetic 1m bars (730 = 1,051,200 bars).
    #[arg(long, default_value = "730")]
    days: u32,
    /// Working directory for the synthetic data and the result files.
    #[arg(long, default_value = "target/cryptobt-bench")]
    dir: PathBuf,
    /// The strategy to run.
    #[arg(long, default_value = "static/strategies/sma_crossover.lua")]
    strategy: PathBuf,
    /// Symbols in the run: 1 (BTCUSDT) or 2 (BTCUSDT and ETHUSDT, two synthetic series of the
    /// same length; the strategy trades the first).
    #[arg(long, default_value = "1", value_parser = clap::value_parser!(u8).range(1..=2))]
    symbols: u8,
}

/// The bench's symbols with the seed and the first price (in cents) of each series.
const SERIES: [(&str, u64, i64); 2] =
    [("BTCUSDT", 0x9e37_79b9_7f4a_7c15, 3_000_000), ("ETHUSDT", 0x2545_f491_4f6c_dd1d, 300_000)];

/// Writes `days` days of a seeded random walk (spot 1m) of `name` unless already there.
fn synthesize(
    root: &Path,
    start: NaiveDate,
    days: u32,
    (name, seed, first): (&str, u64, i64),
) -> Result<(), cryptobt_app::AppError> {
    let symbol = Symbol::new(name)?;
    let dir = root.join(format!("binance/spot/{name}/1m"));
    let mut state = seed;
    let mut cents: i64 = first;
    let mut text = String::with_capacity(1_440 * 60);
    for d in 0..days {
        let day = start + Days::days(i64::from(d));
        let path = dir.join(day_file_name(symbol, Timeframe::M1, day));
        if path.exists() {
            continue;
        }
        text.clear();
        text.push_str(BAR_HEADER);
        text.push('\n');
        let t0 = day_start_ms(day);
        for m in 0..1_440 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let open = cents;
            cents = (cents + (state % 4_001) as i64 - 2_000).max(100_000);
            let (hi, lo) =
                (open.max(cents) + (state % 700) as i64, open.min(cents) - (state % 500) as i64);
            let p = |c: i64| format!("{}.{:02}", c / 100, c % 100);
            let _ = writeln!(
                text,
                "{},{},{},{},{},{}",
                t0 + m * 60_000,
                p(open),
                p(hi),
                p(lo.max(1)),
                p(cents),
                1 + state % 50
            );
        }
        write_atomic(&path, text.as_bytes())?;
    }
    Ok(())
}

fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub(crate) fn run(args: &BenchArgs) -> ExitCode {
    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default();
    let end = start + Days::days(i64::from(args.days.max(1)) - 1);
    let data = args.dir.join("data");
    eprintln!("synthesizing {} days of 1m bars under {} (once) ...", args.days, data.display());
    let series = &SERIES[..usize::from(args.symbols)];
    for market in series {
        if let Err(e) = synthesize(&data, start, args.days, *market) {
            eprintln!("error: {}", e.chain());
            return ExitCode::from(2);
        }
    }
    let symbols: Vec<Symbol> =
        series.iter().filter_map(|(name, _, _)| Symbol::new(name).ok()).collect();
    let source = match cryptobt_app::read_text(&args.strategy) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.chain());
            return ExitCode::from(2);
        }
    };
    let symbol = Symbol::new("BTCUSDT").unwrap_or_else(|_| unreachable!("valid symbol"));
    let config = match BacktestConfig::builder(symbol, Timeframe::M1, start, end)
        .symbols(symbols.clone())
        .trading_mode(TradingMode::Spot)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let before = peak_memory_mb();
    let began = Instant::now();
    let settings = cryptobt_app::Settings { data_dir: data.clone(), ..Default::default() };
    let engine = Arc::new(cryptobt_app::engine(&settings));
    let store = Arc::new(FileResultStore::new(args.dir.join("results")));
    let request = BacktestRequest {
        config: config.clone(),
        strategy_code: source.clone(),
        limits: StrategyLimits::default(),
    };
    let record = RunRecord {
        backtest_id: store.new_id(),
        created_at: Utc::now(),
        strategy_code: source,
        config,
        status: RunStatus::Queued,
        error: None,
    };
    let replay = ReplayClock::default();
    let outcome = RunPipeline::new(engine, store).run(record, &request, &replay);
    let result = match (outcome.report, outcome.saved) {
        (Ok(report), Ok(())) => Ok(report),
        (Err(e), _) => Err(cryptobt_app::AppError::from(e).chain()),
        (_, Err(e)) => Err(cryptobt_app::AppError::from(e).chain()),
    };
    let elapsed = began.elapsed();
    match result {
        Ok(report) => {
            let bars = report.bars as f64;
            let (loop_bars, loop_secs) = replay.measured();
            println!(
                "bar loop alone: {loop_bars} bars in {loop_secs:.3} s = {:.0} bars/s (from the first progress report to the last)",
                loop_bars as f64 / loop_secs.max(f64::EPSILON),
            );
            let names: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
            println!(
                "lua {} over {} 1m bars of {}: status {}, {} fills; load + run + metrics + files in {:.3} s = {:.0} bars/s; peak memory {:.0} MB (before the run {:.0} MB)",
                args.strategy.display(),
                report.bars,
                names.join(" and "),
                report.status,
                report.trades.len(),
                elapsed.as_secs_f64(),
                bars / elapsed.as_secs_f64(),
                peak_memory_mb().unwrap_or(f64::NAN),
                before.unwrap_or(f64::NAN),
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Times the bar loop from its first progress report to its last: the replay alone, without
/// loading the data or writing the files.
#[derive(Default)]
struct ReplayClock {
    first: std::sync::Mutex<Option<(Instant, u64)>>,
    last: std::sync::Mutex<Option<(Instant, u64)>>,
}

impl ReplayClock {
    /// Bars and seconds between the first and the last report.
    fn measured(&self) -> (u64, f64) {
        let first = *self.first.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match (first, last) {
            (Some((t0, n0)), Some((t1, n1))) => (n1 - n0, (t1 - t0).as_secs_f64()),
            _ => (0, 0.0),
        }
    }
}

impl RunObserver for ReplayClock {
    fn on_progress(&self, done: u64, _total: u64) {
        let now = (Instant::now(), done);
        let mut first = self.first.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.is_none() {
            *first = Some(now);
        }
        *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
    }
}
