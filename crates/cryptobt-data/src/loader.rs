//! `CsvMarketData`: the daily CSV files of a data directory behind the domain's `MarketData` port.

use std::{fs, io, path::Path, sync::Arc};

use chrono::NaiveDate;
use cryptobt_domain::{
    ports::{BarQuery, BarSeries, DatasetInfo, MarketData, MarketDataError},
    Bar, FundingRate, Symbol, Timeframe, TradingMode,
};

use crate::{
    cache::{BarCache, CacheKey},
    day::{read_day, DayFile},
    discovery::discover,
    funding::read_funding,
    layout::{days, display, DataLayout},
    DataError,
};

/// Market data read from daily CSV files (DESIGN §3), cached in a [`BarCache`].
///
/// Memory follows what is asked for: a query reads only its own days, and the cache holds at most
/// its capacity.
#[derive(Debug, Clone)]
pub struct CsvMarketData {
    layout: DataLayout,
    cache: BarCache,
}

impl CsvMarketData {
    /// Reads from `root` (e.g. `data`) through `cache`.
    #[must_use]
    pub fn new(root: impl Into<std::path::PathBuf>, cache: BarCache) -> Self {
        Self { layout: DataLayout::new(root), cache }
    }

    /// The data directory's layout.
    #[must_use]
    pub fn layout(&self) -> &DataLayout {
        &self.layout
    }

    /// The cache.
    #[must_use]
    pub fn cache(&self) -> &BarCache {
        &self.cache
    }

    /// The bars of one day file, from the cache or the disk.
    ///
    /// # Errors
    /// [`DataError::MissingDay`] when the file does not exist; the file's first invalid row.
    pub fn day(
        &self,
        mode: TradingMode,
        symbol: Symbol,
        timeframe: Timeframe,
        day: NaiveDate,
    ) -> Result<Arc<[Bar]>, DataError> {
        let relative = DataLayout::day_file(mode, symbol, timeframe, day);
        let name = display(&relative);
        let path = self.layout.resolve(&relative);
        let meta = fs::metadata(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                DataError::MissingDay { date: day.to_string(), file: name.clone() }
            }
            _ => DataError::io(name.clone(), &e),
        })?;
        let key = CacheKey {
            path: relative,
            modified: meta.modified().map_err(|e| DataError::io(name.clone(), &e))?,
            len: meta.len(),
        };
        self.cache.get_or_load(&key, || {
            let bytes = fs::read(&path).map_err(|e| DataError::io(name.clone(), &e))?;
            read_day(&bytes, DayFile { name: &name, day, timeframe })
        })
    }

    /// The bars of `query`, as shared day chunks.
    ///
    /// # Errors
    /// The first missing day or invalid row.
    pub fn load(&self, query: &BarQuery) -> Result<BarSeries, DataError> {
        if query.end < query.start {
            return Err(DataError::InvalidArgument(format!(
                "end date {} is before start date {}",
                query.end, query.start
            )));
        }
        let chunks = days(query.start, query.end)
            .map(|day| self.day(query.mode, query.symbol, query.timeframe, day))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BarSeries::new(chunks))
    }

    /// The funding rates of `symbol` for the whole months covering `start..=end`, filtered to
    /// funding times inside the range's days; `None` when no month of the range has a file.
    ///
    /// # Errors
    /// A month missing between months that have files; an invalid funding row.
    pub fn funding(
        &self,
        symbol: Symbol,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Option<Vec<FundingRate>>, DataError> {
        read_funding(&self.layout, symbol, start, end)
    }
}

impl MarketData for CsvMarketData {
    fn bars(&self, query: &BarQuery) -> Result<BarSeries, MarketDataError> {
        Ok(self.load(query)?)
    }

    fn funding_rates(
        &self,
        symbol: Symbol,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Option<Vec<FundingRate>>, MarketDataError> {
        Ok(self.funding(symbol, start, end)?)
    }

    fn datasets(&self) -> Result<Vec<DatasetInfo>, MarketDataError> {
        Ok(discover(self.layout.root())?)
    }
}

pub(crate) fn read_to_bytes(root: &Path, relative: &Path) -> Result<Option<Vec<u8>>, DataError> {
    match fs::read(root.join(relative)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DataError::io(display(relative), &e)),
    }
}
