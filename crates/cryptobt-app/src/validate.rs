//! `cryptobt validate FILE.lua ...`: each strategy's syntax, entry points and top level (run
//! under the limits), and with `--run` a short backtest over shipped bars to catch the errors
//! that only show on data.

use cryptobt_app::AppError;
use std::{path::PathBuf, process::ExitCode};

use chrono::NaiveDate;
use clap::Args;
use cryptobt_domain::{
    ports::{BacktestRequest, BacktestService, StrategyError, StrategyFactory, StrategyLimits},
    BacktestConfig, ErrorCode, RunStatus, Symbol, Timeframe, TradingMode,
};
use cryptobt_sandbox::LuaStrategyFactory;

/// What is checked, for the help text and the "ok" line.
const CHECKS: &str = "syntax, on_data (and initialize) defined as functions, the top level runs \
                      within 2 s and 64 MiB";

#[derive(Debug, Args)]
#[command(about = "Check strategies: syntax, entry points and top level; --run also runs them \
                   over a few hundred shipped bars")]
pub(crate) struct ValidateArgs {
    /// The strategy files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also run each strategy over the first 312 bars (13 days) of BTCUSDT 1h of the market
    /// chosen by --mode, to catch runtime errors.
    #[arg(long)]
    run: bool,
    /// The market --run uses: spot or futures (futures allows leverage up to 10).
    #[arg(long, default_value = "spot")]
    mode: TradingMode,
    /// The market data directory (for --run).
    /// (default: the `data_dir` setting, `data`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print one JSON object per file: {"file", "valid", "error_code", "message", "line"}.
    #[arg(long)]
    json: bool,
}

/// A check's outcome: valid, or the error with its code and line; plus what a run did.
struct Outcome {
    error: Option<StrategyError>,
    ran: Option<String>,
}

/// Runs `source` over the first 312 bars of the shipped data.
fn trial(source: &str, args: &ValidateArgs) -> Result<Outcome, AppError> {
    let day = |d| NaiveDate::from_ymd_opt(2025, 1, d).unwrap_or_default();
    let (start, end, leverage) = match args.mode {
        TradingMode::Spot => (day(1), day(13), 1),
        TradingMode::Futures => {
            let day = |d| NaiveDate::from_ymd_opt(2025, 5, d).unwrap_or_default();
            (day(5), day(17), 10)
        }
    };
    let symbol = Symbol::new("BTCUSDT")?;
    let config = BacktestConfig::builder(symbol, Timeframe::H1, start, end)
        .trading_mode(args.mode)
        .max_leverage(leverage.into())
        .build()?;
    let settings = cryptobt_app::Settings::with_data_dir(args.data_dir.as_deref())?;
    let engine = cryptobt_app::engine(&settings);
    let request = BacktestRequest {
        config,
        strategy_code: source.to_owned(),
        limits: StrategyLimits::default(),
    };
    let report = engine.run(&request, &(), &mut ()).map_err(|e| AppError::Lookup {
        what: "--run needs the shipped data".to_owned(),
        place: settings.data_dir.clone(),
        hint: "--data-dir sets where",
        source: Box::new(e.into()),
    })?;
    if report.status == RunStatus::Completed {
        let refused: u64 = report.rejections.values().sum();
        let ran = format!(
            "ran {} bars of {} BTCUSDT 1h without error ({} fills, {refused} refused orders)",
            report.bars,
            args.mode,
            report.trades.len()
        );
        return Ok(Outcome { error: None, ran: Some(ran) });
    }
    let error = report.error.map_or_else(
        || StrategyError {
            code: ErrorCode::RuntimeError,
            message: "the run failed".into(),
            line: None,
        },
        |e| StrategyError { code: e.code, message: e.message, line: e.line },
    );
    Ok(Outcome { error: Some(error), ran: None })
}

fn check(file: &std::path::Path, args: &ValidateArgs) -> Result<Outcome, AppError> {
    let source = cryptobt_app::read_text(file)?;
    if let Err(e) = LuaStrategyFactory.validate(&source) {
        return Ok(Outcome { error: Some(e), ran: None });
    }
    if args.run {
        return trial(&source, args);
    }
    Ok(Outcome { error: None, ran: None })
}

pub(crate) fn run(args: &ValidateArgs) -> ExitCode {
    let mut worst = 0u8;
    for file in &args.files {
        let outcome = match check(file, args) {
            Ok(outcome) => outcome,
            Err(e) => {
                eprintln!("error: {}", e.chain());
                worst = 2;
                continue;
            }
        };
        if outcome.error.is_some() {
            worst = worst.max(1);
        }
        let shown = file.display();
        if args.json {
            let value = match &outcome.error {
                None => {
                    serde_json::json!({"file": shown.to_string(), "valid": true, "error_code": null, "message": null, "line": null})
                }
                Some(e) => {
                    serde_json::json!({"file": shown.to_string(), "valid": false, "error_code": e.code, "message": e.message, "line": e.line})
                }
            };
            println!("{value}");
            continue;
        }
        match &outcome.error {
            None => {
                println!("{shown}: ok ({CHECKS})");
                if let Some(ran) = &outcome.ran {
                    println!("{shown}: {ran}");
                }
            }
            Some(e) => {
                let at = e.line.map_or_else(String::new, |l| format!(":{l}"));
                eprintln!("{shown}{at}: {}: {}", e.code, e.message);
            }
        }
    }
    ExitCode::from(worst)
}
