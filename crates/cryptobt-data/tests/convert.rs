//! `convert` on Binance's own formats: the real futures kline samples (header, milliseconds),
//! a spot-style file built here (no header, microseconds, zipped), raw trades and aggTrades.
//! Expected aggregates were computed from the raw files with Python `decimal` (open first, high
//! max, low min, close last, volume sum), not by this code.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

use std::{io::Write, path::PathBuf};

use common::*;
use cryptobt_data::{convert, verify, BarCache, ConvertOptions, CsvMarketData, InputKind};
use cryptobt_domain::{Symbol, Timeframe, TradingMode};
use rust_decimal_macros::dec;

fn raw(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/binance-raw").join(name)
}

fn options(
    out: &std::path::Path,
    symbol: &str,
    market: TradingMode,
    kind: InputKind,
) -> ConvertOptions {
    ConvertOptions {
        market,
        symbol: Symbol::new(symbol).unwrap(),
        kind,
        out_root: out.to_path_buf(),
    }
}

#[test]
fn futures_kline_samples_become_every_timeframe() {
    let out = tempfile::tempdir().unwrap();
    let avax =
        options(out.path(), "AVAXUSDT", TradingMode::Futures, InputKind::Klines(Timeframe::M1));
    let report = convert(&[raw("AVAXUSDT-1m-2025-02.first-day.csv")], &avax).unwrap();
    assert_eq!(
        (report.input_rows, report.bars, report.days, report.files, report.missing_bars),
        (1440, 1440, 1, 6, 0)
    );
    let data = CsvMarketData::new(out.path(), BarCache::new(1 << 24, vec![]));
    let sym = Symbol::new("AVAXUSDT").unwrap();
    let d = day(2025, 2, 1);
    let count = |tf| data.day(TradingMode::Futures, sym, tf, d).unwrap().len();
    assert_eq!(
        [Timeframe::M1, Timeframe::M5, Timeframe::M15, Timeframe::H1, Timeframe::H4, Timeframe::D1]
            .map(count),
        [1440, 288, 96, 24, 6, 1]
    );
    let daily = data.day(TradingMode::Futures, sym, Timeframe::D1, d).unwrap()[0];
    assert_eq!(
        (daily.open, daily.high, daily.low, daily.close, daily.volume),
        (dec!(34.422), dec!(35.096), dec!(31.848), dec!(32.089), dec!(5803985))
    );
    let h4 = data.day(TradingMode::Futures, sym, Timeframe::H4, d).unwrap()[1];
    assert_eq!(
        (h4.timestamp, h4.open, h4.high, h4.low, h4.close, h4.volume),
        (1_738_382_400_000, dec!(34.588), dec!(34.752), dec!(34.35), dec!(34.418), dec!(460131))
    );
    // The files pass verification and carry no trailing zeros.
    assert!(verify(out.path(), None).unwrap().is_clean());
    let text = std::fs::read_to_string(
        out.path().join("binance/futures/AVAXUSDT/1m/AVAXUSDT_1m_2025-02-01.csv"),
    )
    .unwrap();
    assert_eq!(text.lines().nth(1).unwrap(), "1738368000000,34.422,34.426,34.36,34.36,9896");

    let fil =
        options(out.path(), "FILUSDT", TradingMode::Futures, InputKind::Klines(Timeframe::M1));
    convert(&[raw("FILUSDT-1m-2023-02.first-day.csv")], &fil).unwrap();
    let daily = data
        .day(TradingMode::Futures, Symbol::new("FILUSDT").unwrap(), Timeframe::D1, day(2023, 2, 1))
        .unwrap()[0];
    assert_eq!(
        (daily.open, daily.high, daily.low, daily.close, daily.volume),
        (dec!(5.233), dec!(5.798), dec!(5.039), dec!(5.694), dec!(51267953.5))
    );
}

fn zip_of(dir: &std::path::Path, name: &str, csv: &str) -> PathBuf {
    let path = dir.join(format!("{name}.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file(format!("{name}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

#[test]
fn spot_files_without_header_and_with_microseconds_are_detected() {
    let input = tempfile::tempdir().unwrap();
    // 2025-01-15 00:00 and 00:01 UTC in microseconds, spot-style 8-decimal prices.
    let csv = "1736899200000000,99000.00000000,99100.00000000,98900.00000000,99050.00000000,1.50000000,1736899259999999,148575.0,10,0.7,69335.0,0\n\
               1736899260000000,99050.00000000,99060.00000000,99000.00000000,99010.00000000,0.25000000,1736899319999999,24752.5,3,0.1,9901.0,0\n";
    let archive = zip_of(input.path(), "BTCUSDT-1m-2025-01-15", csv);
    assert_eq!(
        InputKind::from_file_name("BTCUSDT-1m-2025-01-15.zip"),
        Some(InputKind::Klines(Timeframe::M1))
    );
    let out = tempfile::tempdir().unwrap();
    let report = convert(
        &[archive],
        &options(out.path(), "BTCUSDT", TradingMode::Spot, InputKind::Klines(Timeframe::M1)),
    )
    .unwrap();
    assert_eq!((report.bars, report.missing_bars), (2, 1438));
    assert_eq!(
        report.gaps,
        ["1438 bar(s) of 1m missing from 2025-01-15 00:02 to 2025-01-15 23:59"]
    );
    let data = CsvMarketData::new(out.path(), BarCache::new(1 << 24, vec![]));
    let bars = data.day(TradingMode::Spot, btc(), Timeframe::M1, day(2025, 1, 15)).unwrap();
    assert_eq!(bars[0].timestamp, 1_736_899_200_000);
    assert_eq!(bars[1].close, dec!(99010));
    let hour = data.day(TradingMode::Spot, btc(), Timeframe::H1, day(2025, 1, 15)).unwrap();
    assert_eq!(
        (hour.len(), hour[0].high, hour[0].low, hour[0].close, hour[0].volume),
        (1, dec!(99100), dec!(98900), dec!(99010), dec!(1.75))
    );
}

#[test]
fn trades_become_minutes_and_empty_minutes_are_gaps() {
    let input = tempfile::tempdir().unwrap();
    // 2025-01-15 00:00:05, 00:00:30, 00:01:10, 00:03:59 (ms); minute 00:02 has no trade.
    let csv = "1,100.5,0.1,10.05,1736899205000,true,true\n\
               2,101,0.2,20.2,1736899230000,false,true\n\
               3,99.5,1,99.5,1736899270000,true,true\n\
               4,102,0.05,5.1,1736899439000,false,true\n";
    let path = input.path().join("BTCUSDT-trades-2025-01-15.csv");
    std::fs::write(&path, csv).unwrap();
    assert_eq!(InputKind::from_file_name("BTCUSDT-trades-2025-01-15.csv"), Some(InputKind::Trades));
    let out = tempfile::tempdir().unwrap();
    let report =
        convert(&[path], &options(out.path(), "BTCUSDT", TradingMode::Spot, InputKind::Trades))
            .unwrap();
    assert_eq!((report.input_rows, report.bars), (4, 3));
    assert_eq!(report.gaps[0], "1 bar(s) of 1m missing from 2025-01-15 00:02 to 2025-01-15 00:02");
    let text = std::fs::read_to_string(
        out.path().join("binance/spot/BTCUSDT/1m/BTCUSDT_1m_2025-01-15.csv"),
    )
    .unwrap();
    let rows: Vec<_> = text.lines().collect();
    assert_eq!(
        rows,
        [
            "timestamp,open,high,low,close,volume",
            "1736899200000,100.5,101,100.5,101,0.3",
            "1736899260000,99.5,99.5,99.5,99.5,1",
            "1736899380000,102,102,102,102,0.05"
        ]
    );
}

#[test]
fn agg_trades_with_a_header_use_their_own_time_column() {
    let input = tempfile::tempdir().unwrap();
    let csv =
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n\
               10,2500.5,2,100,101,1736899200500,true\n\
               11,2499,1.5,102,102,1736899201000,false\n";
    let archive = zip_of(input.path(), "ETHUSDT-aggTrades-2025-01-15", csv);
    let out = tempfile::tempdir().unwrap();
    convert(
        &[archive],
        &options(out.path(), "ETHUSDT", TradingMode::Futures, InputKind::AggTrades),
    )
    .unwrap();
    let text = std::fs::read_to_string(
        out.path().join("binance/futures/ETHUSDT/1m/ETHUSDT_1m_2025-01-15.csv"),
    )
    .unwrap();
    assert_eq!(text.lines().nth(1).unwrap(), "1736899200000,2500.5,2500.5,2499,2499,3.5");
}

#[test]
fn a_bad_row_names_the_file_and_line_and_writes_nothing() {
    let input = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = std::fs::read_to_string(raw("AVAXUSDT-1m-2025-02.first-day.csv"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines[10] = lines[10].replacen("34.", "x34.", 1);
    let path = input.path().join("AVAXUSDT-1m-2025-02.csv");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let err = convert(
        &[path],
        &options(out.path(), "AVAXUSDT", TradingMode::Futures, InputKind::Klines(Timeframe::M1)),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("AVAXUSDT-1m-2025-02.csv:11: open \"x34."), "{err}");
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none(), "nothing written");
}
