//! `cryptobt data convert` as a user runs it: symbol, kind and interval read from Binance's file
//! name, the files written, and what it cannot guess asked for.

use std::path::Path;

use crate::common::cryptobt;

#[test]
fn a_binance_kline_file_converts_and_verifies() {
    let raw = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/binance-raw/FILUSDT-1m-2023-02.first-day.csv");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let (code, stdout, stderr) =
        cryptobt(&["data", "convert", "--market", "futures", "--out", dir, raw.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("converted 1440 input rows into 1440 bars")
            && stdout.contains("1 days, 6 files"),
        "{stdout}"
    );
    assert!(out.path().join("binance/futures/FILUSDT/1d/FILUSDT_1d_2023-02-01.csv").exists());
    let (code, stdout, _) = cryptobt(&["data", "verify", "--data-dir", dir]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn what_cannot_be_guessed_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("prices.csv");
    std::fs::write(&odd, "1,2,3\n").unwrap();
    let (code, _, stderr) = cryptobt(&[
        "data",
        "convert",
        "--market",
        "spot",
        "--symbol",
        "BTCUSDT",
        odd.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("pass --kind"), "{stderr}");
    let (code, _, stderr) = cryptobt(&[
        "data",
        "convert",
        "--market",
        "spot",
        "--symbol",
        "BTCUSDT",
        "--kind",
        "klines",
        "--interval",
        "1m",
        "--out",
        dir.path().to_str().unwrap(),
        odd.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("prices.csv:1: expected 12 kline fields, found 3"), "{stderr}");
}
