//! `cryptobt validate FILE.lua`: syntax and entry points, without running a bar.

use std::{path::PathBuf, process::ExitCode};

use clap::Args;
use cryptobt_domain::ports::StrategyFactory;
use cryptobt_sandbox::LuaStrategyFactory;

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The strategy file.
    file: PathBuf,
    /// Print the result as JSON: {"valid": bool, "error_code", "message", "line"}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &ValidateArgs) -> ExitCode {
    let source = match std::fs::read(&args.file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                eprintln!("error: {} is not UTF-8 text", args.file.display());
                return ExitCode::from(2);
            }
        },
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let result = LuaStrategyFactory.validate(&source);
    if args.json {
        let value = match &result {
            Ok(()) => {
                serde_json::json!({"valid": true, "error_code": null, "message": null, "line": null})
            }
            Err(e) => {
                serde_json::json!({"valid": false, "error_code": e.code, "message": e.message, "line": e.line})
            }
        };
        println!("{value}");
    } else {
        match &result {
            Ok(()) => println!("{}: ok", args.file.display()),
            Err(e) => {
                let at = e.line.map_or_else(String::new, |l| format!(":{l}"));
                eprintln!("{}{at}: {}: {}", args.file.display(), e.code, e.message);
            }
        }
    }
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
