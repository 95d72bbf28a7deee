//! One run's files in one directory: `run.json`'s shape and writing every file of a run.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use cryptobt_domain::{ports::RunRecord, BacktestReport, ConfigFile};
use serde::{Deserialize, Serialize};

use crate::{
    errors::fs_err,
    portfolio::{csv_snapshot, PortfolioWriter},
    read, FUNDING_CSV_HEADER, PLOTS_HEADER, PORTFOLIO_HEADER, ROUND_TRIPS_HEADER,
    ROUND_TRIPS_SYMBOL_HEADER, TRADES_HEADER,
};
use cryptobt_fs::{write_atomic, FsError};

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
pub(crate) fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
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
