//! What a finished run reports: status, error, metrics and the recorded events.

use std::{collections::BTreeMap, fmt};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{BacktestConfig, FundingPayment, Snapshot, Trade};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Accepted, waiting for a worker.
    Queued,
    /// Replaying bars.
    Running,
    /// Finished every bar.
    Completed,
    /// Stopped by an error; see its [`RunError`].
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl RunStatus {
    /// The name used in JSON (`queued` ... `cancelled`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable code of a failed run (docs/strategy-api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The strategy does not parse.
    SyntaxError,
    /// The strategy parses but cannot run (no `on_data`, not a function...).
    InvalidStrategy,
    /// The strategy raised an error while running.
    RuntimeError,
    /// The wall-clock deadline passed.
    TimeLimitExceeded,
    /// The strategy's memory cap was hit.
    MemoryLimitExceeded,
    /// The run was cancelled.
    Cancelled,
    /// The market data could not be read.
    DataError,
    /// The process stopped while the run was queued or running.
    Interrupted,
    /// The run made more fills than the per-run limit allows.
    FillLimitExceeded,
    /// The run's results could not be written (a full or read-only results directory).
    StorageError,
    /// A bad argument: a sweep whose grid names a parameter the strategy never reads.
    InvalidArgument,
    /// A defect of cryptobt itself (a panic), recorded instead of taking the process down.
    InternalError,
}

impl ErrorCode {
    /// The code as written in JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SyntaxError => "syntax_error",
            Self::InvalidStrategy => "invalid_strategy",
            Self::RuntimeError => "runtime_error",
            Self::TimeLimitExceeded => "time_limit_exceeded",
            Self::MemoryLimitExceeded => "memory_limit_exceeded",
            Self::Cancelled => "cancelled",
            Self::DataError => "data_error",
            Self::Interrupted => "interrupted",
            Self::FillLimitExceeded => "fill_limit_exceeded",
            Self::StorageError => "storage_error",
            Self::InvalidArgument => "invalid_argument",
            Self::InternalError => "internal_error",
        }
    }
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 12] = [
        Self::SyntaxError,
        Self::InvalidStrategy,
        Self::RuntimeError,
        Self::TimeLimitExceeded,
        Self::MemoryLimitExceeded,
        Self::Cancelled,
        Self::DataError,
        Self::Interrupted,
        Self::FillLimitExceeded,
        Self::StorageError,
        Self::InvalidArgument,
        Self::InternalError,
    ];

    /// The code named `name` (as written in JSON).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// The text a panic carried (its `&str` or `String` payload), for the `internal_error` a job
/// records when it catches one.
#[must_use]
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a run failed: a stable code, a message (≤ 1 KiB, no server paths) and, for strategy
/// errors, the Lua line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong.
    pub message: String,
    /// The strategy line, when known.
    pub line: Option<u32>,
}

/// The performance metrics of docs/metrics.md. `None` (JSON `null`) where a value is undefined, never
/// NaN or infinity. Ratios and percentages are display statistics (f64); money is `Decimal`,
/// written to JSON as a number (the nearest f64) like every other metric.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    /// `(final / initial − 1) × 100`.
    pub total_return: Option<f64>,
    /// Equity at the last snapshot.
    #[serde(with = "crate::money::f64_option")]
    pub final_equity: Option<Decimal>,
    /// `((final / initial)^(365 / days) − 1) × 100`.
    pub annualized_return: Option<f64>,
    /// Sample standard deviation of daily returns × 100.
    pub volatility: Option<f64>,
    /// `mean / std × √365` of daily returns.
    pub sharpe_ratio: Option<f64>,
    /// `mean / downside deviation × √365`.
    pub sortino_ratio: Option<f64>,
    /// Worst `(equity / running max − 1) × 100`, ≤ 0.
    pub max_drawdown: Option<f64>,
    /// `volatility × √365`.
    #[serde(default)]
    pub annualized_volatility: Option<f64>,
    /// `annualized_return / |max_drawdown|`.
    #[serde(default)]
    pub calmar_ratio: Option<f64>,
    /// The longest time under a previous equity high, in days.
    #[serde(default)]
    pub max_drawdown_duration_days: Option<f64>,
    /// Number of fills, liquidations included.
    pub total_trades: u64,
    /// Number of finished round trips.
    #[serde(default)]
    pub round_trips: u64,
    /// Share of round trips with pnl > 0, × 100.
    pub win_rate: Option<f64>,
    /// Σ positive round-trip pnl / |Σ negative round-trip pnl|.
    pub profit_factor: Option<f64>,
    /// Mean round-trip pnl.
    #[serde(default, with = "crate::money::f64_option")]
    pub expectancy: Option<Decimal>,
    /// Mean positive round-trip pnl.
    #[serde(with = "crate::money::f64_option")]
    pub avg_win: Option<Decimal>,
    /// Mean negative round-trip pnl (a negative number).
    #[serde(with = "crate::money::f64_option")]
    pub avg_loss: Option<Decimal>,
    /// Best round-trip pnl, when > 0.
    #[serde(default, with = "crate::money::f64_option")]
    pub largest_win: Option<Decimal>,
    /// Worst round-trip pnl, when < 0.
    #[serde(default, with = "crate::money::f64_option")]
    pub largest_loss: Option<Decimal>,
    /// Mean bars from entry to exit of a round trip.
    #[serde(default)]
    pub avg_bars_held: Option<f64>,
    /// The longest run of round trips with pnl ≤ 0, in exit order.
    #[serde(default)]
    pub max_consecutive_losses: u64,
    /// Mean leverage of opening fills.
    #[serde(with = "crate::money::f64_option")]
    pub avg_leverage: Option<Decimal>,
    /// Highest leverage of opening fills.
    #[serde(with = "crate::money::f64_option")]
    pub max_leverage: Option<Decimal>,
    /// Number of liquidation fills.
    pub liquidations: u64,
    /// Σ |pnl| of liquidation fills.
    #[serde(with = "crate::money::f64_number")]
    pub liquidation_losses: Decimal,
    /// Σ fees of fills other than liquidations (the clearance is in `liquidation_losses`).
    #[serde(with = "crate::money::f64_number")]
    pub total_fees: Decimal,
    /// Σ funding payments (negative: paid).
    #[serde(with = "crate::money::f64_number")]
    pub total_funding: Decimal,
    /// `(last close / first close − 1) × 100`.
    pub benchmark_return: Option<f64>,
    /// Share of snapshots with an open position, × 100.
    pub exposure: Option<f64>,
    /// Bars whose outcome rested on which extreme came first (docs/design.md#the-bar-loop step 2).
    #[serde(default)]
    pub ambiguous_bars: u64,
    /// Per symbol, in the run's order: only in a run of several symbols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_symbol: Option<BySymbol>,
}

impl Metrics {
    /// The value of metric `key` as `metrics.json` writes it (money as its nearest f64, counts
    /// as numbers); `None` where it is null or `key` is not a metric ([`crate::METRICS`]).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<f64> {
        crate::MetricKey::parse(key).and_then(|k| self.value(k))
    }

    /// The value of metric `key` as `metrics.json` writes it (an exhaustive match: a metric
    /// added to the table needs its value here).
    #[must_use]
    pub fn value(&self, key: crate::MetricKey) -> Option<f64> {
        use crate::MetricKey as K;
        let money = |d: Option<Decimal>| d.map(crate::money::decimal_to_f64);
        let count = |n: u64| Some(n as f64);
        match key {
            K::TotalReturn => self.total_return,
            K::FinalEquity => money(self.final_equity),
            K::AnnualizedReturn => self.annualized_return,
            K::BenchmarkReturn => self.benchmark_return,
            K::Expectancy => money(self.expectancy),
            K::MaxDrawdown => self.max_drawdown,
            K::MaxDrawdownDurationDays => self.max_drawdown_duration_days,
            K::Volatility => self.volatility,
            K::AnnualizedVolatility => self.annualized_volatility,
            K::SharpeRatio => self.sharpe_ratio,
            K::SortinoRatio => self.sortino_ratio,
            K::CalmarRatio => self.calmar_ratio,
            K::Exposure => self.exposure,
            K::AvgLeverage => money(self.avg_leverage),
            K::MaxLeverage => money(self.max_leverage),
            K::RoundTrips => count(self.round_trips),
            K::WinRate => self.win_rate,
            K::ProfitFactor => self.profit_factor,
            K::AvgWin => money(self.avg_win),
            K::AvgLoss => money(self.avg_loss),
            K::LargestWin => money(self.largest_win),
            K::LargestLoss => money(self.largest_loss),
            K::AvgBarsHeld => self.avg_bars_held,
            K::MaxConsecutiveLosses => count(self.max_consecutive_losses),
            K::TotalTrades => count(self.total_trades),
            K::AmbiguousBars => count(self.ambiguous_bars),
            K::TotalFees => money(Some(self.total_fees)),
            K::TotalFunding => money(Some(self.total_funding)),
            K::Liquidations => count(self.liquidations),
            K::LiquidationLosses => money(Some(self.liquidation_losses)),
        }
    }

    /// Every metric's value in [`crate::METRICS`] order.
    #[must_use]
    pub fn values(&self) -> Vec<Option<f64>> {
        crate::MetricKey::ALL.iter().map(|k| self.value(*k)).collect()
    }
}

/// The figures of one symbol in a run of several (`metrics.json`'s `by_symbol`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SymbolMetrics {
    /// Its finished round trips.
    pub round_trips: u64,
    /// Share of its round trips with pnl > 0, × 100.
    pub win_rate: Option<f64>,
    /// Σ positive / |Σ negative| of its round-trip pnl.
    pub profit_factor: Option<f64>,
    /// Σ pnl of its finished round trips.
    #[serde(with = "crate::money::f64_number")]
    pub net_pnl: Decimal,
    /// Σ fees of its fills other than liquidations (an open position's included).
    #[serde(with = "crate::money::f64_number")]
    pub total_fees: Decimal,
    /// Σ its funding payments (an open position's included).
    #[serde(with = "crate::money::f64_number")]
    pub funding: Decimal,
    /// Its ambiguous bars.
    pub ambiguous_bars: u64,
}

/// [`SymbolMetrics`] for each symbol of a run, in the run's order; a JSON object keyed by
/// symbol (in that order).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BySymbol(pub Vec<(crate::Symbol, SymbolMetrics)>);

impl Serialize for BySymbol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (symbol, metrics) in &self.0 {
            map.serialize_entry(symbol.as_str(), metrics)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for BySymbol {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = BySymbol;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object keyed by symbol")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((symbol, metrics)) = map.next_entry()? {
                    entries.push((symbol, metrics));
                }
                Ok(BySymbol(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The end-of-run counters of `run.json` and the API besides the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunCounters {
    /// Bars whose outcome rested on which extreme came first.
    pub ambiguous_bars: u64,
    /// Limit and stop orders pending after the last bar (dropped).
    pub pending_at_end: u64,
    /// Market orders queued (`fill = next_open`) after the last bar (dropped).
    pub queued_at_end: u64,
    /// Whether a position was still open after the last bar.
    pub open_at_end: bool,
}

impl BacktestReport {
    /// The report's end-of-run counters.
    #[must_use]
    pub fn counters(&self) -> RunCounters {
        RunCounters {
            ambiguous_bars: self.ambiguous_bars,
            pending_at_end: self.pending_at_end,
            queued_at_end: self.dropped_orders,
            open_at_end: self.open_at_end,
        }
    }
}

/// How many orders were refused, by [`crate::Rejection::code`].
pub type RejectionCount = BTreeMap<String, u64>;

/// A position still open after the last bar (not a round trip; the round-trip metrics leave it
/// out), valued at the last close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenPosition {
    /// Its symbol.
    pub symbol: crate::Symbol,
    /// Signed size (long > 0).
    pub size: Decimal,
    /// Quantity-weighted entry price.
    pub entry_price: Decimal,
    /// `(last close − entry) × size`.
    pub unrealized_pnl: Decimal,
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// The settings of the run.
    pub config: BacktestConfig,
    /// Completed, failed or cancelled.
    pub status: RunStatus,
    /// Why it did not complete.
    pub error: Option<RunError>,
    /// The metrics over what was recorded.
    pub metrics: Metrics,
    /// Every fill in order.
    pub trades: Vec<Trade>,
    /// Every finished round trip, in exit order.
    pub round_trips: Vec<crate::RoundTrip>,
    /// One snapshot per bar processed, when the run kept them (a run that streamed them to a
    /// `SnapshotSink` leaves this empty).
    pub snapshots: Vec<Snapshot>,
    /// Bars processed (one snapshot each).
    pub bars: u64,
    /// Open times of the first and the last bar processed: the range the metrics cover (a
    /// failed or cancelled run stops before its end date). `None` when no bar was processed.
    pub covered: Option<(i64, i64)>,
    /// Every funding settlement in order.
    pub funding: Vec<FundingPayment>,
    /// Refused orders by reason.
    pub rejections: RejectionCount,
    /// Orders still queued (`fill = next_open`) after the last bar.
    pub dropped_orders: u64,
    /// Limit and stop orders still pending after the last bar (dropped).
    pub pending_at_end: u64,
    /// Bars whose outcome rested on which extreme came first (docs/design.md#the-bar-loop step 2).
    pub ambiguous_bars: u64,
    /// Whether a position was still open after the last bar.
    pub open_at_end: bool,
    /// The positions still open after the last bar.
    pub open_positions: Vec<OpenPosition>,
    /// Funding times of the run (futures) that the published rates do not list, settled at the
    /// config's `funding_rate` instead (a month without a funding file, say).
    pub funding_fallbacks: u64,
    /// The names among the run's params that the strategy never read (sorted; empty when it
    /// read them all or cannot tell).
    pub unused_params: Vec<String>,
    /// Every name the strategy read from `params` (sorted), also names it was not given.
    pub params_read: Vec<String>,
    /// The strategy's log lines.
    pub log: Vec<String>,
    /// The strategy's `plot` series.
    pub plots: Vec<crate::PlotSeries>,
    /// Each UTC day's return (its last equity over the previous day's; the first day's over the
    /// initial capital): what volatility, Sharpe and Sortino are computed from, and what a
    /// sweep's overfitting diagnostics use.
    #[serde(skip)]
    pub daily_returns: Vec<f64>,
}
