//! `CsvMarketData`: the daily CSV files of a data directory behind the domain's `MarketData` port.

use std::{io, path::Path, sync::Arc};

use chrono::NaiveDate;
use cryptobt_domain::{
    ports::{BarQuery, BarSeries, DatasetInfo, MarketData, MarketDataError},
    Bar, FundingRate, Symbol, Timeframe, TradingMode,
};

use crate::{
    bin_cache,
    cache::{BarCache, CacheKey},
    dataset_dir::DatasetDir,
    day::{read_day, DayFile},
    discovery::discover,
    funding::read_funding,
    layout::{days, display, push_day_file_name, DataLayout},
    DataError,
};

/// Ranges of at least this many days are loaded by several threads.
const PARALLEL_FROM_DAYS: usize = 32;

/// Market data read from daily CSV files (docs/data.md), cached in a [`BarCache`].
///
/// Memory follows what is asked for: a query reads only its own days, and the cache holds at most
/// its capacity.
#[derive(Debug, Clone)]
pub struct CsvMarketData {
    layout: DataLayout,
    cache: BarCache,
    /// The last discovery and when it was made: listing ~20 directories on every request of a
    /// busy server costs more than the request.
    datasets: Arc<parking_lot::Mutex<Option<Discovery>>>,
    /// Whether day files are also read from and written to binary sidecars under
    /// `DATA/.cache/` (docs/data.md); on unless switched off.
    sidecars: bool,
}

/// A discovery and when it was made.
type Discovery = (std::time::Instant, Vec<DatasetInfo>);

/// How long a discovery is reused (files added meanwhile show up after this).
const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(2);

impl CsvMarketData {
    /// Reads from `root` (e.g. `data`) through `cache`.
    #[must_use]
    pub fn new(root: impl Into<std::path::PathBuf>, cache: BarCache) -> Self {
        Self { layout: DataLayout::new(root), cache, datasets: Arc::default(), sidecars: true }
    }

    /// The same data with the binary sidecars on or off. Off, every day file not in the
    /// in-memory cache is parsed from its CSV, and nothing is written under `DATA/.cache/` (a
    /// read-only data folder, or a disk without room for the copy).
    #[must_use]
    pub fn with_sidecars(mut self, on: bool) -> Self {
        self.sidecars = on;
        self
    }

    /// Reads from `root` (e.g. `data`) with a cache of 256 MiB and no observer: what a Rust user
    /// who only wants bars needs.
    #[must_use]
    pub fn open(root: impl Into<std::path::PathBuf>) -> Self {
        Self::new(root, BarCache::new(256 << 20, Vec::new()))
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
        self.dataset(mode, symbol, timeframe).day(&self.cache, day)
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
        let dataset = self.dataset(query.mode, query.symbol, query.timeframe);
        let all: Vec<NaiveDate> = days(query.start, query.end).collect();
        let load = |days: &[NaiveDate]| {
            let mut path = String::with_capacity(dataset.relative.len() + 40);
            days.iter()
                .map(|day| dataset.day_with(&self.cache, *day, &mut path))
                .collect::<Result<Vec<_>, _>>()
        };
        // Long ranges are read by a few threads, each a contiguous block of days (the result
        // keeps the day order); a cached range costs too little to be worth a thread.
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        if all.len() < PARALLEL_FROM_DAYS || workers < 2 {
            return Ok(BarSeries::new(load(&all)?));
        }
        let block = all.len().div_ceil(workers);
        let parts: Vec<Result<Vec<Arc<[Bar]>>, DataError>> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                all.chunks(block).map(|days| scope.spawn(move || load(days))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(DataError::InvalidArgument("a loader thread panicked".into()))
                    })
                })
                .collect()
        });
        let mut chunks = Vec::with_capacity(all.len());
        for part in parts {
            chunks.extend(part?);
        }
        Ok(BarSeries::new(chunks))
    }

    fn dataset(&self, mode: TradingMode, symbol: Symbol, timeframe: Timeframe) -> Dataset {
        let relative = display(&DataLayout::dataset_dir(mode, symbol, timeframe));
        let dir = DatasetDir::open(self.layout.root(), Path::new(&relative));
        let sidecars = self.sidecars.then(|| self.layout.root().to_path_buf());
        Dataset { dir, relative, symbol, timeframe, sidecars }
    }

    /// The funding rates of `symbol` for the whole months covering `start..=end`, filtered to
    /// funding times inside the range's days; `None` when no month of the range has a file. A
    /// month without a file lists nothing (its funding times use the run's configured rate).
    ///
    /// # Errors
    /// An unreadable file or an invalid funding row.
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
        let mut cached = self.datasets.lock();
        if let Some((at, sets)) = cached.as_ref() {
            if at.elapsed() < DISCOVERY_TTL {
                return Ok(sets.clone());
            }
        }
        let sets = discover(self.layout.root())?;
        *cached = Some((std::time::Instant::now(), sets.clone()));
        Ok(sets)
    }
}

/// One data set's directory, open for a query.
struct Dataset {
    dir: DatasetDir,
    relative: String,
    symbol: Symbol,
    timeframe: Timeframe,
    /// The data directory, whose `.cache/` holds the day files' binary sidecars; `None` when
    /// they are switched off.
    sidecars: Option<std::path::PathBuf>,
}

impl Dataset {
    fn day(&self, cache: &BarCache, day: NaiveDate) -> Result<Arc<[Bar]>, DataError> {
        let mut path = String::with_capacity(self.relative.len() + 40);
        self.day_with(cache, day, &mut path)
    }

    /// Like [`Dataset::day`], building the file's path in `path` (reused across days so that a
    /// cached range allocates nothing per day).
    fn day_with(
        &self,
        cache: &BarCache,
        day: NaiveDate,
        path: &mut String,
    ) -> Result<Arc<[Bar]>, DataError> {
        path.clear();
        path.push_str(&self.relative);
        path.push('/');
        let name_at = path.len();
        push_day_file_name(path, self.symbol, self.timeframe, day);
        let file = std::mem::take(path);
        let stat = self.dir.stat(&file[name_at..]);
        let (modified, len) = stat.map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => {
                DataError::MissingDay { date: day.to_string(), file: file.clone() }
            }
            _ => DataError::io(file.clone(), &e),
        })?;
        let most = max_day_bytes(self.timeframe);
        if len > most {
            return Err(DataError::file(
                &file,
                format!(
                    "is {len} bytes, more than a day of {} bars can take ({most}); not read",
                    self.timeframe
                ),
            ));
        }
        let key = CacheKey { path: file, modified, len };
        let bars = cache.get_or_load(&key, || {
            // The binary sidecar while the CSV is unchanged; else parse, check, and write it.
            let sidecar = self.sidecars.as_ref().map(|root| bin_cache::sidecar(root, &key.path));
            if let Some(bars) = sidecar.as_ref().and_then(|s| bin_cache::read(s, len, modified)) {
                return Ok(bars);
            }
            let bytes = self
                .dir
                .read(&key.path[name_at..])
                .map_err(|e| DataError::io(key.path.clone(), &e))?;
            let bars =
                read_day(&bytes, DayFile { name: &key.path, day, timeframe: self.timeframe })?;
            if let Some(sidecar) = &sidecar {
                bin_cache::write(sidecar, len, modified, &bars);
            }
            Ok(bars)
        });
        *path = key.path;
        bars
    }
}

/// The largest day file of `timeframe` read: a day's bars at 256 bytes a row (a real row is
/// under 100), plus the header. A bigger file is refused before it is read.
pub(crate) fn max_day_bytes(timeframe: Timeframe) -> u64 {
    let rows = 86_400_000 / timeframe.duration_ms().max(1);
    u64::try_from(rows).unwrap_or(u64::MAX).saturating_mul(256).saturating_add(1_024)
}
