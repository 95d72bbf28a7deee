//! The `cryptobt` binary: parses the command line, sets up logging and runs a subcommand.
//!
//! This is the only crate that names concrete adapters (the CSV loader, the result store, the Lua
//! sandbox, the engine, the server) and wires them together.

mod backtest;
mod bench;
mod data;
mod loadtest;
mod report;
mod serve;
mod soak;
mod sweep;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Backtest crypto trading strategies written in Lua over real Binance data.
#[derive(Debug, Parser)]
#[command(name = "cryptobt", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the web server: the browser frontend and the JSON API.
    Serve(serve::ServeArgs),
    /// Check, import and download market data.
    Data {
        #[command(subcommand)]
        command: data::DataCommand,
    },
    /// Measure the whole pipeline: a Lua SMA crossover over two years of synthetic 1m bars.
    Bench(bench::BenchArgs),
    /// Measure API latency under 32 connections while a backtest runs (server on loopback).
    Loadtest(loadtest::LoadArgs),
    /// Soak a server it starts itself with mixed valid, hostile and malformed traffic, then
    /// check memory, file descriptors, runs left behind and the files written.
    Soak(soak::SoakArgs),
    /// Run one backtest of a Lua strategy over the market data.
    Backtest(Box<backtest::BacktestArgs>),
    /// Check Lua strategies: syntax, entry points, top level; --run also runs them on shipped bars.
    Validate(validate::ValidateArgs),
    /// Sweep a strategy's parameters over a grid or random draws, on every core.
    Sweep(Box<sweep::SweepArgs>),
    /// Write one self-contained HTML report of a stored run (opens offline, no server).
    Report(report::ReportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRYPTOBT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Data { command } => data::run(command),
        Command::Validate(args) => validate::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Loadtest(args) => loadtest::run(&args),
        Command::Soak(args) => soak::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Sweep(args) => sweep::run(&args),
    }
}
