//! The file result store's listing and retention over real folders.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

use chrono::{TimeZone, Utc};
use cryptobt_domain::{
    ports::{ResultStore, RunRecord},
    testkit, BacktestId, RunStatus, TradingMode,
};
use cryptobt_store::FileResultStore;
use rust_decimal::Decimal;

fn record(n: u32, status: RunStatus) -> RunRecord {
    let created_at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, n).unwrap();
    RunRecord {
        backtest_id: BacktestId::parse(&format!("bt_20260101_0000{n:02}_run{n:03}")).unwrap(),
        created_at,
        strategy_code: format!("-- strategy {n}\nfunction on_data(b) end"),
        config: testkit::config(TradingMode::Spot, Decimal::from(1_000), Decimal::ONE),
        status,
        error: None,
    }
}

/// The listing is kept in memory: a second listing reads no run file (a config.json changed in
/// place is not re-read), while a folder added or removed by another process is seen.
#[test]
fn listing_reads_each_run_once_and_follows_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileResultStore::new(dir.path());
    for n in 0..5 {
        store.save(&record(n, RunStatus::Completed), None).unwrap();
    }
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[0].backtest_id.as_str(), "bt_20260101_000004_run004", "newest first");
    assert!(listed[0].strategy_code.is_empty(), "the listing leaves the source out");
    assert_eq!(
        store.record(&listed[0].backtest_id).unwrap().strategy_code,
        "-- strategy 4\nfunction on_data(b) end"
    );

    let runs = dir.path().join("backtests");
    std::fs::write(runs.join("bt_20260101_000001_run001/config.json"), "garbage").unwrap();
    assert_eq!(store.list().unwrap().len(), 5, "not re-read");

    // Another process (a second store over the same folder) adds one; this one removes one by hand.
    FileResultStore::new(dir.path()).save(&record(7, RunStatus::Completed), None).unwrap();
    std::fs::remove_dir_all(runs.join("bt_20260101_000002_run002")).unwrap();
    let ids: Vec<String> =
        store.list().unwrap().iter().map(|r| r.backtest_id.to_string()).collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(ids.contains(&"bt_20260101_000007_run007".to_owned()));
    assert!(!ids.contains(&"bt_20260101_000002_run002".to_owned()));
}

/// Retention keeps the newest runs and never deletes one that is queued or running.
#[test]
fn prune_deletes_the_oldest_finished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileResultStore::new(dir.path());
    store.save(&record(0, RunStatus::Running), None).unwrap();
    for n in 1..6 {
        store.save(&record(n, RunStatus::Completed), None).unwrap();
    }
    assert_eq!(store.prune(3).unwrap().len(), 3);
    let ids: Vec<String> =
        store.list().unwrap().iter().map(|r| r.backtest_id.to_string()).collect();
    assert_eq!(
        ids,
        ["bt_20260101_000005_run005", "bt_20260101_000004_run004", "bt_20260101_000000_run000"]
    );
    assert!(!dir.path().join("backtests/bt_20260101_000001_run001").exists());
    assert!(store.prune(3).unwrap().is_empty());
}

/// A damaged config.json is listed as damaged, whether the listing or a read finds it first.
#[test]
fn damaged_runs_are_listed_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    for n in 0..2 {
        FileResultStore::new(dir.path()).save(&record(n, RunStatus::Completed), None).unwrap();
    }
    let runs = dir.path().join("backtests");
    std::fs::write(runs.join("bt_20260101_000000_run000/config.json"), "{").unwrap();
    let store = FileResultStore::new(dir.path());
    assert_eq!(store.list().unwrap().len(), 1);
    let damaged = store.list_damaged();
    assert_eq!(damaged.len(), 1);
    assert_eq!(
        (damaged[0].backtest_id.as_str(), damaged[0].file),
        ("bt_20260101_000000_run000", "config.json")
    );
    // Found by a read after the listing was built.
    std::fs::write(runs.join("bt_20260101_000001_run001/config.json"), "[]").unwrap();
    let id = BacktestId::parse("bt_20260101_000001_run001").unwrap();
    assert!(store.record(&id).is_err());
    assert_eq!(store.list_damaged().len(), 2);
    assert!(store.list().unwrap().is_empty());
}

/// A `--out` folder (one run's files, no `backtests/`) is opened as what it is: its run is
/// listed and loaded, and another run's id neither finds nor deletes it.
#[test]
fn a_one_run_folder_is_listed_and_reopened() {
    use cryptobt_store::Layout;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let written = FileResultStore::single_folder(&out);
    written.save(&record(3, RunStatus::Completed), None).unwrap();
    assert!(out.join("config.json").is_file() && !out.join("backtests").exists());

    let store = FileResultStore::open(&out);
    assert_eq!(store.layout(), Layout::OneRun);
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].backtest_id.as_str(), "bt_20260101_000003_run003");
    assert_eq!(store.listing().unwrap().len(), 1);
    let loaded = store.load(&listed[0].backtest_id, 10).unwrap();
    assert_eq!(loaded.record.strategy_code, "-- strategy 3\nfunction on_data(b) end");

    let other = record(4, RunStatus::Completed).backtest_id;
    assert!(store.record(&other).is_err(), "another id is not this folder's run");
    assert!(store.delete(&other).is_err());
    assert!(out.join("config.json").is_file(), "and never deletes it");

    // A results folder opens as one.
    assert_eq!(FileResultStore::open(dir.path()).layout(), Layout::Runs);
}
