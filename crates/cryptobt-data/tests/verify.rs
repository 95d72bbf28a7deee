//! `verify` finds corrupted rows, duplicates, gaps and missing days, each named by file and line
//! or by date, and passes clean data.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

use common::*;
use cryptobt_data::verify;
use cryptobt_domain::{Timeframe, TradingMode};

#[test]
fn clean_data_verifies() {
    let dir = tempfile::tempdir().unwrap();
    for d in 1..=2 {
        write_day(
            dir.path(),
            TradingMode::Futures,
            Timeframe::H1,
            day(2025, 5, d),
            &day_csv(Timeframe::H1, day(2025, 5, d)),
        );
    }
    write_funding(
        dir.path(),
        "2025-05",
        "timestamp,funding_rate\n1746057600000,0.0001\n1746086400000,0.0001\n",
    );
    let report = verify(dir.path(), None).unwrap();
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(report.sets[0].rows, 48);
    assert_eq!((report.funding[0].files, report.funding[0].events), (1, 2));
}

#[test]
fn every_kind_of_problem_is_counted_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let d1 = day(2025, 1, 1);
    let d3 = day(2025, 1, 3);
    write_day(dir.path(), TradingMode::Spot, Timeframe::H1, d1, &day_csv(Timeframe::H1, d1));
    // Day 3: line 3 corrupted, line 5 repeats line 4, the 10:00 bar (line 12) missing.
    let mut lines: Vec<String> = day_csv(Timeframe::H1, d3).lines().map(str::to_owned).collect();
    lines[2] = "1735866000000,101,103,100,abc,1".to_owned();
    lines[4] = lines[3].clone();
    lines.remove(11);
    write_day(dir.path(), TradingMode::Spot, Timeframe::H1, d3, &(lines.join("\n") + "\n"));
    let report = verify(dir.path(), None).unwrap();
    assert!(!report.is_clean());
    let set = &report.sets[0];
    assert_eq!((set.days, set.missing_days, set.bad_rows, set.duplicates), (2, 1, 1, 1));
    // The corrupted 01:00 row, the duplicate's own slot (04:00 appears once) and the 10:00 bar.
    assert_eq!(set.gaps, 3);
    let file = "binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-03.csv";
    let expect = [
        "missing day 2025-01-02: binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-02.csv does not exist"
            .to_owned(),
        format!("{file}:3: close \"abc\" is not a positive plain decimal"),
        format!("{file}:5: duplicate timestamp 1735869600000 (2025-01-03 02:00)"),
        format!("{file}: gap of 1 bar(s) from 2025-01-03 01:00 to 2025-01-03 01:00"),
        format!("{file}: gap of 1 bar(s) from 2025-01-03 03:00 to 2025-01-03 03:00"),
        format!("{file}: gap of 1 bar(s) from 2025-01-03 10:00 to 2025-01-03 10:00"),
    ];
    assert_eq!(set.problems, expect);
}

#[test]
fn funding_gaps_and_bad_rows_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_day(
        dir.path(),
        TradingMode::Futures,
        Timeframe::D1,
        day(2025, 5, 1),
        &day_csv(Timeframe::D1, day(2025, 5, 1)),
    );
    write_funding(
        dir.path(),
        "2025-05",
        "timestamp,funding_rate\n1746057600000,0.0001\n1746115200000,0.0001\n",
    );
    write_funding(dir.path(), "2025-06", "timestamp,funding_rate\n1748736000000,x\n");
    let report = verify(dir.path(), None).unwrap();
    assert!(!report.is_clean());
    assert_eq!(
        report.funding[0].problems,
        [
            "binance/futures/BTCUSDT/funding/BTCUSDT_funding_2025-05.csv: funding gap: 2025-05-01 16:00 follows 2025-05-01 00:00",
            "binance/futures/BTCUSDT/funding/BTCUSDT_funding_2025-06.csv:2: funding_rate \"x\" is not a rate between -1 and 1",
        ]
    );
}
