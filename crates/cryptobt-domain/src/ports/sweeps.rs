//! The sweep-service port: run a parameter sweep (docs/design.md#sweeps) into a folder and read it back.

use super::{
    service::{RunObserver, ServiceError},
    strategy::StrategyLimits,
};
use serde::{Deserialize, Serialize};

use crate::{BacktestConfig, ErrorCode, Params, RunStatus};

/// A sweep to run: the run settings every member starts from and the parameter space.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// The settings of every member (its params are added to these).
    pub config: BacktestConfig,
    /// The strategy source.
    pub strategy_code: String,
    /// The parameters, their spaces, the objective, the blocks and the walk-forward.
    pub spec: crate::SweepSpec,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// One member's result as a sweep keeps it: its row, its daily returns (what the diagnostics
/// and a merge read) and, when it failed, why in words (not written to the files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepMember {
    /// Index, params, metrics, status, error code.
    pub row: SweepRow,
    /// Each UTC day's return (completed members).
    pub daily: Vec<f64>,
    /// Why it failed.
    pub message: Option<String>,
}

/// The best member of `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestMember {
    /// Its index.
    pub index: usize,
    /// Its objective value.
    pub objective: f64,
    /// Its params.
    pub params: Params,
}

/// The best member of one walk-forward window's train days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowBest {
    /// Its index.
    pub index: usize,
    /// Its params.
    pub params: Params,
    /// Its objective on the train days.
    pub train_objective: f64,
}

/// One walk-forward window of `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// The best member on the train days.
    pub best: Option<WindowBest>,
    /// The test run's final equity.
    pub final_equity: Option<f64>,
    /// First and last test day.
    pub test: [String; 2],
    /// The objective of the test run.
    pub test_objective: Option<f64>,
    /// First and last train day.
    pub train: [String; 2],
}

/// The metrics of the stitched out-of-sample equity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StitchedMetrics {
    /// Test days stitched.
    pub days: usize,
    /// The last test run's final equity.
    pub final_equity: f64,
    /// The worst fall from a running high, in percent.
    pub max_drawdown: f64,
    /// Round trips of the test runs.
    pub round_trips: f64,
    /// Sharpe of the stitched daily returns.
    pub sharpe_ratio: Option<f64>,
    /// Sortino of the stitched daily returns.
    pub sortino_ratio: Option<f64>,
    /// Fees of the test runs.
    pub total_fees: f64,
    /// `(final / initial − 1) × 100`.
    pub total_return: f64,
    /// Fills of the test runs.
    pub total_trades: f64,
    /// Daily volatility of the stitched returns, in percent.
    pub volatility: Option<f64>,
}

/// The stitched out-of-sample equity: one point per test day (`[day, equity]`, starting with the
/// first test day's opening equity) and its metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stitched {
    /// `[day, equity]` points.
    pub equity: Vec<(String, f64)>,
    /// The last test run's final equity.
    pub final_equity: f64,
    /// Its metrics.
    pub metrics: StitchedMetrics,
    /// `(final / initial − 1) × 100`.
    pub total_return: f64,
}

/// The walk-forward report of `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkForwardReport {
    /// The train window grows from the start.
    pub anchored: bool,
    /// Mean test objective / mean train objective; null when the mean train objective is ≤ 0
    /// or the objective is minimised.
    pub efficiency: Option<f64>,
    /// The stitched out-of-sample equity.
    pub stitched: Stitched,
    /// Test days of a window.
    pub test_days: u32,
    /// Train days of a window.
    pub train_days: u32,
    /// The windows.
    pub windows: Vec<WindowReport>,
}

/// `sweep.json`: the settings, the counts, the best member, PBO and DSR, and the walk-forward.
/// Written with its keys in name order (as a JSON object of sorted keys), read back typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// The best member (failed members and null objectives never win; ties go to the lower
    /// index).
    pub best: Option<BestMember>,
    /// Blocks of the PBO's cross-validation.
    pub blocks: usize,
    /// Members that completed.
    pub completed: usize,
    /// The deflated Sharpe ratio of the best member.
    pub dsr: Option<f64>,
    /// `NAME=SPEC` of each parameter, as given.
    pub grid: Vec<String>,
    /// Members in the files.
    pub members: usize,
    /// The best member has the least of the objective.
    pub minimize: bool,
    /// The objective's metric key.
    pub objective: String,
    /// The probability of backtest overfitting.
    pub pbo: Option<f64>,
    /// `--random N`.
    pub random: Option<usize>,
    /// `--seed`.
    pub seed: u64,
    /// The run settings every member starts from, as `config.json` writes them (with the
    /// strategy's code; without a run's identity).
    pub settings: serde_json::Value,
    /// `I/N` of a shard.
    pub shard: Option<String>,
    /// The walk-forward report.
    pub walk_forward: Option<WalkForwardReport>,
}

impl SweepSummary {
    /// `sweep.json`'s text: pretty JSON with every object's keys in name order, and a newline.
    #[must_use]
    pub fn to_text(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    }
}

/// A finished sweep: its parameter names, its members in index order and `sweep.json`, and why
/// it failed as a whole (its files are written all the same): every member failed (the lowest
/// index's error), the sweep-wide time limit stopped it, or a grid name was never read.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// The parameter names.
    pub names: Vec<String>,
    /// One per member run, in index order.
    pub members: Vec<SweepMember>,
    /// `sweep.json`.
    pub summary: SweepSummary,
    /// Bars in the range (each member replayed them all).
    pub bars: usize,
    /// Why the sweep as a whole failed.
    pub failure: Option<ServiceError>,
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

/// Which members of a sweep to run: those with `index mod count = part`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, `0..count`.
    pub part: usize,
    /// How many shards.
    pub count: usize,
}

/// Runs sweeps: every member a plain run over the same prepared market, then the diagnostics.
pub trait SweepService: Send + Sync {
    /// Checks `request` against its range (caps, whole walk-forward windows) and counts its
    /// members.
    ///
    /// # Errors
    /// A [`PlanError`] naming the field and the bad value.
    fn plan(&self, request: &SweepRequest) -> Result<usize, PlanError>;

    /// Runs `request` (the members of `shard`, or all), reporting members done to `observer`.
    /// A cancelled sweep returns the members finished before the cancel.
    ///
    /// # Errors
    /// A [`ServiceError`] when it cannot start (a bad request, no data) or a grid name is never
    /// read by the strategy (`invalid_argument`).
    fn run(
        &self,
        request: &SweepRequest,
        shard: Option<Shard>,
        observer: &dyn RunObserver,
    ) -> Result<SweepOutcome, ServiceError>;
}

/// What the history lists of a sweep, and what it needs to open a member as a run:
/// `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepMeta {
    /// Its id.
    pub sweep_id: String,
    /// When it was submitted.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Queued, running, completed, failed or cancelled.
    pub status: RunStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// Why it failed, in words.
    pub error_message: Option<String>,
    /// The strategy's name.
    pub name: String,
    /// The symbol, or the symbols of a run of several joined by `+` (`BTCUSDT+ETHUSDT`).
    pub symbol: String,
    /// The timeframe.
    pub timeframe: String,
    /// Spot or futures.
    pub trading_mode: String,
    /// First day.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
    /// Members planned.
    pub members: usize,
    /// The objective's metric key.
    pub objective: String,
    /// The best member has the least of the objective.
    pub minimize: bool,
    /// `best` of `sweep.json` once it is written.
    pub best: Option<BestMember>,
    /// `pbo` of `sweep.json`.
    pub pbo: Option<f64>,
    /// `dsr` of `sweep.json`.
    pub dsr: Option<f64>,
    /// `completed` of `sweep.json`.
    pub completed: Option<usize>,
    /// The run fields of the request as sent (a member opens as a run of these with its params).
    pub request: serde_json::Value,
}

/// A sweep's id, `sw_YYYYMMDD_HHMMSS_xxxxxx`, checked before it reaches a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SweepId(String);

impl SweepId {
    /// `raw` when it is a sweep id.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        let b = raw.as_bytes();
        let valid = b.len() == 25
            && raw.starts_with("sw_")
            && b[11] == b'_'
            && b[18] == b'_'
            && b[3..11].iter().chain(&b[12..18]).all(u8::is_ascii_digit)
            && b[19..].iter().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase());
        valid.then(|| Self(raw.to_owned()))
    }

    /// A new id for `now` with a suffix drawn from `seed`.
    #[must_use]
    pub fn new(now: chrono::DateTime<chrono::Utc>, mut seed: u64) -> Self {
        let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let suffix: String = (0..6)
            .map(|_| {
                let c = alphabet[(seed % 36) as usize] as char;
                seed /= 36;
                c
            })
            .collect();
        Self(format!("sw_{}_{suffix}", now.format("%Y%m%d_%H%M%S")))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SweepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The files of a sweep that are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepFile {
    /// `sweep.parquet`.
    Table,
    /// `returns.parquet`.
    Returns,
    /// `sweep.json`.
    Summary,
}

impl SweepFile {
    /// The file's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Table => "sweep.parquet",
            Self::Returns => "returns.parquet",
            Self::Summary => "sweep.json",
        }
    }

    /// The file named `name`.
    #[must_use]
    pub fn of(name: &str) -> Option<Self> {
        [Self::Table, Self::Returns, Self::Summary].into_iter().find(|f| f.name() == name)
    }
}

/// A sweep listed at start: its `meta.json`, or why it cannot be read.
#[derive(Debug, Clone)]
pub enum ListedSweep {
    /// Read.
    Meta(Box<SweepMeta>),
    /// `meta.json` is missing or damaged: the sweep is listed as damaged, and can be deleted.
    Damaged {
        /// Its id.
        id: SweepId,
        /// What is wrong.
        message: String,
    },
}

/// Keeps sweeps: `meta.json`, the table and returns (Parquet), `sweep.json`, one folder each.
pub trait SweepStore: Send + Sync {
    /// A new id.
    fn new_id(&self) -> SweepId;

    /// Every sweep kept, after removing what interrupted writes left behind.
    ///
    /// # Errors
    /// The folder cannot be listed.
    fn list(&self) -> Result<Vec<ListedSweep>, super::StoreError>;

    /// Writes (or replaces) `meta.json`.
    ///
    /// # Errors
    /// It cannot be written.
    fn save_meta(&self, meta: &SweepMeta) -> Result<(), super::StoreError>;

    /// Writes the files of a finished sweep.
    ///
    /// # Errors
    /// A file cannot be written.
    fn save(&self, id: &SweepId, outcome: &SweepOutcome) -> Result<(), super::StoreError>;

    /// Whether the sweep has its files.
    fn has_table(&self, id: &SweepId) -> bool;

    /// Reads the table and `sweep.json` back.
    ///
    /// # Errors
    /// A file is missing, damaged or a symbolic link.
    fn table(&self, id: &SweepId) -> Result<SweepTable, super::StoreError>;

    /// The bytes of one of its files.
    ///
    /// # Errors
    /// The file is missing or a symbolic link.
    fn file(&self, id: &SweepId, file: SweepFile) -> Result<Vec<u8>, super::StoreError>;

    /// Deletes the sweep; `false` when there was nothing.
    ///
    /// # Errors
    /// It cannot be deleted.
    fn delete(&self, id: &SweepId) -> Result<bool, super::StoreError>;
}
