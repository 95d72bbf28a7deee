//! `FileResultStore`: runs under `{root}/backtests/{id}/` or one run's folder, listed from an
//! in-memory index and read back typed.

use std::{
    fs,
    path::{Path, PathBuf},
};

use cryptobt_domain::{
    ports::{DamagedRun, PortfolioSink, ResultFile, ResultStore, RunRecord, StoreError, StoredRun},
    BacktestId, BacktestReport, ConfigFile, RunCounters, RunStatus,
};
use rust_decimal::Decimal;

use crate::{
    errors::{io_error, store_err},
    files::{RunFiles, RunSummary},
    index, read,
    read::read_portfolio,
    FUNDING_CSV_HEADER, PLOTS_HEADER, PORTFOLIO_HEADER, ROUND_TRIPS_HEADER,
    ROUND_TRIPS_SYMBOL_HEADER,
};

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
