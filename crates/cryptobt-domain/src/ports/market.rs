//! The market-data port: bars and funding rates for a symbol and range, and what exists.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Bar, FundingRate, Symbol, Timeframe, TradingMode};

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

impl BarQuery {
    /// The bars of a run's primary symbol: its market, symbol, timeframe and days.
    #[must_use]
    pub fn of(config: &crate::BacktestConfig) -> Self {
        Self::of_symbol(config, config.symbol())
    }

    /// The bars of `symbol` in a run: its market, timeframe and days.
    #[must_use]
    pub fn of_symbol(config: &crate::BacktestConfig, symbol: Symbol) -> Self {
        Self {
            mode: config.trading_mode(),
            symbol,
            timeframe: config.timeframe(),
            start: config.start_date(),
            end: config.end_date(),
        }
    }
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
    /// The bars at indexes `from..to` (0-based over every chunk), in order.
    pub fn range(&self, from: usize, to: usize) -> impl Iterator<Item = &Bar> + '_ {
        let mut skip = from;
        let mut first = self.chunks.len();
        for (i, chunk) in self.chunks.iter().enumerate() {
            if skip < chunk.len() {
                first = i;
                break;
            }
            skip -= chunk.len();
        }
        self.chunks[first.min(self.chunks.len())..]
            .iter()
            .flat_map(|c| c.iter())
            .skip(skip)
            .take(to.saturating_sub(from))
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
#[derive(Debug, Clone, Error)]
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
        /// What failed.
        message: String,
        /// Why (the OS error...), when known.
        #[source]
        source: Option<super::Cause>,
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
