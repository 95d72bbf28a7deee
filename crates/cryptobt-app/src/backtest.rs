//! `cryptobt backtest`: one run from the command line, with exactly the flags, JSON output and
//! exit codes of docs/design.md#command-line.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use chrono::{NaiveDate, Utc};
use clap::Args;
use cryptobt_app::AppError;
use cryptobt_data::{BarCache, CsvMarketData};
use cryptobt_domain::{
    ports::{BacktestRequest, ResultStore, RunObserver, RunRecord, StrategyLimits},
    BacktestConfig, BacktestId, BacktestReport, FillMode, Intrabar, ParamValue, Params,
    RunPipeline, RunStatus, Symbol, Timeframe, TradingMode,
};
use cryptobt_store::FileResultStore;
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

/// The settings of one run, shared by `backtest` and `sweep` (docs/design.md#command-line).
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct RunArgs {
    /// The Lua strategy file.
    #[arg(long)]
    pub(crate) strategy: PathBuf,
    /// Symbol, e.g. BTCUSDT; several (1 to 8) repeated or comma-separated, the first the
    /// primary: --symbol BTCUSDT,ETHUSDT.
    #[arg(long, value_delimiter = ',', required = true)]
    pub(crate) symbol: Vec<Symbol>,
    /// Bar timeframe: 1m 5m 15m 1h 4h 1d.
    #[arg(long)]
    pub(crate) timeframe: Timeframe,
    /// First day, YYYY-MM-DD (UTC, inclusive).
    #[arg(long)]
    pub(crate) start: NaiveDate,
    /// Last day, YYYY-MM-DD (UTC, inclusive).
    #[arg(long)]
    pub(crate) end: NaiveDate,
    /// Starting cash in USDT.
    #[arg(long, default_value = "10000")]
    pub(crate) capital: Decimal,
    /// spot or futures.
    #[arg(long, default_value = "spot")]
    pub(crate) mode: TradingMode,
    /// Highest order leverage (1 in spot, 1..=100 in futures).
    #[arg(long, default_value = "1")]
    pub(crate) max_leverage: Decimal,
    /// Maintenance margin rate.
    #[arg(long, default_value = "0.005")]
    pub(crate) mmr: Decimal,
    /// Fee rate (default: spot 0.001, futures 0.0005).
    #[arg(long)]
    pub(crate) fee: Option<Decimal>,
    /// Maker fee rate: limit and take-profit fills on the path (default: spot 0.001, futures
    /// 0.0002).
    #[arg(long)]
    pub(crate) maker_fee: Option<Decimal>,
    /// Slippage in basis points.
    #[arg(long, default_value = "0")]
    pub(crate) slippage_bps: Decimal,
    /// When orders fill: close or next_open.
    #[arg(long, default_value = "close")]
    pub(crate) fill: FillMode,
    /// How a bar's inside is walked for pending orders and exits: bar (O → nearer extreme →
    /// other extreme → C) or 1m (the bar's 1m bars, each walked so).
    #[arg(long, default_value = "bar")]
    pub(crate) intrabar: Intrabar,
    /// Funding rate per 8 h when the data has no funding file.
    #[arg(long, default_value = "0")]
    pub(crate) funding_rate: Decimal,
    /// Wall-clock limit of the run in seconds.
    #[arg(long, default_value = "3600")]
    pub(crate) max_duration: u64,
    /// Memory limit of the strategy's VM in MiB.
    #[arg(long, default_value = "64")]
    pub(crate) memory_limit_mb: usize,
    /// The market data directory.
    /// (default: the `data_dir` setting, `data`).
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub(crate) struct BacktestArgs {
    #[command(flatten)]
    run: RunArgs,
    /// A strategy parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Write the result files into this directory (default: results/backtests/ID).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object to stdout instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Bad arguments or data: exit code 2 (docs/design.md#command-line). `code` is the `error_code` of `--json`:
/// `invalid_argument`, or `data_error` when the market data could not be read.
fn usage_error(args_json: bool, code: &str, message: &str) -> ExitCode {
    if args_json {
        let out = serde_json::json!({
            "status": "failed", "metrics": null, "trades": 0,
            "error_code": code, "error_message": message,
        });
        println!("{out}");
    }
    eprintln!("error: {message}");
    ExitCode::from(2)
}

const INVALID: &str = "invalid_argument";

/// After a data error: which markets do have this symbol and timeframe, and over which days,
/// so that the fix (`--mode futures`, another range, `--data-dir`) is plain.
fn data_hint(data_dir: &std::path::Path, config: &BacktestConfig) -> String {
    use cryptobt_domain::ports::MarketData;
    let market = CsvMarketData::new(data_dir, BarCache::new(1 << 20, vec![]));
    let sets = market.datasets().unwrap_or_default();
    let have: Vec<String> = sets
        .iter()
        .filter(|d| d.symbol == config.symbol() && d.timeframe == config.timeframe())
        .map(|d| {
            let flag = if d.mode == config.trading_mode() {
                String::new()
            } else {
                format!(" (--mode {})", d.mode)
            };
            format!("{} has {}..{}{flag}", d.mode, d.first_day, d.last_day)
        })
        .collect();
    if have.is_empty() {
        format!(
            "\nhint: {} has no {} {} data at all; point --data-dir at a folder that has it, or fetch it with `cryptobt data download`",
            data_dir.display(),
            config.symbol(),
            config.timeframe()
        )
    } else {
        format!("\nhint: {} {}: {}", config.symbol(), config.timeframe(), have.join("; "))
    }
}

fn params(raw: &[String]) -> Result<Params, AppError> {
    let mut out = Params::new();
    for p in raw {
        let (name, value) = p
            .split_once('=')
            .ok_or_else(|| AppError::argument("--param", format!("{p:?} is not NAME=VALUE")))?;
        out.insert(name.to_owned(), ParamValue::parse(value));
    }
    Ok(out)
}

/// The run's settings from the flags, with `raw_params` (`NAME=VALUE`).
pub(crate) fn config(args: &RunArgs, raw_params: &[String]) -> Result<BacktestConfig, AppError> {
    let primary = args
        .symbol
        .first()
        .copied()
        .ok_or_else(|| AppError::argument("--symbol", "give at least one"))?;
    let mut builder = BacktestConfig::builder(primary, args.timeframe, args.start, args.end)
        .symbols(args.symbol.clone())
        .initial_capital(args.capital)
        .trading_mode(args.mode)
        .max_leverage(args.max_leverage)
        .maintenance_margin_rate(args.mmr)
        .slippage_bps(args.slippage_bps)
        .fill(args.fill)
        .intrabar(args.intrabar)
        .funding_rate(args.funding_rate)
        .params(params(raw_params)?);
    if let Some(fee) = args.maker_fee {
        builder = builder.maker_fee_rate(fee);
    }
    if let Some(fee) = args.fee {
        builder = builder.fee_rate(fee);
    }
    Ok(builder.build()?)
}

/// An indicatif bar on stderr, drawn only for runs long enough to need one (and only on a
/// terminal).
struct Progress(ProgressBar);

impl RunObserver for Progress {
    fn on_progress(&self, done: u64, total: u64) {
        if total >= 200_000 {
            self.0.set_length(total);
            self.0.set_position(done);
        }
    }
}

pub(crate) fn run(args: &BacktestArgs) -> ExitCode {
    let config = match config(&args.run, &args.params) {
        Ok(config) => config,
        Err(e) => return usage_error(args.json, INVALID, &e.chain()),
    };
    let source = match cryptobt_app::read_text(&args.run.strategy) {
        Ok(source) => source,
        Err(e) => return usage_error(args.json, INVALID, &e.chain()),
    };
    let limits = StrategyLimits {
        memory_bytes: args.run.memory_limit_mb.saturating_mul(1 << 20),
        max_duration: Duration::from_secs(args.run.max_duration),
        ..StrategyLimits::default()
    };
    let store: Arc<dyn ResultStore> = match &args.out {
        Some(dir) => Arc::new(FileResultStore::single_folder(dir)),
        None => Arc::new(FileResultStore::new("results")),
    };
    let id = store.new_id();
    let files = match &args.out {
        Some(dir) => dir.clone(),
        None => PathBuf::from("results/backtests").join(id.as_str()),
    };
    let settings = match cryptobt_app::Settings::with_data_dir(args.run.data_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => return usage_error(args.json, INVALID, &e.to_string()),
    };
    let engine = Arc::new(cryptobt_app::engine(&settings));
    let request = BacktestRequest { config: config.clone(), strategy_code: source.clone(), limits };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} bars, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = Progress(bar);
    let record = RunRecord {
        backtest_id: id.clone(),
        created_at: Utc::now(),
        strategy_code: source,
        config: config.clone(),
        status: RunStatus::Queued,
        error: None,
    };
    let outcome = RunPipeline::new(engine, store).run(record, &request, &progress);
    progress.0.finish_and_clear();
    let report = match outcome.report {
        Ok(report) => report,
        Err(e) if e.code == cryptobt_domain::ErrorCode::DataError => {
            let hint = data_hint(&settings.data_dir, &config);
            return usage_error(args.json, e.code.as_str(), &format!("{}{hint}", e.message));
        }
        Err(e) => return usage_error(args.json, e.code.as_str(), &e.message),
    };
    if let Err(e) = outcome.saved {
        return usage_error(args.json, "storage_error", &format!("cannot write the results: {e}"));
    }
    print_outcome(args.json, &id, &files, &report);
    if report.status == RunStatus::Completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_outcome(json: bool, id: &BacktestId, files: &std::path::Path, report: &BacktestReport) {
    if json {
        let out = serde_json::json!({
            "status": if report.status == RunStatus::Completed { "completed" } else { "failed" },
            "metrics": report.metrics,
            "trades": report.trades.len(),
            "error_code": report.error.as_ref().map(|e| e.code),
            "error_message": report.error.as_ref().map(|e| &e.message),
            "backtest_id": id.as_str(),
            "files": files.display().to_string(),
            "rejections": report.rejections.values().sum::<u64>(),
            "round_trips": report.round_trips.len(),
            "queued_at_end": report.dropped_orders,
            "pending_at_end": report.pending_at_end,
            "ambiguous_bars": report.ambiguous_bars,
            "open_at_end": report.open_at_end,
            "covered": report.covered.map(|(first, last)| serde_json::json!({
                "first_bar": first, "last_bar": last, "bars": report.bars,
                "complete": report.status == RunStatus::Completed,
            })),
            "funding_fallbacks": report.funding_fallbacks,
            "unused_params": report.unused_params,
        });
        println!("{out}");
        return;
    }
    let c = &report.config;
    println!("backtest {id}: {}", report.status);
    println!(
        "  {} {} {} {}..{}, {} bars, capital {} USDT",
        c.trading_mode(),
        c.symbol(),
        c.timeframe(),
        c.start_date(),
        c.end_date(),
        report.bars,
        c.initial_capital()
    );
    if let Some(e) = &report.error {
        let line = e.line.map_or_else(String::new, |l| format!(" (line {l})"));
        println!("  error: {}{line}: {}", e.code, e.message);
    }
    if report.status != RunStatus::Completed {
        match report.covered {
            Some((first, last)) => println!(
                "  the metrics cover only {} to {} UTC ({} bars): the run stopped there",
                utc(first),
                utc(last),
                report.bars
            ),
            None => println!("  no bar was processed: the metrics are empty"),
        }
    }
    print_metrics(&report.metrics);
    let refused: u64 = report.rejections.values().sum();
    if refused > 0 {
        println!("  refused orders   {refused:>14}   {:?}", report.rejections);
    }
    if report.pending_at_end > 0 || report.dropped_orders > 0 {
        println!(
            "  left at the end  {:>14}   pending limit/stop orders, {} queued market orders (dropped)",
            report.pending_at_end, report.dropped_orders
        );
    }
    if report.ambiguous_bars > 0 {
        let hint = if c.intrabar() == Intrabar::Bar {
            "; --intrabar 1m settles them with the 1m bars"
        } else {
            ""
        };
        println!(
            "  ambiguous bars   {:>14}   an order or exit above and below the open: the nearer              extreme was taken to come first{hint}",
            report.ambiguous_bars
        );
    }
    if report.funding_fallbacks > 0 {
        println!(
            "  warning: {} funding time(s) are not in the funding data; they were settled at \
             the configured rate {} (--funding-rate)",
            report.funding_fallbacks,
            c.funding_rate()
        );
    }
    if !report.unused_params.is_empty() {
        println!(
            "  warning: the strategy never read --param {} (a typo?)",
            report.unused_params.join(", ")
        );
    }
    println!("  files: {}", files.display());
}

/// `ms` as `YYYY-MM-DD HH:MM`.
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// The metrics grouped as docs/metrics.md groups them (returns, risk, trades, costs), each with
/// its unit and, for money, its sign spelled out.
fn print_metrics(metrics: &cryptobt_domain::Metrics) {
    let mut group = None;
    let mut line = String::new();
    for def in &cryptobt_domain::METRICS {
        if group != Some(def.group) {
            if !line.is_empty() {
                println!("{line}");
                line.clear();
            }
            println!("  {}", def.group.title());
            group = Some(def.group);
        }
        let value = metrics.get(def.key);
        let (label, text) = shown(def, value);
        let cell = format!("    {label:<20}{text:>18}");
        if line.is_empty() {
            line = cell;
        } else {
            println!("{line}{cell}");
            line.clear();
        }
    }
    if !line.is_empty() {
        println!("{line}");
    }
}

/// A metric's label and value as the summary shows them.
fn shown(def: &cryptobt_domain::MetricDef, value: Option<f64>) -> (String, String) {
    use cryptobt_domain::MetricUnit;
    let Some(v) = value else { return (def.label.to_owned(), "—".to_owned()) };
    let money = |x: f64| format!("{} USDT", MetricUnit::Usdt.format(x));
    match def.unit {
        MetricUnit::Usdt if def.key == "total_funding" => {
            if v < 0.0 {
                ("Funding paid".to_owned(), money(-v))
            } else {
                ("Funding received".to_owned(), money(v))
            }
        }
        MetricUnit::Usdt => (def.label.to_owned(), money(v)),
        unit => (def.label.to_owned(), unit.format(v)),
    }
}
