//! The `cryptobt` binary: parses the command line and wires the concrete adapters together.
//!
//! The subcommands of DESIGN §9 (`serve`, `backtest`, `validate`, `data`) arrive with the issues
//! that build them; until then the binary only describes itself.

use clap::Parser;

/// Backtest crypto trading strategies written in Lua over real Binance data.
#[derive(Debug, Parser)]
#[command(name = "cryptobt", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
