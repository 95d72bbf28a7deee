//! The core of cryptobt: market and trading types, the exact `Decimal` ledger of a spot or
//! isolated USDT-margined futures portfolio, the backtest configuration and report, and the
//! ports (traits) every other crate plugs into.
//!
//! This crate does no IO and never reads the clock: time arrives with bars, prices with bars or
//! fills, and every adapter (CSV loader, Lua sandbox, result store, HTTP server) lives in a crate
//! of its own behind a trait from [`ports`]. All ledger amounts are `rust_decimal::Decimal`;
//! f64 appears only where a strategy hands a number over, and is converted by the rule of
//! [`money::decimal_from_f64`].

mod config;
mod error;
mod id;
mod market;
mod metric_defs;
pub mod money;
mod orders;
mod params;
mod pipeline;
mod plot;
mod portfolio;
pub mod ports;
mod position;
mod record;
mod report;
mod round_trip;
mod sweep_spec;
mod symbol;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
mod trade;
pub mod views;

/// The types the public API takes, re-exported so that a user needs no version of their own:
/// money and quantities are [`Decimal`]s, ranges are [`NaiveDate`]s, times [`DateTime<Utc>`].
pub use chrono::{DateTime, NaiveDate, Utc};
pub use rust_decimal::Decimal;

pub use crate::{
    config::{
        BacktestConfig, BacktestConfigBuilder, ConfigPolicy, ConfigRanges, FillMode, Intrabar,
        Range, TradeLimits, MAX_SYMBOLS,
    },
    error::DomainError,
    id::BacktestId,
    market::{Bar, FundingRate, Timeframe, TradingMode},
    metric_defs::{metric, MetricDef, MetricGroup, MetricKey, MetricUnit, METRICS, METRIC_COUNT},
    orders::{
        check_price, check_tag, Armed, ExitKind, Exits, OrderBook, OrderKind, OrderOptions,
        OrderRequest, PendingOrder, Trailing, MAX_PENDING_ORDERS, MAX_TAG_BYTES,
    },
    params::{ParamValue, Params},
    pipeline::{storage_error, RunOutcome, RunPipeline},
    plot::{
        PlotPane, PlotRefusal, PlotSeries, Plots, MAX_PLOT_BYTES, MAX_PLOT_LEVELS,
        MAX_PLOT_NAME_BYTES, MAX_PLOT_POINTS, MAX_PLOT_SERIES,
    },
    portfolio::{
        liquidation_price, Fill, OrderSide, Portfolio, PortfolioRules, Rejection, SharedPortfolio,
    },
    position::Position,
    record::{ConfigFile, ConfigFileError},
    report::{
        panic_message, BacktestReport, BySymbol, ErrorCode, Metrics, OpenPosition, RejectionCount,
        RunCounters, RunError, RunStatus, SymbolMetrics,
    },
    round_trip::{trip_marks, RoundTrip, RoundTrips, TripMarks},
    sweep_spec::{
        parse_walk_forward, rank, values_of, Draws, ParamSpace, SweepParam, SweepSpec, SweepText,
        WalkForward, MAX_SWEEP_MEMBERS, MAX_SWEEP_MEMBER_DAYS, SWEEP_BLOCKS,
    },
    symbol::Symbol,
    trade::{ActionType, FundingPayment, OrderType, PositionType, Snapshot, Trade},
};
