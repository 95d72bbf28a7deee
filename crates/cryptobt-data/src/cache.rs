//! The bar cache: a moka cache of parsed day files, weighed by bytes, that tells observers what
//! it does.
//!
//! A file is keyed by its path, modification time and size, so a changed file is never served
//! stale: its new key simply misses. Two runs asking for the same day at once load it once (moka's
//! `try_get_with` makes the second caller wait for the first's load).

use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::SystemTime,
};

use cryptobt_domain::Bar;
use serde::Serialize;

use crate::DataError;

/// Identifies one version of one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The file, relative to the data directory, with `/` separators.
    pub path: String,
    /// Its modification time.
    pub modified: SystemTime,
    /// Its size in bytes.
    pub len: u64,
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

/// Receives what the cache does (ripgrep's `Sink` style: the cache pushes, every method defaults
/// to doing nothing).
pub trait CacheObserver: Send + Sync {
    /// A request was served from memory.
    fn on_hit(&self, key: &CacheKey) {
        let _ = key;
    }
    /// A request had to read the file.
    fn on_miss(&self, key: &CacheKey) {
        let _ = key;
    }
    /// A parsed file was stored, weighing `bytes`.
    fn on_insert(&self, key: &CacheKey, bytes: u64) {
        let _ = (key, bytes);
    }
    /// A stored file was dropped (capacity, replacement or invalidation).
    fn on_evict(&self, key: &CacheKey, bytes: u64) {
        let _ = (key, bytes);
    }
    /// Reading or validating the file failed; nothing was stored.
    fn on_load_error(&self, key: &CacheKey, error: &DataError) {
        let _ = (key, error);
    }
}

/// Counts what the cache does; the API shows a [`CacheStatsSnapshot`] of it.
#[derive(Debug, Default)]
pub struct CacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    evictions: AtomicU64,
    load_errors: AtomicU64,
    bytes_held: AtomicU64,
}

/// The counters of a [`CacheStats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheStatsSnapshot {
    /// Requests served from memory.
    pub hits: u64,
    /// Requests that read a file.
    pub misses: u64,
    /// Files stored.
    pub inserts: u64,
    /// Files dropped.
    pub evictions: u64,
    /// Failed loads.
    pub load_errors: u64,
    /// Bytes of bars held now.
    pub bytes_held: u64,
}

impl CacheStats {
    /// The counters now.
    #[must_use]
    pub fn snapshot(&self) -> CacheStatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStatsSnapshot {
            hits: get(&self.hits),
            misses: get(&self.misses),
            inserts: get(&self.inserts),
            evictions: get(&self.evictions),
            load_errors: get(&self.load_errors),
            bytes_held: get(&self.bytes_held),
        }
    }
}

impl CacheObserver for CacheStats {
    fn on_hit(&self, _: &CacheKey) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }
    fn on_miss(&self, _: &CacheKey) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }
    fn on_insert(&self, _: &CacheKey, bytes: u64) {
        self.inserts.fetch_add(1, Ordering::Relaxed);
        self.bytes_held.fetch_add(bytes, Ordering::Relaxed);
    }
    fn on_evict(&self, _: &CacheKey, bytes: u64) {
        self.evictions.fetch_add(1, Ordering::Relaxed);
        self.bytes_held.fetch_sub(bytes, Ordering::Relaxed);
    }
    fn on_load_error(&self, _: &CacheKey, _: &DataError) {
        self.load_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes cache events to `tracing` (misses, inserts and evictions at debug, errors at warn).
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingObserver;

impl CacheObserver for TracingObserver {
    fn on_hit(&self, key: &CacheKey) {
        tracing::trace!(file = %key, "bar cache hit");
    }
    fn on_miss(&self, key: &CacheKey) {
        tracing::debug!(file = %key, "bar cache miss");
    }
    fn on_insert(&self, key: &CacheKey, bytes: u64) {
        tracing::debug!(file = %key, bytes, "bar cache insert");
    }
    fn on_evict(&self, key: &CacheKey, bytes: u64) {
        tracing::debug!(file = %key, bytes, "bar cache eviction");
    }
    fn on_load_error(&self, key: &CacheKey, error: &DataError) {
        tracing::warn!(file = %key, %error, "bar file failed to load");
    }
}

type Observers = Arc<Vec<Arc<dyn CacheObserver>>>;

/// Parsed day files in memory, at most `capacity_bytes` of bars.
#[derive(Clone)]
pub struct BarCache {
    inner: moka::sync::Cache<CacheKey, Arc<[Bar]>>,
    observers: Observers,
    capacity_bytes: u64,
}

impl fmt::Debug for BarCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarCache")
            .field("capacity_bytes", &self.capacity_bytes)
            .field("entries", &self.inner.entry_count())
            .finish_non_exhaustive()
    }
}

/// The weight of a cached day: its bars' bytes.
fn weight(bars: &[Bar]) -> u64 {
    std::mem::size_of_val(bars) as u64
}

impl BarCache {
    /// The default capacity: 256 MiB of bars (about 2.9 million bars).
    pub const DEFAULT_CAPACITY_BYTES: u64 = 256 << 20;

    /// A cache holding at most `capacity_bytes` of bars, telling `observers` what it does.
    #[must_use]
    pub fn new(capacity_bytes: u64, observers: Vec<Arc<dyn CacheObserver>>) -> Self {
        let observers: Observers = Arc::new(observers);
        let listener = Arc::clone(&observers);
        let inner = moka::sync::Cache::builder()
            .max_capacity(capacity_bytes)
            .weigher(|_: &CacheKey, bars: &Arc<[Bar]>| {
                u32::try_from(weight(bars)).unwrap_or(u32::MAX)
            })
            .eviction_listener(move |key: Arc<CacheKey>, bars: Arc<[Bar]>, _cause| {
                for o in listener.iter() {
                    o.on_evict(&key, weight(&bars));
                }
            })
            .build();
        Self { inner, observers, capacity_bytes }
    }

    /// The configured capacity in bytes.
    #[must_use]
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// The bars of `key`, from memory or from `load` (run at most once at a time per key).
    ///
    /// # Errors
    /// `load`'s error; nothing is stored then.
    pub fn get_or_load(
        &self,
        key: &CacheKey,
        load: impl FnOnce() -> Result<Vec<Bar>, DataError>,
    ) -> Result<Arc<[Bar]>, DataError> {
        if let Some(bars) = self.inner.get(key) {
            self.notify(|o| o.on_hit(key));
            return Ok(bars);
        }
        let loaded = AtomicBool::new(false);
        let result = self.inner.try_get_with_by_ref(key, || {
            loaded.store(true, Ordering::Relaxed);
            self.notify(|o| o.on_miss(key));
            load().map(Arc::from)
        });
        let loaded = loaded.load(Ordering::Relaxed);
        match result {
            Ok(bars) if loaded => {
                self.notify(|o| o.on_insert(key, weight(&bars)));
                Ok(bars)
            }
            Ok(bars) => {
                self.notify(|o| o.on_hit(key));
                Ok(bars)
            }
            Err(error) => {
                if loaded {
                    self.notify(|o| o.on_load_error(key, &error));
                }
                Err(DataError::clone(&error))
            }
        }
    }

    /// Runs moka's pending maintenance now (evictions and their notifications).
    pub fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks();
    }

    /// Drops everything (observers see each eviction).
    pub fn clear(&self) {
        self.inner.invalidate_all();
        self.inner.run_pending_tasks();
    }

    /// Entries held (approximate until [`run_pending_tasks`](Self::run_pending_tasks)).
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    fn notify(&self, event: impl Fn(&dyn CacheObserver)) {
        for o in self.observers.iter() {
            event(o.as_ref());
        }
    }
}
