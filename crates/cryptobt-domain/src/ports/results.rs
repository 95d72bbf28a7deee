//! The result-store port: run records, stored runs, their files and the portfolio sink.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::service::SnapshotSink;
use crate::{BacktestConfig, BacktestId, BacktestReport, RunError, RunStatus};

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

/// A stored run as the history lists it: its record (without the strategy source), the name of
/// its strategy and the two figures runs are compared by.
#[derive(Debug, Clone, PartialEq)]
pub struct RunListing {
    /// The record; `strategy_code` is empty.
    pub record: RunRecord,
    /// The strategy's name ([`strategy_name`]).
    pub name: String,
    /// `total_return` of its metrics, when it has them.
    pub total_return: Option<f64>,
    /// `sharpe_ratio` of its metrics, when defined.
    pub sharpe_ratio: Option<f64>,
}

/// A strategy's name: its `name` parameter when it has one, else its first comment line (up to a
/// colon or a period), else "untitled"; at most 60 characters.
#[must_use]
pub fn strategy_name(code: &str, params: &crate::Params) -> String {
    if let Some(crate::ParamValue::Text(name)) = params.get("name") {
        if !name.trim().is_empty() {
            return name.trim().chars().take(60).collect();
        }
    }
    let comment = code
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.strip_prefix("--"))
        .map(|l| l.trim_start_matches('-').trim())
        .unwrap_or("");
    // The name ends at a colon, or at a full stop that ends a sentence (followed by a space or
    // the end) — not at a decimal point (`RSI 30.5 bounce`).
    let bytes = comment.as_bytes();
    let end = comment.char_indices().find(|&(i, c)| {
        c == ':' || (c == '.' && bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()))
    });
    let cut = end.map_or(comment, |(i, _)| &comment[..i]).trim();
    if cut.is_empty() {
        "untitled".to_owned()
    } else {
        cut.chars().take(60).collect()
    }
}

/// Why the result store failed.
#[derive(Debug, Clone, Error)]
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
        /// What failed, without server paths.
        message: String,
        /// Why (the OS error), when known.
        #[source]
        source: Option<super::Cause>,
    },
    /// A file of the run exists but cannot be understood (garbage, a truncated write).
    #[error("{file} of this run is damaged: {message}")]
    Damaged {
        /// The file name (`config.json`, `metrics.json`...).
        file: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// A stored run whose `config.json` cannot be read: listed as damaged, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DamagedRun {
    /// The run's id (its folder).
    pub backtest_id: BacktestId,
    /// The damaged file.
    pub file: &'static str,
    /// What is wrong with it.
    pub message: String,
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
    /// Every finished round trip.
    pub round_trips: Vec<crate::RoundTrip>,
    /// The portfolio history, evenly thinned to at most the points asked for (the last row is
    /// always kept).
    pub portfolio: Vec<PortfolioRow>,
    /// Rows in the full history.
    pub portfolio_rows: u64,
    /// Refused orders by reason.
    pub rejections: crate::RejectionCount,
    /// Ambiguous bars, orders left at the end, whether a position was open at the end.
    pub counters: crate::RunCounters,
    /// Funding times settled at the configured rate because the rates do not list them.
    pub funding_fallbacks: u64,
    /// The `params` names the strategy never read.
    pub unused_params: Vec<String>,
    /// The positions still open after the last bar.
    pub open_positions: Vec<crate::OpenPosition>,
    /// The strategy's log.
    pub log: Vec<String>,
    /// Files of the run that could not be read back (`"metrics.json: ..."`); what they hold is
    /// left out above, the rest is shown.
    pub damaged: Vec<String>,
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
    /// `round_trips.csv`.
    #[serde(rename = "round_trips.csv")]
    RoundTrips,
    /// `plots.csv`.
    #[serde(rename = "plots.csv")]
    Plots,
    /// `log.txt`.
    #[serde(rename = "log.txt")]
    Log,
    /// `run.json` (counters, rejections by reason, unused params, open positions).
    #[serde(rename = "run.json")]
    Run,
}

impl ResultFile {
    /// Every downloadable file.
    pub const ALL: [Self; 9] = [
        Self::Config,
        Self::Trades,
        Self::Portfolio,
        Self::Metrics,
        Self::Funding,
        Self::RoundTrips,
        Self::Plots,
        Self::Log,
        Self::Run,
    ];

    /// The file name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Config => "config.json",
            Self::Trades => "trades.csv",
            Self::Portfolio => "portfolio.csv",
            Self::Metrics => "metrics.json",
            Self::Funding => "funding.csv",
            Self::RoundTrips => "round_trips.csv",
            Self::Plots => "plots.csv",
            Self::Log => "log.txt",
            Self::Run => "run.json",
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
    /// Every stored run as the history lists it, newest first (shared: a listing of 10,000 runs
    /// copies no record).
    ///
    /// # Errors
    /// [`StoreError::Io`].
    fn listing(&self) -> Result<Vec<std::sync::Arc<RunListing>>, StoreError> {
        Ok(self
            .list()?
            .into_iter()
            .map(|record| {
                std::sync::Arc::new(RunListing {
                    name: strategy_name(&record.strategy_code, record.config.params()),
                    record: RunRecord { strategy_code: String::new(), ..record },
                    total_return: None,
                    sharpe_ratio: None,
                })
            })
            .collect())
    }
    /// A stored run with at most `max_points` rows of portfolio history.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`].
    fn load(&self, id: &BacktestId, max_points: usize) -> Result<StoredRun, StoreError>;
    /// The whole equity curve of a run (every row of its portfolio history: bar time and
    /// equity), for charts that thin it themselves.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`].
    fn equity(&self, id: &BacktestId) -> Result<Vec<(i64, Decimal)>, StoreError> {
        Ok(self
            .load(id, usize::MAX)?
            .portfolio
            .into_iter()
            .map(|r| (r.timestamp, r.portfolio_value))
            .collect())
    }
    /// The strategy's `plot` series of a run (none when it plotted nothing).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`].
    fn plots(&self, id: &BacktestId) -> Result<Vec<crate::PlotSeries>, StoreError> {
        let _ = id;
        Ok(Vec::new())
    }
    /// The bytes of one result file.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (no such run or file) or [`StoreError::Io`].
    fn read_file(&self, id: &BacktestId, file: ResultFile) -> Result<Vec<u8>, StoreError>;
    /// Runs whose record cannot be read (a damaged `config.json`), which [`list`](Self::list)
    /// leaves out.
    fn list_damaged(&self) -> Vec<DamagedRun> {
        Vec::new()
    }
    /// Deletes the oldest finished runs beyond the newest `keep` runs (a retention limit);
    /// returns the ids deleted. Runs queued or running are never deleted.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the listing cannot be read.
    fn prune(&self, keep: usize) -> Result<Vec<BacktestId>, StoreError> {
        let _ = keep;
        Ok(Vec::new())
    }
    /// Removes what writes cut short left behind (temporary files of a killed process); called
    /// once at start. Returns how many files were removed.
    fn remove_leftovers(&self) -> usize {
        0
    }
    /// Removes a run and its files.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Io`].
    fn delete(&self, id: &BacktestId) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_named_by_its_first_comment_up_to_a_colon_or_a_sentence_end() {
        let name = |code: &str| strategy_name(code, &crate::Params::new());
        assert_eq!(name("-- SMA crossover: long while above"), "SMA crossover");
        assert_eq!(name("-- RSI 30.5 bounce. Buys dips"), "RSI 30.5 bounce");
        assert_eq!(name("-- Threshold 0.5"), "Threshold 0.5");
        assert_eq!(name("-- Ends here."), "Ends here");
        assert_eq!(name("function on_data(b) end"), "untitled");
    }
}
