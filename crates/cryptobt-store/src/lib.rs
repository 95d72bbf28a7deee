//! The file result store of docs/results.md: `results/backtests/{backtest_id}/` with `config.json`,
//! `trades.csv`, `portfolio.csv` and `metrics.json` (plus `funding.csv`, `run.json` with the
//! rejections and counters, and `log.txt`). Every file is written to a temporary name and renamed;
//! `portfolio.csv` is streamed row by row while the run goes on.
//!
//! Runs are read back typed (the `csv` crate and serde, decimals exactly as written) and listed
//! from an index kept in memory (`index`), so a listing reads no run file. Nothing is read through
//! a symbolic link. The crate knows files and the domain, nothing of market data, Lua or HTTP.

use std::{
    fmt::Write as _,
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::mpsc,
};

use cryptobt_domain::{
    ports::{
        DamagedRun, PortfolioSink, ResultFile, ResultStore, RunRecord, SnapshotSink, StoreError,
        StoredRun,
    },
    BacktestId, BacktestReport, ConfigFile, RunCounters, RunStatus, Snapshot,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use cryptobt_domain::money::write_plain;

use self::read::read_portfolio;
use cryptobt_fs::{write_atomic, FsError};

mod index;
mod read;
mod sweeps;

pub use self::sweeps::{read_summary, read_sweep, write_sweep, FileSweepStore, SweepFiles};

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

/// `run.json`: what the report holds besides metrics, fills and snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Bars processed.
    pub bars: u64,
    /// Fills.
    pub trades: u64,
    /// Funding payments.
    pub funding_payments: u64,
    /// The run's id.
    #[serde(default)]
    pub backtest_id: String,
    /// Finished round trips.
    #[serde(default)]
    pub round_trips: u64,
    /// Refused orders (the count; files of the first version held the map here).
    #[serde(default)]
    pub rejections: Rejections,
    /// Refused orders by reason.
    #[serde(default)]
    pub rejections_by_reason: std::collections::BTreeMap<String, u64>,
    /// Bars whose outcome rested on which extreme came first.
    #[serde(default)]
    pub ambiguous_bars: u64,
    /// Limit and stop orders pending after the last bar.
    #[serde(default)]
    pub pending_at_end: u64,
    /// Market orders queued (`fill = next_open`) after the last bar.
    #[serde(default, alias = "dropped_orders")]
    pub queued_at_end: u64,
    /// Whether a position was still open after the last bar.
    #[serde(default)]
    pub open_at_end: bool,
    /// Funding times settled at the configured rate because the rates do not list them.
    #[serde(default)]
    pub funding_fallbacks: u64,
    /// The `params` names the strategy never read (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_params: Vec<String>,
    /// The positions still open after the last bar (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_positions: Vec<cryptobt_domain::OpenPosition>,
    /// The guide lines of the `plot` series that have some, by series name (absent when none).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub plot_levels: std::collections::BTreeMap<String, Vec<f64>>,
    /// Log lines kept.
    pub log_lines: u64,
}

/// `run.json`'s `rejections`: a count, or (files of the first version) the map by reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rejections {
    /// How many order calls were refused.
    Count(u64),
    /// By reason (first version).
    ByReason(std::collections::BTreeMap<String, u64>),
}

impl Default for Rejections {
    fn default() -> Self {
        Self::Count(0)
    }
}

impl RunSummary {
    /// Refused orders by reason, from either form of the file.
    #[must_use]
    pub fn by_reason(&self) -> std::collections::BTreeMap<String, u64> {
        match &self.rejections {
            Rejections::ByReason(map) if self.rejections_by_reason.is_empty() => map.clone(),
            _ => self.rejections_by_reason.clone(),
        }
    }
}

/// A CSV field quoted as RFC 4180 says when it holds a comma, a quote or a line break (tested
/// by reading it back in `read::tests`).
fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn csv_snapshot(out: &mut String, s: &Snapshot) {
    let _ = write!(out, "{}", s.timestamp);
    for value in [
        s.portfolio_value,
        s.cash,
        s.unrealized_pnl,
        s.realized_pnl,
        s.margin_used,
        s.leverage_ratio(),
    ] {
        out.push(',');
        write_plain(out, value);
    }
    out.push('\n');
}

/// The files of one run in one directory.
#[derive(Debug, Clone)]
pub struct RunFiles {
    dir: PathBuf,
}

impl RunFiles {
    /// The files in `dir` (created on first write).
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn tmp_portfolio(&self) -> PathBuf {
        self.dir.join(format!(".portfolio.csv.tmp-{}", std::process::id()))
    }

    /// A writer streaming `portfolio.csv` (to a temporary name until [`write`](Self::write)).
    ///
    /// # Errors
    /// The directory or file cannot be created.
    pub fn portfolio_writer(&self) -> Result<PortfolioWriter, FsError> {
        fs::create_dir_all(&self.dir).map_err(|e| fs_err("results directory", e))?;
        let path = self.tmp_portfolio();
        let file = fs::File::create(&path).map_err(|e| fs_err("portfolio.csv", e))?;
        PortfolioWriter::start(file)
    }

    /// Writes every file of the run (each atomically). `portfolio.csv` comes from a finished
    /// [`PortfolioWriter`] when there is one, else from the report's snapshots.
    ///
    /// # Errors
    /// A failed write, naming the file (the OS error as its source).
    pub fn write(
        &self,
        record: &RunRecord,
        report: Option<&BacktestReport>,
    ) -> Result<(), FsError> {
        fs::create_dir_all(&self.dir).map_err(|e| fs_err("results directory", e))?;
        let json = |value: &dyn erased::Json| value.to_json();
        if let Some(report) = report {
            let rows = |name: &'static str, result: Result<Vec<u8>, csv::Error>| {
                result.map_err(|e| fs_err(name, std::io::Error::other(e)))
            };
            let trades = read::write_rows(
                TRADES_HEADER,
                report.trades.iter().map(read::TradeRow::from),
                96 * (report.trades.len() + 1),
            );
            write_atomic(&self.dir.join("trades.csv"), &rows("trades.csv", trades)?)?;
            let funding = read::write_rows(
                FUNDING_CSV_HEADER,
                report.funding.iter().map(read::FundingRow::from),
                64 * (report.funding.len() + 1),
            );
            write_atomic(&self.dir.join("funding.csv"), &rows("funding.csv", funding)?)?;
            let several = record.config.symbols().len() > 1;
            let header = if several { ROUND_TRIPS_SYMBOL_HEADER } else { ROUND_TRIPS_HEADER };
            let trips = read::write_rows(
                header,
                report.round_trips.iter().map(|r| read::RoundTripRow::of(r, several)),
                128 * (report.round_trips.len() + 1),
            );
            write_atomic(&self.dir.join("round_trips.csv"), &rows("round_trips.csv", trips)?)?;
            let points: usize = report.plots.iter().map(|p| p.points.len()).sum();
            let mut plots = String::with_capacity(32 * (points + 1));
            plots.push_str(PLOTS_HEADER);
            plots.push('\n');
            for series in &report.plots {
                let name = csv_field(&series.name);
                for (t, v) in &series.points {
                    // The shortest text that reads back to the same f64 (`1e300`, not 301
                    // digits).
                    let _ = writeln!(plots, "{name},{},{t},{v:?}", series.pane.as_str());
                }
            }
            write_atomic(&self.dir.join("plots.csv"), plots.as_bytes())?;
            let tmp = self.tmp_portfolio();
            if tmp.exists() {
                fs::rename(&tmp, self.dir.join("portfolio.csv"))
                    .map_err(|e| fs_err("portfolio.csv", e))?;
            } else {
                let mut rows = String::with_capacity(96 * (report.snapshots.len() + 1));
                rows.push_str(PORTFOLIO_HEADER);
                rows.push('\n');
                for s in &report.snapshots {
                    csv_snapshot(&mut rows, s);
                }
                write_atomic(&self.dir.join("portfolio.csv"), rows.as_bytes())?;
            }
            write_atomic(&self.dir.join("metrics.json"), json(&report.metrics).as_bytes())?;
            let summary = RunSummary {
                bars: report.bars.max(report.snapshots.len() as u64),
                trades: report.trades.len() as u64,
                funding_payments: report.funding.len() as u64,
                backtest_id: record.backtest_id.to_string(),
                rejections: Rejections::Count(report.rejections.values().sum()),
                rejections_by_reason: report.rejections.clone(),
                round_trips: report.round_trips.len() as u64,
                ambiguous_bars: report.ambiguous_bars,
                pending_at_end: report.pending_at_end,
                queued_at_end: report.dropped_orders,
                open_at_end: report.open_at_end,
                funding_fallbacks: report.funding_fallbacks,
                unused_params: report.unused_params.clone(),
                open_positions: report.open_positions.clone(),
                plot_levels: report
                    .plots
                    .iter()
                    .filter(|p| !p.levels.is_empty())
                    .map(|p| (p.name.clone(), p.levels.clone()))
                    .collect(),
                log_lines: report.log.len() as u64,
            };
            write_atomic(&self.dir.join("run.json"), json(&summary).as_bytes())?;
            let mut log = report.log.join("\n");
            if !log.is_empty() {
                log.push('\n');
            }
            write_atomic(&self.dir.join("log.txt"), log.as_bytes())?;
        }
        write_atomic(
            &self.dir.join("config.json"),
            json(&ConfigFile::from_record(record)).as_bytes(),
        )
    }
}

/// A small indirection so every JSON file is written the same way (pretty, trailing newline).
mod erased {
    pub(super) trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            let mut text = serde_json::to_string_pretty(self)
                .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
            text.push('\n');
            text
        }
    }
}

/// Snapshots handed to the writing thread at a time.
const BATCH: usize = 4_096;

/// Streams `portfolio.csv`: snapshots are batched and formatted and written by a thread of its
/// own, so a long run's second core does the file while the first runs the strategy. A write
/// error is kept and reported by `finish`.
#[derive(Debug)]
pub struct PortfolioWriter {
    batch: Vec<Snapshot>,
    to_writer: Option<mpsc::SyncSender<Vec<Snapshot>>>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

fn write_rows(mut out: fs::File, batches: &mpsc::Receiver<Vec<Snapshot>>) -> std::io::Result<()> {
    // Each batch is formatted into `rows` and written in one call: no second buffer.
    let mut rows = String::with_capacity(BATCH * 96);
    rows.push_str(PORTFOLIO_HEADER);
    rows.push('\n');
    out.write_all(rows.as_bytes())?;
    for batch in batches {
        rows.clear();
        for s in &batch {
            csv_snapshot(&mut rows, s);
        }
        out.write_all(rows.as_bytes())?;
    }
    out.sync_all()
}

impl PortfolioWriter {
    fn start(file: fs::File) -> Result<Self, FsError> {
        let (tx, rx) = mpsc::sync_channel::<Vec<Snapshot>>(4);
        let writer = std::thread::Builder::new()
            .name("portfolio.csv".into())
            .spawn(move || write_rows(file, &rx))
            .map_err(|e| fs_err("portfolio.csv", e))?;
        Ok(Self { batch: Vec::with_capacity(BATCH), to_writer: Some(tx), writer: Some(writer) })
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // A closed channel means the writer failed; `finish` reports why.
        if let Some(tx) = &self.to_writer {
            if tx.send(batch).is_err() {
                self.to_writer = None;
            }
        }
    }

    /// Writes what is left and waits for the file to be complete.
    ///
    /// # Errors
    /// The first write error.
    pub fn finish(mut self) -> Result<(), FsError> {
        self.send();
        self.to_writer = None;
        let outcome = match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the writing thread panicked")),
            None => Ok(()),
        };
        outcome.map_err(|e| fs_err("portfolio.csv", e))
    }
}

impl Drop for PortfolioWriter {
    fn drop(&mut self) {
        self.to_writer = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl SnapshotSink for PortfolioWriter {
    fn push(&mut self, snapshot: &Snapshot) {
        self.batch.push(snapshot.clone());
        if self.batch.len() == BATCH {
            self.send();
        }
    }
}

impl PortfolioSink for PortfolioWriter {
    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        PortfolioWriter::finish(*self).map_err(store_err)
    }
}

/// How a store's folder holds its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One folder per run under `{root}/backtests/{id}/` (the server's and the CLI's results).
    Runs,
    /// One run's files straight in the folder (`cryptobt backtest --out DIR`): the run is the
    /// one its `config.json` names.
    OneRun,
}

/// The store: one directory per run under `{root}/backtests/`, or one run's folder.
#[derive(Debug, Clone)]
pub struct FileResultStore {
    root: PathBuf,
    index: std::sync::Arc<index::Index>,
    layout: Layout,
}

impl FileResultStore {
    /// Results under `root` (e.g. `results`).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_layout(root, Layout::Runs)
    }

    /// A store over `root` laid out as `layout`.
    #[must_use]
    pub fn with_layout(root: impl Into<PathBuf>, layout: Layout) -> Self {
        Self { root: root.into(), index: std::sync::Arc::default(), layout }
    }

    /// The store in `dir`: one run's folder when it holds a `config.json` (a `--out` folder),
    /// else a results folder. Either way its runs can be listed and loaded.
    #[must_use]
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let layout = if dir.join("config.json").is_file() { Layout::OneRun } else { Layout::Runs };
        Self::with_layout(dir, layout)
    }

    /// How this store's folder holds its runs.
    #[must_use]
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// A store whose runs are written straight into `dir` (no `backtests/{id}/` below it): the
    /// `--out DIR` of `cryptobt backtest`.
    #[must_use]
    pub fn single_folder(dir: impl Into<PathBuf>) -> Self {
        Self::with_layout(dir, Layout::OneRun)
    }

    /// The files of run `id` (a validated id: the path cannot leave the root).
    #[must_use]
    pub fn files(&self, id: &BacktestId) -> RunFiles {
        if self.layout == Layout::OneRun {
            return RunFiles::new(&self.root);
        }
        RunFiles::new(self.root.join("backtests").join(id.as_str()))
    }
}

impl FileResultStore {
    /// The listing from the in-memory index (see `index`).
    fn listed(&self) -> (Vec<std::sync::Arc<cryptobt_domain::ports::RunListing>>, Vec<DamagedRun>) {
        self.index.list(
            &self.runs_dir(),
            || self.run_ids(),
            |id| Ok((self.read_record(id)?, self.read_figures(id))),
        )
    }

    /// The total return and Sharpe ratio in run `id`'s `metrics.json` (none when it has none or
    /// it cannot be read: the listing shows — then).
    fn read_figures(&self, id: &BacktestId) -> (Option<f64>, Option<f64>) {
        let Ok(bytes) = self.read_plain(id, "metrics.json") else { return (None, None) };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return (None, None);
        };
        (v["total_return"].as_f64(), v["sharpe_ratio"].as_f64())
    }

    /// Reads run `id`'s record from its `config.json`.
    fn read_record(&self, id: &BacktestId) -> Result<RunRecord, StoreError> {
        let bytes = match self.read_plain(id, "config.json") {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound { id: id.clone() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(StoreError::Damaged { file: "config.json", message: e.to_string() })
            }
            Err(e) => return Err(io_error(format!("config.json of {id}"), e)),
        };
        let damaged = |message: String| StoreError::Damaged { file: "config.json", message };
        let config: ConfigFile =
            serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        let record = config.to_record().map_err(|e| damaged(e.0))?;
        if record.backtest_id != *id {
            // A one-run folder holds only the run its config.json names.
            return Err(StoreError::NotFound { id: id.clone() });
        }
        Ok(record)
    }

    /// The folder whose entries are the runs (`backtests/`, or the one-run folder itself).
    fn runs_dir(&self) -> PathBuf {
        match self.layout {
            Layout::Runs => self.root.join("backtests"),
            Layout::OneRun => self.root.clone(),
        }
    }

    /// `backtests/{id}/{file}` below the root.
    fn relative(&self, id: &BacktestId, file: &str) -> PathBuf {
        if self.layout == Layout::OneRun {
            return PathBuf::from(file);
        }
        Path::new("backtests").join(id.as_str()).join(file)
    }

    /// The bytes of one file of run `id`, never through a symbolic link (a run folder or file
    /// that is a link is refused).
    fn read_plain(&self, id: &BacktestId, file: &str) -> std::io::Result<Vec<u8>> {
        cryptobt_fs::read_no_links(&self.root, &self.relative(id, file))
    }

    /// The ids of the run folders (real directories named like an id; links are not followed).
    fn run_ids(&self) -> Vec<BacktestId> {
        if self.layout == Layout::OneRun {
            let Ok(bytes) = cryptobt_fs::read_no_links(&self.root, Path::new("config.json")) else {
                return Vec::new();
            };
            let id = serde_json::from_slice::<ConfigFile>(&bytes)
                .ok()
                .and_then(|file| BacktestId::parse(&file.backtest_id).ok());
            return id.into_iter().collect();
        }
        let Ok(entries) = fs::read_dir(self.root.join("backtests")) else { return Vec::new() };
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().and_then(|n| BacktestId::parse(n).ok()))
            .collect()
    }
}

fn fs_err(file: &str, source: std::io::Error) -> FsError {
    FsError { file: file.to_owned(), source }
}

fn store_err(e: FsError) -> StoreError {
    StoreError::Io { message: e.to_string(), source: Some(std::sync::Arc::new(e)) }
}

/// A store error about `what`, keeping the OS error as its source.
fn io_error(what: String, e: std::io::Error) -> StoreError {
    StoreError::Io { message: format!("{what}: {e}"), source: Some(std::sync::Arc::new(e)) }
}

/// A new run id for `created_at`: its time and six characters from the standard library's
/// randomly keyed hasher over a process-wide counter (so ids made in the same second differ).
#[must_use]
pub fn new_backtest_id(created_at: chrono::DateTime<chrono::Utc>) -> BacktestId {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    hasher.write_i64(created_at.timestamp_nanos_opt().unwrap_or_default());
    BacktestId::with_seed(created_at.naive_utc(), hasher.finish())
}

impl ResultStore for FileResultStore {
    fn new_id(&self) -> BacktestId {
        new_backtest_id(chrono::Utc::now())
    }

    fn portfolio_sink(&self, id: &BacktestId) -> Result<Box<dyn PortfolioSink>, StoreError> {
        Ok(Box::new(self.files(id).portfolio_writer().map_err(store_err)?))
    }

    fn save(&self, record: &RunRecord, report: Option<&BacktestReport>) -> Result<(), StoreError> {
        self.files(&record.backtest_id).write(record, report).map_err(store_err)?;
        let figures =
            report.map_or((None, None), |r| (r.metrics.total_return, r.metrics.sharpe_ratio));
        self.index.saved(record, figures);
        Ok(())
    }

    fn record(&self, id: &BacktestId) -> Result<RunRecord, StoreError> {
        let read = self.read_record(id);
        // A damaged config.json found by any read also shows in the listing from then on.
        if let Err(StoreError::Damaged { file, message }) = &read {
            let run = DamagedRun { backtest_id: id.clone(), file, message: message.clone() };
            self.index.damaged(run);
        }
        read
    }

    fn list_damaged(&self) -> Vec<DamagedRun> {
        self.listed().1
    }

    fn remove_leftovers(&self) -> usize {
        let mut removed = 0;
        for id in self.run_ids() {
            let Ok(entries) = fs::read_dir(self.files(&id).dir()) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let is_temp =
                    name.to_str().is_some_and(|n| n.starts_with('.') && n.contains(".tmp-"));
                if is_temp
                    && entry.file_type().is_ok_and(|t| t.is_file())
                    && fs::remove_file(entry.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }

    fn list(&self) -> Result<Vec<RunRecord>, StoreError> {
        let dir = self.runs_dir();
        if let Err(e) = fs::read_dir(&dir) {
            if e.kind() == std::io::ErrorKind::NotFound {
                return Ok(Vec::new());
            }
            return Err(io_error("results directory".to_owned(), e));
        }
        Ok(self.listed().0.into_iter().map(|l| l.record.clone()).collect())
    }

    fn listing(
        &self,
    ) -> Result<Vec<std::sync::Arc<cryptobt_domain::ports::RunListing>>, StoreError> {
        if let Err(e) = fs::metadata(self.runs_dir()) {
            if e.kind() == std::io::ErrorKind::NotFound {
                return Ok(Vec::new());
            }
            return Err(io_error("results directory".to_owned(), e));
        }
        Ok(self.listed().0)
    }

    fn prune(&self, keep: usize) -> Result<Vec<BacktestId>, StoreError> {
        let settled = |r: &RunRecord| !matches!(r.status, RunStatus::Queued | RunStatus::Running);
        let runs: Vec<RunRecord> = self.listed().0.into_iter().map(|l| l.record.clone()).collect();
        let excess = runs.len().saturating_sub(keep);
        let mut removed = Vec::new();
        for record in runs.iter().rev().filter(|r| settled(r)).take(excess) {
            if self.delete(&record.backtest_id).is_ok() {
                removed.push(record.backtest_id.clone());
            }
        }
        Ok(removed)
    }

    fn load(&self, id: &BacktestId, max_points: usize) -> Result<StoredRun, StoreError> {
        let record = self.record(id)?;
        let files = self.files(id);
        let dir = files.dir();
        let damaged = std::cell::RefCell::new(Vec::<String>::new());
        let note = |file: &str, e: &dyn std::fmt::Display| {
            damaged.borrow_mut().push(format!("{file}: {e}"));
        };
        // A missing file is no error (a failed run has fewer); unreadable text marks it damaged.
        let text = |file: &str| -> Result<Option<String>, StoreError> {
            match self.read_plain(id, file).and_then(|bytes| {
                String::from_utf8(bytes)
                    .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
            }) {
                Ok(t) => Ok(Some(t)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    note(file, &"not UTF-8 text");
                    Ok(None)
                }
                Err(e) => Err(io_error(format!("{file} of {id}"), e)),
            }
        };
        let metrics = text("metrics.json")?
            .and_then(|t| serde_json::from_str(&t).map_err(|e| note("metrics.json", &e)).ok());
        let trades = match text("trades.csv")? {
            Some(t) => read::trades(&t).unwrap_or_else(|e| {
                note("trades.csv", &e);
                Vec::new()
            }),
            None => Vec::new(),
        };
        let funding = match text("funding.csv")? {
            Some(t) => {
                read::rows::<read::FundingRow, _>(&t, FUNDING_CSV_HEADER).unwrap_or_else(|e| {
                    note("funding.csv", &e);
                    Vec::new()
                })
            }
            None => Vec::new(),
        };
        let round_trips = match text("round_trips.csv")? {
            Some(t) => {
                let header = if t.starts_with("symbol,") {
                    ROUND_TRIPS_SYMBOL_HEADER
                } else {
                    ROUND_TRIPS_HEADER
                };
                read::rows::<read::RoundTripRow, _>(&t, header).unwrap_or_else(|e| {
                    note("round_trips.csv", &e);
                    Vec::new()
                })
            }
            None => Vec::new(),
        };
        let portfolio_file =
            cryptobt_fs::check_no_links(&self.root, &self.relative(id, "portfolio.csv"))
                .map_err(read::ReadError::from);
        let (portfolio, portfolio_rows) = portfolio_file
            .and_then(|()| read_portfolio(&dir.join("portfolio.csv"), PORTFOLIO_HEADER, max_points))
            .unwrap_or_else(|e| {
                note("portfolio.csv", &e);
                (Vec::new(), 0)
            });
        let summary: Option<RunSummary> = text("run.json")?
            .and_then(|t| serde_json::from_str(&t).map_err(|e| note("run.json", &e)).ok());
        let log =
            text("log.txt")?.map(|t| t.lines().map(str::to_owned).collect()).unwrap_or_default();
        Ok(StoredRun {
            record,
            metrics,
            trades,
            funding,
            round_trips,
            portfolio,
            portfolio_rows,
            funding_fallbacks: summary.as_ref().map_or(0, |s| s.funding_fallbacks),
            unused_params: summary.as_ref().map(|s| s.unused_params.clone()).unwrap_or_default(),
            open_positions: summary.as_ref().map(|s| s.open_positions.clone()).unwrap_or_default(),
            rejections: summary.as_ref().map(RunSummary::by_reason).unwrap_or_default(),
            counters: summary.map_or_else(RunCounters::default, |s| RunCounters {
                ambiguous_bars: s.ambiguous_bars,
                pending_at_end: s.pending_at_end,
                queued_at_end: s.queued_at_end,
                open_at_end: s.open_at_end,
            }),
            log,
            damaged: damaged.into_inner(),
        })
    }

    fn equity(&self, id: &BacktestId) -> Result<Vec<(i64, Decimal)>, StoreError> {
        let relative = self.relative(id, "portfolio.csv");
        cryptobt_fs::check_no_links(&self.root, &relative)
            .map_err(|e| io_error(format!("portfolio.csv of {id}"), e))?;
        read::read_equity(&self.root.join(&relative), PORTFOLIO_HEADER).map_err(|e| {
            StoreError::Io {
                message: format!("portfolio.csv of {id}: {e}"),
                source: Some(std::sync::Arc::new(e)),
            }
        })
    }

    fn plots(&self, id: &BacktestId) -> Result<Vec<cryptobt_domain::PlotSeries>, StoreError> {
        let relative = self.relative(id, "plots.csv");
        cryptobt_fs::check_no_links(&self.root, &relative)
            .map_err(|e| io_error(format!("plots.csv of {id}"), e))?;
        let mut plots =
            read::read_plots(&self.root.join(&relative), PLOTS_HEADER).map_err(|e| {
                StoreError::Io {
                    message: format!("plots.csv of {id}: {e}"),
                    source: Some(std::sync::Arc::new(e)),
                }
            })?;
        // The guide lines live in run.json; a run without them (or an older file) has none.
        let levels = self
            .read_plain(id, "run.json")
            .ok()
            .and_then(|bytes| serde_json::from_slice::<RunSummary>(&bytes).ok())
            .map(|s| s.plot_levels)
            .unwrap_or_default();
        for series in &mut plots {
            if let Some(l) = levels.get(&series.name) {
                series.levels.clone_from(l);
            }
        }
        Ok(plots)
    }

    fn read_file(&self, id: &BacktestId, file: ResultFile) -> Result<Vec<u8>, StoreError> {
        match self.read_plain(id, file.name()) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::NotFound { id: id.clone() })
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                Err(StoreError::Damaged { file: file.name(), message: e.to_string() })
            }
            Err(e) => Err(io_error(format!("{} of {id}", file.name()), e)),
        }
    }

    fn delete(&self, id: &BacktestId) -> Result<(), StoreError> {
        if self.layout == Layout::OneRun {
            // Another run's id never takes the folder with it.
            self.read_record(id)?;
        }
        let files = self.files(id);
        let removed = match fs::symlink_metadata(files.dir()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound { id: id.clone() })
            }
            // Whatever took the folder's name (a file, a link) goes, and is never followed.
            Ok(meta) if !meta.is_dir() => fs::remove_file(files.dir()),
            _ => fs::remove_dir_all(files.dir()),
        };
        // Removed meanwhile by someone else (a retention pass, a second delete): not found.
        if let Err(e) = &removed {
            if e.kind() == std::io::ErrorKind::NotFound {
                self.index.deleted(id);
                return Err(StoreError::NotFound { id: id.clone() });
            }
        }
        removed.map_err(|e| io_error(format!("deleting {id}"), e))?;
        self.index.deleted(id);
        Ok(())
    }
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn new_ids_are_valid_and_distinct() {
        let now = chrono::Utc::now();
        let (a, b) = (new_backtest_id(now), new_backtest_id(now));
        assert_ne!(a, b);
        assert!(BacktestId::parse(a.as_str()).is_ok());
        assert!(a.as_str().starts_with(&format!("bt_{}", now.format("%Y%m%d_%H%M%S"))));
    }
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    #[test]
    fn a_tag_is_quoted_only_when_it_must_be_and_reads_back() {
        assert_eq!(csv_field("grid-buy"), "grid-buy");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        for tag in ["a,b", "say \"hi\"", "two\nlines", "plain"] {
            let text = format!(
                "{TRADES_HEADER}\n1,buy,BTCUSDT,1,1,1,0,long,0,limit,{},false\n",
                csv_field(tag)
            );
            let read = read::trades(&text).unwrap();
            assert_eq!(read[0].tag.as_deref(), Some(tag));
        }
    }
}
