//! `cryptobt data verify|convert|download`.

use cryptobt_app::AppError;
use std::{path::PathBuf, process::ExitCode};

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use cryptobt_data::{
    convert, download, verify, ConvertOptions, DownloadOptions, DownloadProgress, InputKind,
    VerifyReport, BINANCE_ARCHIVE_URL,
};
use cryptobt_domain::{Symbol, Timeframe, TradingMode};
use indicatif::{ProgressBar, ProgressStyle};

/// The `data` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Check every data set: days, rows, gaps, duplicates, bad rows. Exits 1 on any problem.
    Verify(VerifyArgs),
    /// Import Binance's own kline, trades or aggTrades files (.csv or .zip) into the daily layout,
    /// with every higher timeframe.
    Convert(ConvertArgs),
    /// Download Binance's public kline (and, for futures, funding-rate) archives, verify each
    /// against its published checksum, and convert them into the data directory. Resumable.
    Download(DownloadArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DownloadArgs {
    /// Symbol, e.g. BTCUSDT.
    #[arg(long)]
    symbol: Symbol,
    /// spot or futures (USDT-margined).
    #[arg(long)]
    market: TradingMode,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    start: NaiveDate,
    /// Last day, YYYY-MM-DD (inclusive).
    #[arg(long)]
    end: NaiveDate,
    /// Kline interval to fetch; 1m also builds every higher timeframe.
    #[arg(long, default_value = "1m")]
    interval: Timeframe,
    /// Data directory to write into.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Where archives are kept between runs (default: DATA_DIR/.downloads).
    #[arg(long)]
    archive_dir: Option<PathBuf>,
    /// Skip the funding-rate archives (futures).
    #[arg(long)]
    no_funding: bool,
    /// Archive host.
    #[arg(long, default_value = BINANCE_ARCHIVE_URL)]
    base_url: String,
}

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// Input files, e.g. BTCUSDT-1m-2025-01.zip or ETHUSDT-trades-2025-01-15.csv.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Market the files belong to.
    #[arg(long)]
    market: TradingMode,
    /// Symbol (default: the first part of the first file name).
    #[arg(long)]
    symbol: Option<Symbol>,
    /// What the files hold: klines, trades or aggtrades (default: from the file name).
    #[arg(long, value_parser = ["klines", "trades", "aggtrades"])]
    kind: Option<String>,
    /// Kline interval (default: from the file name).
    #[arg(long)]
    interval: Option<Timeframe>,
    /// Data directory to write into.
    #[arg(long, default_value = "data")]
    out: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The data directory (default: the `data_dir` setting, `data`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Only this market (spot or futures); needs --symbol.
    #[arg(long, requires = "symbol")]
    market: Option<TradingMode>,
    /// Only this symbol; needs --market.
    #[arg(long, requires = "market")]
    symbol: Option<Symbol>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// List every problem (by default the first 20 of each set, then how many more there are).
    #[arg(long)]
    all: bool,
}

pub(crate) fn run(command: DataCommand) -> ExitCode {
    match command {
        DataCommand::Verify(args) => run_verify(&args),
        DataCommand::Convert(args) => run_convert(&args),
        DataCommand::Download(args) => run_download(args),
    }
}

/// An indicatif bar per archive on stderr (hidden when stderr is not a terminal).
struct Bars {
    bar: ProgressBar,
}

impl DownloadProgress for Bars {
    fn on_start(&self, name: &str, total: Option<u64>, resumed_from: u64) {
        self.bar.reset();
        self.bar.set_length(total.unwrap_or(0));
        self.bar.set_position(resumed_from);
        let verb = if resumed_from > 0 { "resuming" } else { "fetching" };
        self.bar.set_message(format!("{verb} {name}"));
    }
    fn on_bytes(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn on_done(&self, name: &str) {
        self.bar.println(format!("verified {name}"));
    }
    fn on_skip(&self, name: &str) {
        self.bar.println(format!("already verified {name}"));
    }
}

fn run_download(args: DownloadArgs) -> ExitCode {
    let archive_dir = args.archive_dir.unwrap_or_else(|| args.data_dir.join(".downloads"));
    let options = DownloadOptions {
        base_url: args.base_url,
        market: args.market,
        symbol: args.symbol,
        start: args.start,
        end: args.end,
        interval: args.interval,
        funding: !args.no_funding,
        out_root: args.data_dir,
        archive_dir,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = Bars { bar };
    let result = download(&options, &progress);
    progress.bar.finish_and_clear();
    match result {
        Ok(report) => {
            println!(
                "downloaded {} archive(s) ({} bytes), {} already present; wrote {} bars in {} files and {} funding file(s) under {}",
                report.downloaded,
                report.bytes,
                report.skipped,
                report.bars,
                report.files,
                report.funding_files,
                options.out_root.display()
            );
            for gap in &report.gaps {
                eprintln!("gap: {gap}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn convert_options(args: &ConvertArgs) -> Result<ConvertOptions, AppError> {
    let first = args.inputs[0].file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let symbol = match args.symbol {
        Some(s) => s,
        None => first.split('-').next().and_then(|s| s.parse().ok()).ok_or_else(|| {
            AppError::argument("--symbol", format!("cannot tell the symbol from {first:?}"))
        })?,
    };
    let guessed = InputKind::from_file_name(first);
    let kind = match (args.kind.as_deref(), args.interval) {
        (Some("trades"), _) => InputKind::Trades,
        (Some("aggtrades"), _) => InputKind::AggTrades,
        (_, Some(interval)) => InputKind::Klines(interval),
        (Some(_), None) => match guessed {
            Some(InputKind::Klines(tf)) => InputKind::Klines(tf),
            _ => {
                return Err(AppError::argument(
                    "--interval",
                    format!("cannot tell the kline interval from {first:?}"),
                ))
            }
        },
        (None, None) => guessed.ok_or_else(|| {
            AppError::argument(
                "--kind",
                format!(
                    "cannot tell what {first:?} holds; pass --kind and, for klines, --interval"
                ),
            )
        })?,
    };
    Ok(ConvertOptions { market: args.market, symbol, kind, out_root: args.out.clone() })
}

fn run_convert(args: &ConvertArgs) -> ExitCode {
    let options = match convert_options(args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("error: {}", e.chain());
            return ExitCode::from(2);
        }
    };
    let report = match convert(&args.inputs, &options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        let span =
            report.span.as_ref().map_or_else(String::new, |(a, b)| format!(" from {a} to {b}"));
        println!(
            "converted {} input rows into {} bars{span}: {} days, {} files under {}",
            report.input_rows,
            report.bars,
            report.days,
            report.files,
            options.out_root.display()
        );
        for gap in &report.gaps {
            eprintln!("gap: {gap}");
        }
    }
    ExitCode::SUCCESS
}

fn run_verify(args: &VerifyArgs) -> ExitCode {
    let only = args.market.zip(args.symbol);
    let data_dir = match cryptobt_app::Settings::with_data_dir(args.data_dir.as_deref()) {
        Ok(settings) => settings.data_dir,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match verify(&data_dir, only) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        print_report(&report, if args.all { usize::MAX } else { 20 });
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        if report.sets.is_empty() {
            eprintln!("error: no data sets under {}", data_dir.display());
        }
        ExitCode::from(1)
    }
}

fn print_report(report: &VerifyReport, shown: usize) {
    println!(
        "{:<8} {:<10} {:<4} {:<23} {:>5} {:>8} {:>8} {:>5} {:>5} {:>4}  status",
        "market", "symbol", "tf", "span", "days", "missing", "rows", "gaps", "dups", "bad"
    );
    for s in &report.sets {
        println!(
            "{:<8} {:<10} {:<4} {:<23} {:>5} {:>8} {:>8} {:>5} {:>5} {:>4}  {}",
            s.mode.as_str(),
            s.symbol.as_str(),
            s.timeframe.as_str(),
            format!("{}..{}", s.first_day, s.last_day),
            s.days,
            s.missing_days,
            s.rows,
            s.gaps,
            s.duplicates,
            s.bad_rows,
            if s.is_clean() { "ok" } else { "ERROR" }
        );
    }
    for f in &report.funding {
        let status = if f.problems.is_empty() { "ok" } else { "ERROR" };
        println!(
            "funding  {:<10} {} files, {} events  {status}",
            f.symbol.as_str(),
            f.files,
            f.events
        );
    }
    for s in report.sets.iter().filter(|s| !s.problems.is_empty()) {
        for p in s.problems.iter().take(shown) {
            eprintln!("error: {p}");
        }
        let more = (s.problems.len().saturating_sub(shown) as u64) + s.unlisted;
        if more > 0 {
            eprintln!(
                "error: … and {more} more problem(s) in {} {} {} (--all lists every one)",
                s.mode.as_str(),
                s.symbol.as_str(),
                s.timeframe.as_str()
            );
        }
    }
    for p in report.funding.iter().flat_map(|f| &f.problems) {
        eprintln!("error: {p}");
    }
}
