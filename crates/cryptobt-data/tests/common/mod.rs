//! Fixture builders for the data tests: tiny day files written into a temporary data directory.

#![allow(dead_code, reason = "each test binary uses a different part of these helpers")]
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::{fs, path::Path};

use chrono::NaiveDate;
use cryptobt_data::{day_file_name, day_start_ms, BAR_HEADER};
use cryptobt_domain::{Symbol, Timeframe, TradingMode};

pub(crate) fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A valid day of `timeframe` bars: open 100 + i, close 100.5 + i, low 99 + i, high 102 + i.
pub(crate) fn day_csv(timeframe: Timeframe, date: NaiveDate) -> String {
    let start = day_start_ms(date);
    let mut out = format!("{BAR_HEADER}\n");
    for i in 0..timeframe.bars_per_day() {
        let t = start + i * timeframe.duration_ms();
        out.push_str(&format!("{t},{},{},{},{}.5,1.25\n", 100 + i, 102 + i, 99 + i, 100 + i));
    }
    out
}

/// Writes a day file's text under `root` in the documented layout.
pub(crate) fn write_day(
    root: &Path,
    mode: TradingMode,
    timeframe: Timeframe,
    date: NaiveDate,
    text: &str,
) {
    let dir = root.join("binance").join(mode.as_str()).join("BTCUSDT").join(timeframe.as_str());
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(day_file_name(btc(), timeframe, date)), text).unwrap();
}

/// Writes a funding month file under `root`.
pub(crate) fn write_funding(root: &Path, month: &str, text: &str) {
    let dir = root.join("binance/futures/BTCUSDT/funding");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("BTCUSDT_funding_{month}.csv")), text).unwrap();
}
