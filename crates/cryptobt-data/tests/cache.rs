//! The bar cache: hits and misses, no stale data after a file changes, one load for concurrent
//! readers, eviction by bytes, and observers seeing all of it.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

use std::{
    sync::{Arc, Barrier},
    time::{Duration, SystemTime},
};

use common::*;
use cryptobt_data::{BarCache, CacheKey, CacheObserver, CacheStats, CsvMarketData, DataError};
use cryptobt_domain::{Timeframe, TradingMode};
use parking_lot::Mutex;

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl CacheObserver for Recorder {
    fn on_hit(&self, key: &CacheKey) {
        self.0.lock().push(format!("hit {key}"));
    }
    fn on_miss(&self, key: &CacheKey) {
        self.0.lock().push(format!("miss {key}"));
    }
    fn on_insert(&self, key: &CacheKey, bytes: u64) {
        self.0.lock().push(format!("insert {key} {bytes}"));
    }
    fn on_load_error(&self, key: &CacheKey, _: &DataError) {
        self.0.lock().push(format!("error {key}"));
    }
}

#[test]
fn second_read_is_a_hit_and_observers_see_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = day(2025, 1, 1);
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, d, &day_csv(Timeframe::H4, d));
    let recorder = Arc::new(Recorder::default());
    let stats = Arc::new(CacheStats::default());
    let data = CsvMarketData::new(
        dir.path(),
        BarCache::new(1 << 20, vec![recorder.clone(), stats.clone()]),
    );
    let first = data.day(TradingMode::Spot, btc(), Timeframe::H4, d).unwrap();
    let second = data.day(TradingMode::Spot, btc(), Timeframe::H4, d).unwrap();
    assert!(Arc::ptr_eq(&first, &second), "a hit hands over the same rows, not a copy");
    let bytes = 6 * std::mem::size_of::<cryptobt_domain::Bar>();
    let file = "binance/spot/BTCUSDT/4h/BTCUSDT_4h_2025-01-01.csv";
    assert_eq!(
        *recorder.0.lock(),
        [format!("miss {file}"), format!("insert {file} {bytes}"), format!("hit {file}")]
    );
    let s = stats.snapshot();
    assert_eq!((s.hits, s.misses, s.inserts, s.bytes_held), (1, 1, 1, bytes as u64));
}

#[test]
fn a_changed_file_is_never_served_stale() {
    let dir = tempfile::tempdir().unwrap();
    let d = day(2025, 1, 1);
    write_day(dir.path(), TradingMode::Spot, Timeframe::D1, d, &day_csv(Timeframe::D1, d));
    let data = CsvMarketData::new(dir.path(), BarCache::new(1 << 20, vec![]));
    let before = data.day(TradingMode::Spot, btc(), Timeframe::D1, d).unwrap();
    assert_eq!(before[0].close.to_string(), "100.5");
    // Same size, different content and a later modification time.
    let changed = day_csv(Timeframe::D1, d).replace(",100.5,", ",100.7,");
    write_day(dir.path(), TradingMode::Spot, Timeframe::D1, d, &changed);
    let path = dir.path().join("binance/spot/BTCUSDT/1d/BTCUSDT_1d_2025-01-01.csv");
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(5)).unwrap();
    let after = data.day(TradingMode::Spot, btc(), Timeframe::D1, d).unwrap();
    assert_eq!(after[0].close.to_string(), "100.7");
}

#[test]
fn concurrent_readers_of_one_day_load_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = day(2025, 1, 1);
    write_day(dir.path(), TradingMode::Spot, Timeframe::M1, d, &day_csv(Timeframe::M1, d));
    let stats = Arc::new(CacheStats::default());
    let data =
        Arc::new(CsvMarketData::new(dir.path(), BarCache::new(1 << 24, vec![stats.clone()])));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (data, barrier) = (data.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                data.day(TradingMode::Spot, btc(), Timeframe::M1, d).unwrap().len()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 1_440);
    }
    let s = stats.snapshot();
    assert_eq!((s.misses, s.inserts, s.hits), (1, 1, 7));
}

#[test]
fn the_cache_evicts_by_bytes_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for d in 1..=4 {
        write_day(
            dir.path(),
            TradingMode::Spot,
            Timeframe::M1,
            day(2025, 1, d),
            &day_csv(Timeframe::M1, day(2025, 1, d)),
        );
    }
    let stats = Arc::new(CacheStats::default());
    let one_day = (1_440 * std::mem::size_of::<cryptobt_domain::Bar>()) as u64;
    let cache = BarCache::new(2 * one_day + one_day / 2, vec![stats.clone()]);
    let data = CsvMarketData::new(dir.path(), cache.clone());
    for d in 1..=4 {
        data.day(TradingMode::Spot, btc(), Timeframe::M1, day(2025, 1, d)).unwrap();
    }
    cache.run_pending_tasks();
    let s = stats.snapshot();
    assert_eq!(s.inserts, 4);
    assert!(s.evictions >= 2, "{s:?}");
    assert!(s.bytes_held <= 2 * one_day, "{s:?}");
    assert_eq!(s.bytes_held, (s.inserts - s.evictions) * one_day);
    cache.clear();
    assert_eq!(stats.snapshot().bytes_held, 0);
}
