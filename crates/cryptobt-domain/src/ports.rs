//! The ports: small object-safe traits through which the engine, the api and the app reach
//! market data, strategies, result storage and the backtest service without knowing the
//! adapters behind them. Each has its own small error type; no third-party error crosses them.

use std::{
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{
    BacktestConfig, BacktestId, BacktestReport, Bar, ErrorCode, FundingRate, OrderSide, Params,
    PortfolioRules, Rejection, RunError, RunStatus, Snapshot, Symbol, Timeframe, TradingMode,
};

// ---------------------------------------------------------------------------------------------
// Market data

/// Which bars to load: an inclusive range of whole UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BarQuery {
    /// Spot or futures data.
    pub mode: TradingMode,
    /// The symbol.
    pub symbol: Symbol,
    /// The bar timeframe.
    pub timeframe: Timeframe,
    /// First day (inclusive).
    pub start: NaiveDate,
    /// Last day (inclusive).
    pub end: NaiveDate,
}

/// Bars in time order, held as shared day chunks so that a cached range is handed over without
/// copying a row.
#[derive(Debug, Clone, Default)]
pub struct BarSeries {
    chunks: Vec<Arc<[Bar]>>,
    len: usize,
}

impl BarSeries {
    /// Joins day chunks (already in time order).
    #[must_use]
    pub fn new(chunks: Vec<Arc<[Bar]>>) -> Self {
        let len = chunks.iter().map(|c| c.len()).sum();
        Self { chunks, len }
    }
    /// Number of bars.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether there are no bars.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The day chunks.
    #[must_use]
    pub fn chunks(&self) -> &[Arc<[Bar]>] {
        &self.chunks
    }
    /// Every bar in order.
    pub fn iter(&self) -> impl Iterator<Item = &Bar> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }
}

/// One data set on disk: a market, symbol and timeframe with the days it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Spot or futures.
    pub mode: TradingMode,
    /// The symbol.
    pub symbol: Symbol,
    /// The timeframe.
    pub timeframe: Timeframe,
    /// First day with a file.
    pub first_day: NaiveDate,
    /// Last day with a file.
    pub last_day: NaiveDate,
    /// Number of day files.
    pub days: usize,
}

/// Why market data could not be provided.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarketDataError {
    /// A requested file or data set does not exist.
    #[error("no data: {what}")]
    NotFound {
        /// What is missing, e.g. `BTCUSDT 1h 2025-01-05 (futures)`.
        what: String,
    },
    /// A file exists but a row or header is invalid.
    #[error("{location}: {message}")]
    Invalid {
        /// File and line, relative to the data directory.
        location: String,
        /// What is wrong, naming the value.
        message: String,
    },
    /// The data could not be read at all.
    #[error("data unavailable: {message}")]
    Unavailable {
        /// The cause.
        message: String,
    },
}

/// Bars and funding rates for a symbol, timeframe and date range.
pub trait MarketData: Send + Sync {
    /// The bars of `query`, validated, in time order.
    ///
    /// # Errors
    /// A missing day or an invalid row is an error naming the file and line; never skipped.
    fn bars(&self, query: &BarQuery) -> Result<BarSeries, MarketDataError>;

    /// The published funding rates of `symbol` between the two days (inclusive), or `None` when
    /// the data has no funding file for the range (the run then uses the config's rate).
    ///
    /// # Errors
    /// An unreadable or invalid funding file.
    fn funding_rates(
        &self,
        symbol: Symbol,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Option<Vec<FundingRate>>, MarketDataError>;

    /// The data sets available.
    ///
    /// # Errors
    /// An unreadable data directory.
    fn datasets(&self) -> Result<Vec<DatasetInfo>, MarketDataError>;
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// A flag a run polls to stop early; clones share it.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks every holder to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether [`cancel`](Self::cancel) was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Per-run limits of a strategy.
#[derive(Debug, Clone)]
pub struct StrategyLimits {
    /// Memory cap of the strategy's VM, in bytes (default 64 MiB).
    pub memory_bytes: usize,
    /// Wall-clock budget of the whole run (default 3600 s).
    pub max_duration: Duration,
    /// Orders accepted per bar; further ones are refused (default 100).
    pub max_orders_per_bar: u32,
    /// Log bytes kept; the rest is dropped with a marker (default 64 KiB).
    pub max_log_bytes: usize,
    /// Stops the run from outside.
    pub cancel: CancelToken,
}

impl Default for StrategyLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            max_duration: Duration::from_secs(3_600),
            max_orders_per_bar: 100,
            max_log_bytes: 64 << 10,
            cancel: CancelToken::new(),
        }
    }
}

/// What a strategy factory needs to build one run's strategy.
#[derive(Debug, Clone)]
pub struct StrategySpec {
    /// The strategy's source code.
    pub source: String,
    /// The traded symbol (the `symbol` global).
    pub symbol: Symbol,
    /// Parameters (the `params` table).
    pub params: Params,
    /// The run's limits.
    pub limits: StrategyLimits,
}

/// A strategy that cannot go on, with the stable code of DESIGN §10.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct StrategyError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong (≤ 1 KiB, no server paths).
    pub message: String,
    /// The strategy line, when known.
    pub line: Option<u32>,
}

impl From<StrategyError> for RunError {
    fn from(e: StrategyError) -> Self {
        Self { code: e.code, message: e.message, line: e.line }
    }
}

/// What a strategy may see and do while it runs: the current bar's facts, the portfolio's
/// figures, orders and the log.
///
/// The engine hands one context to a run's strategy, shared ([`SharedContext`]), so that a
/// strategy can keep it (a Lua VM's host functions capture it once instead of being rebuilt per
/// bar). Every method takes `&self`; implementations use interior mutability and are called on
/// the run's own thread only.
pub trait StrategyContext {
    /// The traded symbol.
    fn symbol(&self) -> Symbol;
    /// Open time of the current bar; `None` in `initialize`.
    fn timestamp(&self) -> Option<i64>;
    /// Close of the current bar; `None` in `initialize`.
    fn current_price(&self) -> Option<Decimal>;
    /// The rules orders are checked against (for converting a strategy's numbers).
    fn rules(&self) -> PortfolioRules;
    /// Signed position size (0 when flat).
    fn position_size(&self) -> Decimal;
    /// Free cash.
    fn cash(&self) -> Decimal;
    /// `cash + margin_used + unrealized_pnl` at the last close.
    fn equity(&self) -> Decimal;
    /// Unrealized PnL at the last close.
    fn unrealized_pnl(&self) -> Decimal;
    /// Average entry price; `None` when flat.
    fn entry_price(&self) -> Option<Decimal>;
    /// Effective leverage `|size| × entry / margin` (0 when flat).
    fn leverage(&self) -> Decimal;
    /// `equity / margin_used`; `None` when flat.
    fn margin_ratio(&self) -> Option<Decimal>;
    /// A market order (or, with `fill = next_open`, queues one).
    ///
    /// # Errors
    /// The [`Rejection`]; nothing changed.
    fn submit(
        &self,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
    ) -> Result<(), Rejection>;
    /// Closes `percentage` of the position.
    ///
    /// # Errors
    /// The [`Rejection`]; nothing changed.
    fn close_position(&self, percentage: Decimal) -> Result<(), Rejection>;
    /// Counts an order the strategy's side refused before it reached the portfolio (an amount
    /// that is not a number, the orders-per-bar cap), like any other rejection.
    fn record_rejection(&self, rejection: &Rejection);
    /// Appends a line to the run's log.
    fn log(&self, line: &str);
}

/// The context of one run, shared between the engine and its strategy.
pub type SharedContext = Rc<dyn StrategyContext>;

/// A trading strategy driven once per bar, on the run's own thread.
pub trait Strategy {
    /// Called once before the first bar; orders are refused here (no price yet).
    ///
    /// # Errors
    /// A [`StrategyError`] stops the run.
    fn initialize(&mut self, ctx: &SharedContext) -> Result<(), StrategyError> {
        let _ = ctx;
        Ok(())
    }

    /// Called with every closed bar.
    ///
    /// # Errors
    /// A [`StrategyError`] stops the run.
    fn on_bar(&mut self, bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError>;
}

/// Builds strategies from source code (one fresh instance per run).
pub trait StrategyFactory: Send + Sync {
    /// Builds the strategy of one run.
    ///
    /// # Errors
    /// `syntax_error`, `invalid_strategy`, or a limit tripped while loading.
    fn create(&self, spec: &StrategySpec) -> Result<Box<dyn Strategy>, StrategyError>;

    /// Checks source code without running a bar.
    ///
    /// # Errors
    /// `syntax_error` or `invalid_strategy` with the line.
    fn validate(&self, source: &str) -> Result<(), StrategyError>;
}

// ---------------------------------------------------------------------------------------------
// Results

/// The identity and outcome of a stored run (what `config.json` holds besides the settings).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The run's id.
    pub backtest_id: BacktestId,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// The strategy source.
    pub strategy_code: String,
    /// The settings.
    pub config: BacktestConfig,
    /// Where it stands.
    pub status: RunStatus,
    /// Why it failed.
    pub error: Option<RunError>,
}

/// Why the result store failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// No run with this id.
    #[error("backtest {id} not found")]
    NotFound {
        /// The id asked for.
        id: BacktestId,
    },
    /// Stored files could not be read or written.
    #[error("result storage failed: {message}")]
    Io {
        /// The cause, without server paths.
        message: String,
    },
}

/// One row of `portfolio.csv`, as read back for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioRow {
    /// Bar open time, Unix milliseconds UTC.
    pub timestamp: i64,
    /// Equity.
    pub portfolio_value: Decimal,
    /// Free cash.
    pub cash: Decimal,
    /// Unrealized PnL.
    pub unrealized_pnl: Decimal,
    /// Σ trade pnl + Σ funding.
    pub realized_pnl: Decimal,
    /// Margin locked.
    pub margin_used: Decimal,
    /// `|size| × close / equity`.
    pub leverage_ratio: Decimal,
}

/// A finished run as stored: its record, metrics, fills, funding and (a sample of) its
/// portfolio history.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// Identity, settings and outcome.
    pub record: RunRecord,
    /// The metrics, when the run got far enough to have them.
    pub metrics: Option<crate::Metrics>,
    /// Every fill.
    pub trades: Vec<crate::Trade>,
    /// Every funding payment.
    pub funding: Vec<crate::FundingPayment>,
    /// The portfolio history, evenly thinned to at most the points asked for (the last row is
    /// always kept).
    pub portfolio: Vec<PortfolioRow>,
    /// Rows in the full history.
    pub portfolio_rows: u64,
    /// Refused orders by reason.
    pub rejections: crate::RejectionCount,
    /// The strategy's log.
    pub log: Vec<String>,
}

/// The files of a stored run that can be downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResultFile {
    /// `config.json`.
    #[serde(rename = "config.json")]
    Config,
    /// `trades.csv`.
    #[serde(rename = "trades.csv")]
    Trades,
    /// `portfolio.csv`.
    #[serde(rename = "portfolio.csv")]
    Portfolio,
    /// `metrics.json`.
    #[serde(rename = "metrics.json")]
    Metrics,
    /// `funding.csv`.
    #[serde(rename = "funding.csv")]
    Funding,
    /// `log.txt`.
    #[serde(rename = "log.txt")]
    Log,
}

impl ResultFile {
    /// Every downloadable file.
    pub const ALL: [Self; 6] =
        [Self::Config, Self::Trades, Self::Portfolio, Self::Metrics, Self::Funding, Self::Log];

    /// The file name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Config => "config.json",
            Self::Trades => "trades.csv",
            Self::Portfolio => "portfolio.csv",
            Self::Metrics => "metrics.json",
            Self::Funding => "funding.csv",
            Self::Log => "log.txt",
        }
    }

    /// The file for a name, if it is one of [`ResultFile::ALL`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Where a run's snapshots go while it runs (the `portfolio.csv` being written).
pub trait PortfolioSink: SnapshotSink {
    /// Completes the file (it becomes visible with the run's other files on `save`).
    ///
    /// # Errors
    /// [`StoreError::Io`] when a write failed at any point.
    fn finish(self: Box<Self>) -> Result<(), StoreError>;
}

/// Keeps the results of runs.
pub trait ResultStore: Send + Sync {
    /// A new id for a run created now (unique; the store decides how ids are made).
    fn new_id(&self) -> BacktestId;
    /// A sink for the snapshots of run `id`, written as they come.
    ///
    /// # Errors
    /// [`StoreError::Io`].
    fn portfolio_sink(&self, id: &BacktestId) -> Result<Box<dyn PortfolioSink>, StoreError>;
    /// Writes a run's files (each atomically); `report` is `None` for a run that has none yet.
    ///
    /// # Errors
    /// [`StoreError::Io`].
    fn save(&self, record: &RunRecord, report: Option<&BacktestReport>) -> Result<(), StoreError>;
    /// Reads a run's record.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`].
    fn record(&self, id: &BacktestId) -> Result<RunRecord, StoreError>;
    /// Every stored run, newest first.
    ///
    /// # Errors
    /// [`StoreError::Io`].
    fn list(&self) -> Result<Vec<RunRecord>, StoreError>;
    /// A stored run with at most `max_points` rows of portfolio history.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`].
    fn load(&self, id: &BacktestId, max_points: usize) -> Result<StoredRun, StoreError>;
    /// The bytes of one result file.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (no such run or file) or [`StoreError::Io`].
    fn read_file(&self, id: &BacktestId, file: ResultFile) -> Result<Vec<u8>, StoreError>;
    /// Removes a run and its files.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`].
    fn delete(&self, id: &BacktestId) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------------------------------------
// The service

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
}

impl SnapshotSink for Vec<Snapshot> {
    fn push(&mut self, snapshot: &Snapshot) {
        Vec::push(self, snapshot.clone());
    }
}

/// Snapshots that go nowhere (metrics are still computed from every one).
impl SnapshotSink for () {
    fn push(&mut self, _: &Snapshot) {}
}

/// Why a run could not start (a run that starts and then fails is a report with status failed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The stable code (`data_error`, `syntax_error`, ...).
    pub code: ErrorCode,
    /// What went wrong.
    pub message: String,
}

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
