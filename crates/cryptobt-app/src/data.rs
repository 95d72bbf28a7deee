//! `cryptobt data verify|convert|download`.

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand};
use cryptobt_data::{verify, VerifyReport};
use cryptobt_domain::{Symbol, TradingMode};

/// The `data` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Check every data set: days, rows, gaps, duplicates, bad rows. Exits 1 on any problem.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The data directory.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Only this market (spot or futures); needs --symbol.
    #[arg(long, requires = "symbol")]
    market: Option<TradingMode>,
    /// Only this symbol; needs --market.
    #[arg(long, requires = "market")]
    symbol: Option<Symbol>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: DataCommand) -> ExitCode {
    match command {
        DataCommand::Verify(args) => run_verify(&args),
    }
}

fn run_verify(args: &VerifyArgs) -> ExitCode {
    let only = args.market.zip(args.symbol);
    let report = match verify(&args.data_dir, only) {
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
        print_report(&report);
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        if report.sets.is_empty() {
            eprintln!("error: no data sets under {}", args.data_dir.display());
        }
        ExitCode::from(1)
    }
}

fn print_report(report: &VerifyReport) {
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
        for p in &s.problems {
            eprintln!("error: {p}");
        }
    }
    for p in report.funding.iter().flat_map(|f| &f.problems) {
        eprintln!("error: {p}");
    }
}
