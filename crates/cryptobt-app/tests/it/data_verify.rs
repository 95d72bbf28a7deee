//! `cryptobt data verify` as a user runs it: exit 0 on the shipped data, non-zero with the file
//! and line (or date) on a corrupted row, a missing day and a gap.

use std::{fs, path::Path};

use crate::common::cryptobt;

/// Copies three days of the shipped spot 1h set into a temporary data directory.
fn three_days() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/binance/spot/BTCUSDT/1h");
    let to = dir.path().join("binance/spot/BTCUSDT/1h");
    fs::create_dir_all(&to).unwrap();
    for d in ["01", "02", "03"] {
        let name = format!("BTCUSDT_1h_2025-01-{d}.csv");
        fs::copy(from.join(&name), to.join(&name)).unwrap();
    }
    dir
}

fn edit(dir: &Path, day: &str, f: impl FnOnce(&mut Vec<String>)) {
    let path = dir.join(format!("binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-{day}.csv"));
    let mut lines: Vec<String> =
        fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
    f(&mut lines);
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn the_shipped_data_verifies() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let (code, stdout, stderr) =
        cryptobt(&["data", "verify", "--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.ends_with("  ok")).count(), 20, "{stdout}");
    assert!(
        stdout.contains("spot     BTCUSDT    1m   2025-01-01..2025-01-31     31        0    44640"),
        "{stdout}"
    );
}

#[test]
fn a_corrupted_row_fails_with_file_and_line() {
    let dir = three_days();
    edit(dir.path(), "02", |lines| lines[5] = lines[5].replacen(',', ",-", 1));
    let (code, _, stderr) =
        cryptobt(&["data", "verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("error: binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-02.csv:6: open \"-"),
        "{stderr}"
    );
}

#[test]
fn a_missing_day_fails_with_the_date() {
    let dir = three_days();
    fs::remove_file(dir.path().join("binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-02.csv")).unwrap();
    let (code, _, stderr) =
        cryptobt(&["data", "verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("error: missing day 2025-01-02: binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-02.csv does not exist"), "{stderr}");
}

#[test]
fn a_gap_fails_with_file_and_time() {
    let dir = three_days();
    edit(dir.path(), "03", |lines| {
        lines.remove(8);
    });
    let (code, stdout, stderr) =
        cryptobt(&["data", "verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("error: binance/spot/BTCUSDT/1h/BTCUSDT_1h_2025-01-03.csv: gap of 1 bar(s) from 2025-01-03 07:00 to 2025-01-03 07:00"), "{stderr}");
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) =
        cryptobt(&["data", "verify", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no data sets"), "{stderr}");
}

#[test]
fn problems_past_twenty_are_counted_and_all_lists_them() {
    let dir = three_days();
    edit(dir.path(), "02", |lines| {
        for line in lines.iter_mut().skip(1) {
            *line = line.replacen(',', ",-", 1);
        }
    });
    let args = ["data", "verify", "--data-dir", dir.path().to_str().unwrap()];
    let (code, _, stderr) = cryptobt(&args);
    assert_eq!(code, 1);
    assert_eq!(
        stderr.lines().filter(|l| l.contains("is not a positive plain decimal")).count(),
        20
    );
    // 24 bad rows, and the day they leave empty is a gap: 25 problems, 20 shown.
    assert!(
        stderr.contains("… and 5 more problem(s) in spot BTCUSDT 1h (--all lists every one)"),
        "{stderr}"
    );
    let (_, _, stderr) = cryptobt(&[&args[..], &["--all"]].concat());
    assert_eq!(
        stderr.lines().filter(|l| l.contains("is not a positive plain decimal")).count(),
        24
    );
    assert!(!stderr.contains("more problem"), "{stderr}");
}
