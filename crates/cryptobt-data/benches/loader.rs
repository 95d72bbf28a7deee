//! The loader over one month of real 1m bars (spot BTCUSDT, January 2025: 31 files, 44,640
//! rows): parsing alone, a cold load (stat, read, parse, validate) and a cached load.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::{hint::black_box, path::PathBuf};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cryptobt_data::{parse_day, BarCache, CsvMarketData};
use cryptobt_domain::{
    ports::{BarQuery, MarketData},
    Symbol, Timeframe, TradingMode,
};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn month() -> BarQuery {
    let day = |d| NaiveDate::from_ymd_opt(2025, 1, d).unwrap_or_default();
    BarQuery {
        mode: TradingMode::Spot,
        symbol: Symbol::new("BTCUSDT").unwrap_or_else(|e| panic!("{e}")),
        timeframe: Timeframe::M1,
        start: day(1),
        end: day(31),
    }
}

fn benches(c: &mut Criterion) {
    let query = month();
    let rows = 44_640u64;
    let files: Vec<(NaiveDate, Vec<u8>)> = query
        .start
        .iter_days()
        .take(31)
        .map(|d| {
            let path = data_dir().join(format!("binance/spot/BTCUSDT/1m/BTCUSDT_1m_{d}.csv"));
            (d, std::fs::read(path).unwrap_or_else(|e| panic!("shipped data: {e}")))
        })
        .collect();

    let mut group = c.benchmark_group("month_1m");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            for (day, bytes) in &files {
                let bars = parse_day(bytes, "bench", *day, Timeframe::M1);
                black_box(bars.map(|b| b.len()).unwrap_or_default());
            }
        });
    });
    group.bench_function("cold", |b| {
        b.iter(|| {
            let data = CsvMarketData::new(data_dir(), BarCache::new(1 << 30, vec![]));
            black_box(data.bars(&query).map(|s| s.len()).unwrap_or_default())
        });
    });
    let warm = CsvMarketData::new(data_dir(), BarCache::new(1 << 30, vec![]));
    let _ = warm.bars(&query);
    group.throughput(Throughput::Elements(1));
    group.bench_function("cached", |b| {
        b.iter(|| black_box(warm.bars(&query).map(|s| s.len()).unwrap_or_default()));
    });
    group.finish();
}

criterion_group!(loader, benches);
criterion_main!(loader);
