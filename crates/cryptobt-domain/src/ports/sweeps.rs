//! The sweep-service port: run a parameter sweep (DESIGN §11) into a folder and read it back.

use std::path::Path;

use super::{
    service::{RunObserver, ServiceError},
    strategy::StrategyLimits,
};
use crate::{BacktestConfig, ErrorCode, Params, RunStatus};

/// A sweep to run: the run settings every member starts from and the parameter space.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// The settings of every member (its params are added to these).
    pub config: BacktestConfig,
    /// The strategy source.
    pub strategy_code: String,
    /// The parameters and their values, `NAME=SPEC` as `--grid` takes them.
    pub grid: Vec<String>,
    /// Draw this many members at random from the ranges instead of the whole grid.
    pub random: Option<usize>,
    /// Seed of the random draws.
    pub seed: u64,
    /// The metric the best member is chosen by.
    pub objective: String,
    /// The best member has the least of the objective.
    pub minimize: bool,
    /// Walk-forward windows, `train=30d,test=7d[,anchored]`.
    pub walk_forward: Option<String>,
    /// Blocks of the PBO's cross-validation.
    pub blocks: usize,
    /// Each member's limits; the cancel token stops the whole sweep.
    pub limits: StrategyLimits,
    /// Worker threads.
    pub threads: usize,
    /// The sweep-wide wall-clock limit: past it the sweep stops as failed
    /// (`time_limit_exceeded`) with the rows of the members that finished.
    pub max_duration: std::time::Duration,
}

/// The sweep-wide wall-clock limit when none is set: 6 hours.
pub const DEFAULT_MAX_SWEEP_DURATION: std::time::Duration = std::time::Duration::from_secs(21_600);

/// Why a sweep request was refused: the request field at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    /// `grid`, `random`, `objective`, `blocks` or `walk_forward`.
    pub field: &'static str,
    /// What is wrong, naming the value.
    pub message: String,
}

impl PlanError {
    /// An error about `field`.
    #[must_use]
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// One member as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Its index.
    pub index: usize,
    /// Its params.
    pub params: Params,
    /// Every metric of [`crate::METRICS`], in that order (none where null).
    pub metrics: Vec<Option<f64>>,
    /// Completed, failed or cancelled.
    pub status: RunStatus,
    /// Why it did not complete.
    pub error_code: Option<ErrorCode>,
}

/// A finished sweep read back: `sweep.json` as written and the rows in index order.
#[derive(Debug, Clone)]
pub struct SweepTable {
    /// `sweep.json`, as JSON text.
    pub summary: String,
    /// The parameter names, in `--grid` order.
    pub names: Vec<String>,
    /// One row per member.
    pub rows: Vec<SweepRow>,
}

/// Runs sweeps and reads their files.
pub trait SweepService: Send + Sync {
    /// Checks `request` (grid, objective, walk-forward) and counts its members.
    ///
    /// # Errors
    /// A [`PlanError`] naming the field and the bad value.
    fn plan(&self, request: &SweepRequest) -> Result<usize, PlanError>;

    /// Runs `request`, reporting members done to `observer`, and writes its files into `dir`.
    /// A cancelled sweep writes the members finished before the cancel.
    ///
    /// # Errors
    /// A [`ServiceError`] when it cannot start (bad request, no data) or its files cannot be
    /// written.
    fn run(
        &self,
        request: &SweepRequest,
        dir: &Path,
        observer: &dyn RunObserver,
    ) -> Result<(), ServiceError>;

    /// Reads the files of the sweep in `dir`.
    ///
    /// # Errors
    /// A [`ServiceError`] (`storage_error`) when they are missing or unreadable.
    fn read(&self, dir: &Path) -> Result<SweepTable, ServiceError>;
}
