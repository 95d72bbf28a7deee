//! Where files live: the daily layout of docs/data.md under a data directory.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use cryptobt_domain::{Symbol, Timeframe, TradingMode};

/// The on-disk layout under a data directory:
/// `binance/{spot|futures}/{SYMBOL}/{TIMEFRAME}/{SYMBOL}_{TIMEFRAME}_{YYYY-MM-DD}.csv` and
/// `binance/futures/{SYMBOL}/funding/{SYMBOL}_funding_{YYYY-MM}.csv`.
///
/// Paths are built only from validated values (`Symbol`, `Timeframe`, `NaiveDate`), never from
/// raw user text, so they cannot leave the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataLayout {
    root: PathBuf,
}

/// The header every daily bar file starts with.
pub const BAR_HEADER: &str = "timestamp,open,high,low,close,volume";
/// The header every monthly funding file starts with.
pub const FUNDING_HEADER: &str = "timestamp,funding_rate";

impl DataLayout {
    /// The layout under `root` (e.g. `data`).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The data directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one data set, relative to the root.
    #[must_use]
    pub fn dataset_dir(mode: TradingMode, symbol: Symbol, timeframe: Timeframe) -> PathBuf {
        Self::symbol_dir(mode, symbol).join(timeframe.as_str())
    }

    /// The directory of one market and symbol, relative to the root.
    #[must_use]
    pub fn symbol_dir(mode: TradingMode, symbol: Symbol) -> PathBuf {
        PathBuf::from("binance").join(mode.as_str()).join(symbol.as_str())
    }

    /// The file of one day, relative to the root.
    #[must_use]
    pub fn day_file(
        mode: TradingMode,
        symbol: Symbol,
        timeframe: Timeframe,
        day: NaiveDate,
    ) -> PathBuf {
        Self::dataset_dir(mode, symbol, timeframe).join(day_file_name(symbol, timeframe, day))
    }

    /// The funding file of one month, relative to the root.
    #[must_use]
    pub fn funding_file(symbol: Symbol, month: NaiveDate) -> PathBuf {
        Self::symbol_dir(TradingMode::Futures, symbol).join("funding").join(format!(
            "{symbol}_funding_{:04}-{:02}.csv",
            month.year(),
            month.month()
        ))
    }

    /// An absolute (root-joined) path for a relative one.
    #[must_use]
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        self.root.join(relative)
    }
}

/// `{SYMBOL}_{TIMEFRAME}_{YYYY-MM-DD}.csv`.
#[must_use]
pub fn day_file_name(symbol: Symbol, timeframe: Timeframe, day: NaiveDate) -> String {
    format!("{symbol}_{timeframe}_{:04}-{:02}-{:02}.csv", day.year(), day.month(), day.day())
}

/// Appends `{SYMBOL}_{TIMEFRAME}_{YYYY-MM-DD}.csv` to `out` without allocating.
pub(crate) fn push_day_file_name(
    out: &mut String,
    symbol: Symbol,
    timeframe: Timeframe,
    day: NaiveDate,
) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "{symbol}_{timeframe}_{:04}-{:02}-{:02}.csv",
        day.year(),
        day.month(),
        day.day()
    );
}

/// The day of a daily file name of `symbol` and `timeframe`, if the name has that shape.
#[must_use]
pub(crate) fn parse_day_file_name(
    name: &str,
    symbol: Symbol,
    timeframe: Timeframe,
) -> Option<NaiveDate> {
    let rest = name.strip_prefix(symbol.as_str())?.strip_prefix('_')?;
    let rest = rest.strip_prefix(timeframe.as_str())?.strip_prefix('_')?;
    let date = rest.strip_suffix(".csv")?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == date)
}

/// Milliseconds since the epoch of a day's 00:00 UTC.
#[must_use]
pub fn day_start_ms(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis())
}

/// Days `start..=end` in order.
pub(crate) fn days(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    start.iter_days().take_while(move |d| *d <= end)
}

/// Relative path as text with `/` separators, for messages.
#[must_use]
pub(crate) fn display(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// The bytes of `root/relative` (through any link the operator placed), `None` when it does not
/// exist (a missing funding month, say).
///
/// # Errors
/// A [`crate::DataError`] naming the file when it cannot be read.
pub(crate) fn read_to_bytes(
    root: &std::path::Path,
    relative: &std::path::Path,
) -> Result<Option<Vec<u8>>, crate::DataError> {
    match std::fs::read(root.join(relative)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::DataError::io(display(relative), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_design() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let day = NaiveDate::from_ymd_opt(2025, 1, 5).unwrap();
        let p = DataLayout::day_file(TradingMode::Spot, btc, Timeframe::H1, day);
        assert_eq!(display(&p), "binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-05.csv");
        let f = DataLayout::funding_file(btc, day);
        assert_eq!(display(&f), "binance/futures/BTCUSDT/funding/BTCUSDT_funding_2025-01.csv");
        assert_eq!(parse_day_file_name("BTCUSDT_1h_2025-01-05.csv", btc, Timeframe::H1), Some(day));
        assert_eq!(parse_day_file_name("BTCUSDT_1h_2025-1-5.csv", btc, Timeframe::H1), None);
        assert_eq!(parse_day_file_name("BTCUSDT_15m_2025-01-05.csv", btc, Timeframe::H1), None);
        assert_eq!(day_start_ms(day), 1_736_035_200_000);
        assert_eq!(days(day, day.succ_opt().unwrap()).count(), 2);
    }
}
