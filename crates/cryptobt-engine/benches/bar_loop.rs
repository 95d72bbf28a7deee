//! The whole engine run (bar loop, fills, snapshots, metrics) with a native Rust SMA(10/30)
//! crossover over 1,000,000 synthetic 1m bars (a seeded random walk), spot and futures.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented function")]

#[path = "../examples/support/sma_crossover.rs"]
mod sma_crossover;

use std::{hint::black_box, sync::Arc};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use cryptobt_domain::{ports::BarSeries, testkit, BacktestConfig, Bar, Timeframe, TradingMode};
use cryptobt_engine::Backtest;
use rust_decimal::Decimal;
use sma_crossover::SmaCrossover;

const BARS: usize = 1_000_000;

fn bars() -> BarSeries {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut cents: i64 = 4_000_000;
    let bars: Vec<Bar> = (0..BARS)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let open = cents;
            cents = (cents + (state % 2_001) as i64 - 1_000).max(100_000);
            let (o, c) = (Decimal::new(open, 2), Decimal::new(cents, 2));
            testkit::bar(
                1_735_689_600_000 + i as i64 * 60_000,
                o,
                o.max(c) + Decimal::ONE,
                o.min(c) - Decimal::ONE,
                c,
            )
        })
        .collect();
    BarSeries::new(vec![Arc::from(bars)])
}

fn benches(c: &mut Criterion) {
    let bars = bars();
    let day = |d| NaiveDate::from_ymd_opt(2025, 1, d).unwrap_or_default();
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BARS as u64));
    for (name, mode, leverage) in [
        ("spot_sma_crossover", TradingMode::Spot, 1),
        ("futures_sma_crossover", TradingMode::Futures, 10),
    ] {
        let config = BacktestConfig::builder(testkit::btc(), Timeframe::M1, day(1), day(31))
            .trading_mode(mode)
            .max_leverage(Decimal::from(leverage))
            .initial_capital(Decimal::from(1_000_000))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        // Snapshots streamed (each one computed and measured, none kept) ...
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut strategy = SmaCrossover::new(10, 30, Decimal::new(1, 1));
                let report = Backtest::new(&config, &bars).run_into(&mut strategy, &(), &mut ());
                black_box(report.trades.len())
            });
        });
        // ... and every snapshot kept in the report.
        group.bench_function(format!("{name}_keeping_snapshots"), |b| {
            b.iter(|| {
                let mut strategy = SmaCrossover::new(10, 30, Decimal::new(1, 1));
                let report = Backtest::new(&config, &bars).run(&mut strategy, &());
                black_box(report.snapshots.len())
            });
        });
    }
    group.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
