//! The cryptobt engine: replays bars through a `Strategy`, applies funding, liquidation and fills
//! to the domain's `Portfolio` in the exact order of docs/design.md#the-bar-loop, and computes the metrics of docs/metrics.md.
//!
//! It does no IO and never reads the clock: bars, funding rates and strategies arrive through
//! `cryptobt_domain::ports`, and [`Engine`] implements the `BacktestService` port over them. A
//! Rust user can also drive [`Backtest`] directly with a native strategy — see
//! `examples/sma_crossover.rs`.

mod context;
mod intrabar;
mod metrics;
mod prepare;
mod run;
mod service;
pub mod sweep;
pub mod sweeper;

pub use crate::{
    metrics::return_statistics,
    prepare::{Prepared, PreparedFeed},
    run::{failed_before_start, funding_times, Backtest, Feed, FUNDING_INTERVAL_MS},
    service::{check_minutes, Engine, MissingMinute},
    sweeper::SweepEngine,
};
