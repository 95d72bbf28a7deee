//! `cryptobt data verify`: a report per data set of days, rows, gaps, duplicates and bad rows.

use std::{fs, path::Path};

use chrono::{DateTime, NaiveDate};
use cryptobt_domain::{Symbol, Timeframe, TradingMode};
use serde::Serialize;

use crate::{
    day::{scan_day, DayFile, RowIssue},
    discovery::{dataset_days, discover},
    funding::parse_funding,
    layout::{day_start_ms, days, display, DataLayout},
    DataError,
};

/// Problems kept per set at most (a bound on memory for a badly broken set); the counters keep
/// counting past it, and `unlisted` says how many were not kept.
const MAX_LISTED: usize = 10_000;

/// The findings for one market, symbol and timeframe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetReport {
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
    /// Day files present.
    pub days: usize,
    /// Days between the first and the last without a file.
    pub missing_days: usize,
    /// Valid rows read.
    pub rows: u64,
    /// Bars missing from the timeframe grid inside the days present.
    pub gaps: u64,
    /// Rows repeating the previous row's timestamp.
    pub duplicates: u64,
    /// Rows breaking a rule of docs/data.md, and unreadable files.
    pub bad_rows: u64,
    /// The problems, each naming the file and line or the date (the first 10,000).
    pub problems: Vec<String>,
    /// Problems found past those listed.
    pub unlisted: u64,
}

impl SetReport {
    /// Whether the set has no problem at all.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.missing_days == 0 && self.gaps == 0 && self.duplicates == 0 && self.bad_rows == 0
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_LISTED {
            self.problems.push(text);
        } else {
            self.unlisted += 1;
        }
    }
}

/// The findings for one symbol's funding files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundingReport {
    /// The symbol.
    pub symbol: Symbol,
    /// Month files read.
    pub files: usize,
    /// Funding events read.
    pub events: u64,
    /// Problems, each naming the file and line.
    pub problems: Vec<String>,
}

/// Everything `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct VerifyReport {
    /// One entry per data set.
    pub sets: Vec<SetReport>,
    /// One entry per futures symbol with a funding directory.
    pub funding: Vec<FundingReport>,
}

impl VerifyReport {
    /// Whether every set and funding file is clean (and there was something to check).
    #[must_use]
    pub fn is_clean(&self) -> bool {
        !self.sets.is_empty()
            && self.sets.iter().all(SetReport::is_clean)
            && self.funding.iter().all(|f| f.problems.is_empty())
    }
}

/// Checks every data set under `root`, optionally only those of one market and symbol.
///
/// # Errors
/// An unreadable directory (problems inside files are findings, not errors).
pub fn verify(root: &Path, only: Option<(TradingMode, Symbol)>) -> Result<VerifyReport, DataError> {
    let mut report = VerifyReport::default();
    for info in discover(root)? {
        if only.is_some_and(|(m, s)| (m, s) != (info.mode, info.symbol)) {
            continue;
        }
        report.sets.push(verify_set(root, info.mode, info.symbol, info.timeframe)?);
    }
    let mut futures: Vec<Symbol> =
        report.sets.iter().filter(|s| s.mode == TradingMode::Futures).map(|s| s.symbol).collect();
    futures.dedup();
    for symbol in futures {
        if let Some(funding) = verify_funding(root, symbol)? {
            report.funding.push(funding);
        }
    }
    Ok(report)
}

fn time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

fn verify_set(
    root: &Path,
    mode: TradingMode,
    symbol: Symbol,
    timeframe: Timeframe,
) -> Result<SetReport, DataError> {
    let present = dataset_days(root, mode, symbol, timeframe)?;
    let (first_day, last_day) = match (present.first(), present.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => return Err(DataError::NoData { what: format!("{symbol} {timeframe} ({mode})") }),
    };
    let mut set = SetReport {
        mode,
        symbol,
        timeframe,
        first_day,
        last_day,
        days: present.len(),
        missing_days: 0,
        rows: 0,
        gaps: 0,
        duplicates: 0,
        bad_rows: 0,
        problems: Vec::new(),
        unlisted: 0,
    };
    let step = timeframe.duration_ms();
    for day in days(first_day, last_day) {
        let relative = DataLayout::day_file(mode, symbol, timeframe, day);
        let name = display(&relative);
        if present.binary_search(&day).is_err() {
            set.missing_days += 1;
            set.problem(format!("missing day {day}: {name} does not exist"));
            continue;
        }
        let bytes = match fs::read(root.join(&relative)) {
            Ok(bytes) => bytes,
            Err(e) => {
                set.bad_rows += 1;
                set.problem(DataError::io(name, &e).to_string());
                continue;
            }
        };
        let scan = match scan_day(&bytes, DayFile { name: &name, day, timeframe }) {
            Ok(scan) => scan,
            Err(e) => {
                set.bad_rows += 1;
                set.problem(e.to_string());
                continue;
            }
        };
        for issue in &scan.issues {
            match issue {
                RowIssue::Bad { line, message } => {
                    set.bad_rows += 1;
                    set.problem(format!("{name}:{line}: {message}"));
                }
                RowIssue::Duplicate { line, timestamp } => {
                    set.duplicates += 1;
                    set.problem(format!(
                        "{name}:{line}: duplicate timestamp {timestamp} ({})",
                        time(*timestamp)
                    ));
                }
            }
        }
        set.rows += scan.bars.len() as u64;
        // Missing slots of the day's grid, reported as ranges.
        let mut expected = day_start_ms(day);
        let end = expected + 86_400_000;
        for ts in scan.bars.iter().map(|b| b.timestamp).chain(std::iter::once(end)) {
            if ts > expected {
                let missing = (ts - expected) / step;
                set.gaps += missing as u64;
                set.problem(format!(
                    "{name}: gap of {missing} bar(s) from {} to {}",
                    time(expected),
                    time(ts - step)
                ));
            }
            expected = ts + step;
        }
    }
    Ok(set)
}

fn verify_funding(root: &Path, symbol: Symbol) -> Result<Option<FundingReport>, DataError> {
    let relative = DataLayout::symbol_dir(TradingMode::Futures, symbol).join("funding");
    let dir = match fs::read_dir(root.join(&relative)) {
        Ok(dir) => dir,
        Err(_) => return Ok(None),
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    names.sort_unstable();
    let mut report = FundingReport { symbol, files: 0, events: 0, problems: Vec::new() };
    let mut previous: Option<i64> = None;
    for name in names {
        let file = display(&relative.join(&name));
        report.files += 1;
        let parsed = fs::read(root.join(&relative).join(&name))
            .map_err(|e| DataError::io(file.clone(), &e))
            .and_then(|bytes| parse_funding(&bytes, &file));
        match parsed {
            Ok(rates) => {
                for rate in &rates {
                    if previous.is_some_and(|p| rate.timestamp != p + crate::FUNDING_INTERVAL_MS) {
                        let after = previous.map_or_else(String::new, time);
                        report.problems.push(format!(
                            "{file}: funding gap: {} follows {after}",
                            time(rate.timestamp)
                        ));
                    }
                    previous = Some(rate.timestamp);
                }
                report.events += rates.len() as u64;
            }
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    Ok(Some(report))
}
