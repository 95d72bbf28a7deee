//! The backtest-service port: run one backtest, with progress and snapshots streamed out.

use thiserror::Error;

use super::{strategy::StrategyLimits, Cause};
use crate::{BacktestConfig, BacktestReport, ErrorCode, Snapshot};

/// One backtest to run.
#[derive(Debug, Clone)]
pub struct BacktestRequest {
    /// The settings.
    pub config: BacktestConfig,
    /// The strategy source.
    pub strategy_code: String,
    /// The strategy's limits (and cancel flag).
    pub limits: StrategyLimits,
}

/// Receives a run's progress; methods default to no-ops.
pub trait RunObserver: Send + Sync {
    /// `done` of `total` bars are processed.
    fn on_progress(&self, done: u64, total: u64) {
        let _ = (done, total);
    }
}

/// Progress that goes nowhere.
impl RunObserver for () {}

/// Receives a run's snapshots as they are taken, one per bar (the `portfolio.csv` writer, or a
/// `Vec` that keeps them), so that a long run need not hold them all.
pub trait SnapshotSink {
    /// The snapshot at a bar's close.
    fn push(&mut self, snapshot: &Snapshot);

    /// Whether this sink reads the snapshots at all. When it does not, the engine skips building
    /// them and values only what the metrics need (equity, and whether anything is held): a
    /// sweep member or a benchmark pays for no column it never sees.
    fn wants_snapshots(&self) -> bool {
        true
    }
}

impl SnapshotSink for Vec<Snapshot> {
    fn push(&mut self, snapshot: &Snapshot) {
        Vec::push(self, snapshot.clone());
    }
}

/// Snapshots that go nowhere (metrics are still computed from every one).
impl SnapshotSink for () {
    fn push(&mut self, _: &Snapshot) {}

    fn wants_snapshots(&self) -> bool {
        false
    }
}

/// Why a run could not start (a run that starts and then fails is a report with status failed).
#[derive(Debug, Clone, Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The stable code (`data_error`, `syntax_error`, ...).
    pub code: ErrorCode,
    /// What went wrong, as the user is told it.
    pub message: String,
    /// The failure under it (a store's or a loader's error with its own causes), for logs.
    #[source]
    pub source: Option<Cause>,
}

impl ServiceError {
    /// An error of `code` with no cause under it.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), source: None }
    }

    /// An error of `code` caused by `source` (kept for [`std::error::Error::source`]).
    pub fn caused_by(
        code: ErrorCode,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self { code, message: message.into(), source: Some(std::sync::Arc::new(source)) }
    }
}

/// Two errors are equal when the user is told the same thing (the causes are for logs).
impl PartialEq for ServiceError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.message == other.message
    }
}

impl Eq for ServiceError {}

/// Runs backtests: loads the bars, builds the strategy, replays and measures.
pub trait BacktestService: Send + Sync {
    /// Runs one backtest to the end (or its failure), reporting progress to `observer` and
    /// every snapshot to `snapshots` (the report's own `snapshots` then stay empty).
    ///
    /// # Errors
    /// A [`ServiceError`] when the run cannot start.
    fn run(
        &self,
        request: &BacktestRequest,
        observer: &dyn RunObserver,
        snapshots: &mut dyn SnapshotSink,
    ) -> Result<BacktestReport, ServiceError>;
}
