//! The file result store of docs/results.md: `results/backtests/{backtest_id}/` with `config.json`,
//! `trades.csv`, `portfolio.csv` and `metrics.json` (plus `funding.csv`, `run.json` with the
//! rejections and counters, and `log.txt`). Every file is written to a temporary name and renamed;
//! `portfolio.csv` is streamed row by row while the run goes on.
//!
//! Runs are read back typed (the `csv` crate and serde, decimals exactly as written) and listed
//! from an index kept in memory (`index`), so a listing reads no run file. Nothing is read through
//! a symbolic link. The crate knows files and the domain, nothing of market data, Lua or HTTP.

mod errors;
mod files;
mod index;
mod portfolio;
mod read;
mod store;
mod sweeps;

pub use self::{
    files::{Rejections, RunFiles, RunSummary},
    portfolio::PortfolioWriter,
    store::{new_backtest_id, FileResultStore, Layout},
    sweeps::{read_summary, read_sweep, write_sweep, FileSweepStore, SweepFiles},
};

/// The header of `trades.csv`.
pub const TRADES_HEADER: &str =
    "timestamp,action,symbol,quantity,price,leverage,fee,position_type,pnl,order_type,tag,ambiguous";
/// The header of `trades.csv` of the first version (read back with `market` fills, no tags).
pub const TRADES_HEADER_V1: &str =
    "timestamp,action,symbol,quantity,price,leverage,fee,position_type,pnl";
/// The header of `portfolio.csv`.
pub const PORTFOLIO_HEADER: &str =
    "timestamp,portfolio_value,cash,unrealized_pnl,realized_pnl,margin_used,leverage_ratio";
/// The header of `round_trips.csv`.
pub const ROUND_TRIPS_HEADER: &str = "entry_time,exit_time,side,max_size,entry_price,exit_price,fees,funding,pnl,bars_held,exit_reason";
/// The header of `round_trips.csv` in a run of several symbols: `symbol` first.
pub const ROUND_TRIPS_SYMBOL_HEADER: &str = "symbol,entry_time,exit_time,side,max_size,entry_price,exit_price,fees,funding,pnl,bars_held,exit_reason";
/// The header of `plots.csv`.
pub const PLOTS_HEADER: &str = "series,pane,timestamp,value";
/// The header of `funding.csv`.
pub const FUNDING_CSV_HEADER: &str = "timestamp,symbol,rate,price,position_size,amount";
