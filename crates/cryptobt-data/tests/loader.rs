//! The loader against real files: values, every validation rule with its message, ranges,
//! missing days, funding files and discovery.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

use std::sync::Arc;

use common::*;
use cryptobt_data::{BarCache, CacheStats, CsvMarketData, DataError};
use cryptobt_domain::{
    ports::{BarQuery, MarketData},
    Timeframe, TradingMode,
};
use rust_decimal_macros::dec;

fn loader(root: &std::path::Path) -> (CsvMarketData, Arc<CacheStats>) {
    let stats = Arc::new(CacheStats::default());
    let cache = BarCache::new(BarCache::DEFAULT_CAPACITY_BYTES, vec![stats.clone()]);
    (CsvMarketData::new(root, cache), stats)
}

fn query(tf: Timeframe, start: chrono::NaiveDate, end: chrono::NaiveDate) -> BarQuery {
    BarQuery { mode: TradingMode::Spot, symbol: btc(), timeframe: tf, start, end }
}

#[test]
fn reads_a_range_of_days_in_order_with_exact_values() {
    let dir = tempfile::tempdir().unwrap();
    for d in 1..=3 {
        write_day(
            dir.path(),
            TradingMode::Spot,
            Timeframe::H4,
            day(2025, 1, d),
            &day_csv(Timeframe::H4, day(2025, 1, d)),
        );
    }
    let (data, _) = loader(dir.path());
    let series = data.bars(&query(Timeframe::H4, day(2025, 1, 1), day(2025, 1, 3))).unwrap();
    assert_eq!(series.len(), 18);
    assert_eq!(series.chunks().len(), 3);
    let bars: Vec<_> = series.iter().collect();
    assert_eq!(bars[0].timestamp, 1_735_689_600_000);
    assert_eq!(
        (bars[0].open, bars[0].high, bars[0].low, bars[0].close),
        (dec!(100), dec!(102), dec!(99), dec!(100.5))
    );
    assert_eq!(bars[0].volume, dec!(1.25));
    assert!(bars.windows(2).all(|w| w[1].timestamp - w[0].timestamp == 14_400_000));
}

#[test]
fn a_missing_day_is_an_error_naming_the_date_and_file() {
    let dir = tempfile::tempdir().unwrap();
    write_day(
        dir.path(),
        TradingMode::Spot,
        Timeframe::D1,
        day(2025, 1, 1),
        &day_csv(Timeframe::D1, day(2025, 1, 1)),
    );
    write_day(
        dir.path(),
        TradingMode::Spot,
        Timeframe::D1,
        day(2025, 1, 3),
        &day_csv(Timeframe::D1, day(2025, 1, 3)),
    );
    let (data, _) = loader(dir.path());
    let err = data.load(&query(Timeframe::D1, day(2025, 1, 1), day(2025, 1, 3))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing day 2025-01-02: binance/spot/BTCUSDT/1d/BTCUSDT_1d_2025-01-02.csv does not exist"
    );
    assert!(!err.to_string().contains(&dir.path().display().to_string()), "no server path");
}

/// Replaces line `line` (1-based, the header is 1) of a valid 4h day and loads it.
#[track_caller]
fn check_bad(line: usize, replacement: &str, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = day(2025, 1, 2);
    let mut lines: Vec<String> = day_csv(Timeframe::H4, d).lines().map(str::to_owned).collect();
    lines[line - 1] = replacement.to_owned();
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, d, &(lines.join("\n") + "\n"));
    let (data, stats) = loader(dir.path());
    let err = data.load(&query(Timeframe::H4, d, d)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("binance/spot/BTCUSDT/4h/BTCUSDT_4h_2025-01-02.csv:{line}: {expect}")
    );
    assert_eq!(stats.snapshot().load_errors, 1);
    assert_eq!(stats.snapshot().inserts, 0, "a bad file is never cached");
}

#[test]
fn every_rule_of_design_3_names_file_line_and_value() {
    // 2025-01-02 00:00 = 1735776000000; 04:00 = +14400000.
    // The header's text is never echoed (a linked file may hold anything): the column is named.
    check_bad(1, "time,open,high,low,close,volume", "the header is not \"timestamp,open,high,low,close,volume\": column 1 should be \"timestamp\" (6 columns found)");
    check_bad(
        1,
        "timestamp,open,high,low,close,volume,secret",
        "the header is not \"timestamp,open,high,low,close,volume\": 7 columns found, 6 expected",
    );
    check_bad(1, "root:x:0:0:root:/root:/bin/bash", "the header is not \"timestamp,open,high,low,close,volume\": column 1 should be \"timestamp\" (1 column found)");
    check_bad(3, "1735790400000,101,103,100,0,1", "close \"0\" is not a positive plain decimal");
    check_bad(
        3,
        "1735790400000,-101,103,100,101,1",
        "open \"-101\" is not a positive plain decimal",
    );
    check_bad(3, "1735790400000,NaN,103,100,101,1", "open \"NaN\" is not a positive plain decimal");
    check_bad(
        3,
        "1735790400000,101,103,100,101,inf",
        "volume \"inf\" is not a non-negative plain decimal",
    );
    check_bad(
        3,
        "1735790400000,101,103,100,101,-1",
        "volume \"-1\" is not a non-negative plain decimal",
    );
    check_bad(
        3,
        "1735790400000,9.4e4,103,100,101,1",
        "open \"9.4e4\" is not a positive plain decimal",
    );
    check_bad(
        3,
        "+1735790400000,101,103,100,101,1",
        "timestamp \"+1735790400000\" is not an integer of milliseconds",
    );
    check_bad(
        3,
        "1735790400000,+101,103,100,101,1",
        "open \"+101\" is not a positive plain decimal",
    );
    check_bad(3, "1735790400000,101,103,101.5,101,1", "low 101.5 is above min(open, close) 101");
    check_bad(3, "1735790400000,101,102,100,102.5,1", "high 102 is below max(open, close) 102.5");
    check_bad(3, "1735776000000,101,103,100,101,1", "duplicate timestamp 1735776000000");
    check_bad(
        4,
        "1735776000000,101,103,100,101,1",
        "timestamp 1735776000000 is not after the previous row's 1735790400000",
    );
    check_bad(
        3,
        "1735790400001,101,103,100,101,1",
        "timestamp 1735790400001 is not on the 4h grid (a multiple of 14400000 ms)",
    );
    check_bad(
        7,
        "1735862400000,101,103,100,101,1",
        "timestamp 1735862400000 belongs to 2025-01-03, not to this file's day 2025-01-02",
    );
    check_bad(3, "1735790400000,101,103,100,101", "expected 6 fields, found 5");
    check_bad(
        3,
        "17357904e5,101,103,100,101,1",
        "timestamp \"17357904e5\" is not an integer of milliseconds",
    );
}

#[test]
fn empty_and_row_less_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = day(2025, 1, 2);
    let (data, _) = loader(dir.path());
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, d, "");
    let err = data.load(&query(Timeframe::H4, d, d)).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "BTCUSDT_4h_2025-01-02.csv: file is empty (expected the header and one row per bar)"
        ),
        "{err}"
    );
    write_day(
        dir.path(),
        TradingMode::Spot,
        Timeframe::H4,
        d,
        "timestamp,open,high,low,close,volume\n",
    );
    let err = data.load(&query(Timeframe::H4, d, d)).unwrap_err();
    assert!(err.to_string().ends_with("file has a header but no rows"), "{err}");
}

#[test]
fn gaps_inside_a_day_are_allowed_by_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let d = day(2025, 1, 2);
    let text: String = day_csv(Timeframe::H4, d)
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, d, &text);
    let (data, _) = loader(dir.path());
    assert_eq!(data.load(&query(Timeframe::H4, d, d)).unwrap().len(), 5);
}

#[test]
fn a_reversed_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = loader(dir.path());
    let err = data.load(&query(Timeframe::H4, day(2025, 1, 2), day(2025, 1, 1))).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument(_)), "{err}");
}

#[test]
fn funding_files_load_filter_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = loader(dir.path());
    assert_eq!(data.funding(btc(), day(2025, 5, 1), day(2025, 5, 2)).unwrap(), None);
    // 2025-05-01 00:00 = 1746057600000; 2025-05-02 00:00 = 1746144000000.
    write_funding(dir.path(), "2025-05", "timestamp,funding_rate\n1746057600000,0.0001\n1746086400000,-0.00005\n1746144000000,0.0002\n");
    let rates = data.funding(btc(), day(2025, 5, 1), day(2025, 5, 1)).unwrap().unwrap();
    assert_eq!(rates.len(), 2);
    assert_eq!((rates[0].timestamp, rates[0].rate), (1_746_057_600_000, dec!(0.0001)));
    assert_eq!(rates[1].rate, dec!(-0.00005));
    // A month without a file is no error (funding files are optional, docs/data.md): its times are simply
    // not listed, and the engine falls back to the configured rate for them.
    let rates = data.funding(btc(), day(2025, 5, 1), day(2025, 6, 1)).unwrap().unwrap();
    assert_eq!(rates.len(), 3, "May's three rows inside the range, nothing for June");
    write_funding(dir.path(), "2025-05", "timestamp,funding_rate\n1746057600001,0.0001\n");
    let err = data.funding(btc(), day(2025, 5, 1), day(2025, 5, 1)).unwrap_err();
    assert_eq!(err.to_string(), "binance/futures/BTCUSDT/funding/BTCUSDT_funding_2025-05.csv:2: timestamp 1746057600001 is not a funding time (00:00, 08:00 or 16:00 UTC)");
    write_funding(dir.path(), "2025-05", "timestamp,funding_rate\n1746057600000,abc\n");
    let err = data.funding(btc(), day(2025, 5, 1), day(2025, 5, 1)).unwrap_err();
    assert!(
        err.to_string().ends_with(":2: funding_rate \"abc\" is not a rate between -1 and 1"),
        "{err}"
    );
}

#[test]
fn the_shipped_data_is_discovered_and_loads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let (data, _) = loader(&root);
    let sets = data.datasets().unwrap();
    assert_eq!(sets.len(), 18, "spot BTC, futures BTC and ETH, 6 timeframes each");
    let spot_1m =
        sets.iter().find(|s| s.mode == TradingMode::Spot && s.timeframe == Timeframe::M1).unwrap();
    assert_eq!(
        (spot_1m.first_day, spot_1m.last_day, spot_1m.days),
        (day(2025, 1, 1), day(2025, 1, 31), 31)
    );
    let month = data.bars(&query(Timeframe::M1, day(2025, 1, 1), day(2025, 1, 31))).unwrap();
    assert_eq!(month.len(), 44_640);
    // The README's plausibility figures: the 1d bar of 2025-01-01.
    let d1 = data.bars(&query(Timeframe::D1, day(2025, 1, 1), day(2025, 1, 1))).unwrap();
    let b = d1.iter().next().unwrap();
    assert_eq!(
        (b.open, b.high, b.low, b.close, b.volume),
        (dec!(93576), dec!(95151.15), dec!(92888), dec!(94591.79), dec!(10373.32613))
    );
    let funding = data.funding_rates(btc(), day(2025, 5, 5), day(2025, 6, 23)).unwrap().unwrap();
    assert_eq!(funding.len(), 50 * 3);
}

/// A day file larger than a day of its timeframe can take is refused before it is read, naming
/// the file and its size; a day file or data-set folder the operator linked in is followed.
#[test]
fn oversized_day_files_are_refused_and_linked_ones_followed() {
    let dir = tempfile::tempdir().unwrap();
    let d = day(2025, 1, 1);
    let row = "1735689600000,93576,95151.15,92888,94591.79,10373.32613\n";
    let mut text = String::from("timestamp,open,high,low,close,volume\n");
    text.push_str(row);
    text.push_str(&" ".repeat(4_000)); // a 1d file holds one row: 1,280 bytes at most
    write_day(dir.path(), TradingMode::Spot, Timeframe::D1, d, &text);
    let (data, _) = loader(dir.path());
    let err = data.load(&query(Timeframe::D1, d, d)).unwrap_err().to_string();
    assert!(err.contains("BTCUSDT_1d_2025-01-01.csv"), "{err}");
    assert!(err.contains("more than a day of 1d bars can take (1280); not read"), "{err}");

    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        let real = outside.path().join("day.csv");
        std::fs::write(&real, format!("timestamp,open,high,low,close,volume\n{row}")).unwrap();
        let file = dir.path().join("binance/spot/BTCUSDT/1d/BTCUSDT_1d_2025-01-01.csv");
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&real, &file).unwrap();
        // The operator's link is followed: the day is read from where it points.
        let (data, _) = loader(dir.path());
        let bars: Vec<_> =
            data.bars(&query(Timeframe::D1, d, d)).unwrap().iter().copied().collect();
        assert_eq!(bars.len(), 1);
        assert_eq!(bars[0].close, dec!(94591.79));
        // A data-set folder kept on another disk likewise (`…/BTCUSDT/1d` a link to it).
        std::fs::remove_file(&file).unwrap();
        let tf = dir.path().join("binance/spot/BTCUSDT/1d");
        std::fs::remove_dir(&tf).unwrap();
        std::fs::create_dir_all(outside.path().join("1d")).unwrap();
        let moved =
            "timestamp,open,high,low,close,volume\n1735689600000,93576,95151.15,92888,94000,1\n";
        std::fs::write(outside.path().join("1d/BTCUSDT_1d_2025-01-01.csv"), moved).unwrap();
        std::os::unix::fs::symlink(outside.path().join("1d"), &tf).unwrap();
        let (data, _) = loader(dir.path());
        let bars: Vec<_> =
            data.bars(&query(Timeframe::D1, d, d)).unwrap().iter().copied().collect();
        assert_eq!(bars[0].close, dec!(94000));
        let listed = cryptobt_data::discover(dir.path()).unwrap();
        assert!(listed.iter().any(|set| set.timeframe == Timeframe::D1), "{listed:?}");
    }
}

#[test]
fn sidecars_switched_off_are_neither_written_nor_read() {
    let dir = tempfile::tempdir().unwrap();
    let csv = day_csv(Timeframe::H4, day(2025, 1, 1));
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, day(2025, 1, 1), &csv);
    let q = query(Timeframe::H4, day(2025, 1, 1), day(2025, 1, 1));
    let off = |root: &std::path::Path| loader(root).0.with_sidecars(false);
    let bars: Vec<_> = off(dir.path()).bars(&q).unwrap().iter().copied().collect();
    assert_eq!(bars.len(), 6);
    assert!(!dir.path().join(".cache").exists(), "nothing written under .cache/");
    // A sidecar left by an earlier process (on) is not read while they are off.
    let first: Vec<_> = loader(dir.path()).0.bars(&q).unwrap().iter().copied().collect();
    let sidecar = dir.path().join(".cache/binance/spot/BTCUSDT/4h/BTCUSDT_4h_2025-01-01.csv.bars");
    let mut bytes = std::fs::read(&sidecar).unwrap();
    bytes[32 + 56..32 + 72].copy_from_slice(&dec!(12345).serialize());
    std::fs::write(&sidecar, &bytes).unwrap();
    let again: Vec<_> = off(dir.path()).bars(&q).unwrap().iter().copied().collect();
    assert_eq!(again, first, "read from the CSV, not the planted sidecar");
}

#[test]
fn a_second_process_reads_the_binary_sidecar_and_a_changed_csv_is_checked_again() {
    let dir = tempfile::tempdir().unwrap();
    let csv = day_csv(Timeframe::H4, day(2025, 1, 1));
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, day(2025, 1, 1), &csv);
    let q = query(Timeframe::H4, day(2025, 1, 1), day(2025, 1, 1));
    let first: Vec<_> = loader(dir.path()).0.bars(&q).unwrap().iter().copied().collect();
    let sidecar = dir.path().join(".cache/binance/spot/BTCUSDT/4h/BTCUSDT_4h_2025-01-01.csv.bars");
    assert!(sidecar.exists(), "the first read writes the sidecar");
    // A fresh loader (a new process) reads the same bars from the sidecar: prove it is the one
    // used by planting a different close in it, with the CSV untouched.
    let mut bytes = std::fs::read(&sidecar).unwrap();
    let close_at = 32 + 56;
    bytes[close_at..close_at + 16].copy_from_slice(&dec!(12345).serialize());
    std::fs::write(&sidecar, &bytes).unwrap();
    let second: Vec<_> = loader(dir.path()).0.bars(&q).unwrap().iter().copied().collect();
    assert_eq!(second[0].close, dec!(12345), "read from the sidecar");
    assert_eq!(second[1..], first[1..]);
    // The CSV changes (a bad row): parsed and checked again, the error names file and line.
    let bad = csv.replacen("100.5", "-1", 1);
    std::thread::sleep(std::time::Duration::from_millis(10));
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, day(2025, 1, 1), &bad);
    let err = loader(dir.path()).0.load(&q).unwrap_err().to_string();
    assert!(err.contains("BTCUSDT_4h_2025-01-01.csv:2: close \"-1\""), "{err}");
    // Fixed again: the new sidecar holds the CSV's bars.
    write_day(dir.path(), TradingMode::Spot, Timeframe::H4, day(2025, 1, 1), &csv);
    let third: Vec<_> = loader(dir.path()).0.bars(&q).unwrap().iter().copied().collect();
    assert_eq!(third, first);
}
