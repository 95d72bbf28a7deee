//! Driving the engine from Rust with a native strategy, over the shipped spot BTCUSDT 1h bars of
//! January 2025:
//!
//! ```sh
//! cargo run -p cryptobt-engine --example sma_crossover
//! ```
//!
//! The engine does no IO, so this example reads the CSV files itself (the `cryptobt-data` crate
//! does it properly, with validation and a cache) and hands the bars over as a `BarSeries`.

#![allow(clippy::unwrap_used, reason = "an example fails loudly")]

#[path = "support/sma_crossover.rs"]
mod sma_crossover;

use std::{path::Path, sync::Arc};

use chrono::NaiveDate;
use cryptobt_domain::{ports::BarSeries, BacktestConfig, Bar, Symbol, Timeframe, TradingMode};
use cryptobt_engine::Backtest;
use rust_decimal::Decimal;
use sma_crossover::SmaCrossover;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/binance/spot/BTCUSDT/1h");
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
    let mut days = Vec::new();
    for day in start.iter_days().take_while(|d| *d <= end) {
        let text = std::fs::read_to_string(dir.join(format!("BTCUSDT_1h_{day}.csv"))).unwrap();
        let bars: Vec<Bar> = text
            .lines()
            .skip(1)
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                let d = |i: usize| f[i].parse::<Decimal>().unwrap();
                Bar {
                    timestamp: f[0].parse().unwrap(),
                    open: d(1),
                    high: d(2),
                    low: d(3),
                    close: d(4),
                    volume: d(5),
                }
            })
            .collect();
        days.push(Arc::from(bars));
    }
    let bars = BarSeries::new(days);
    let config =
        BacktestConfig::builder(Symbol::new("BTCUSDT").unwrap(), Timeframe::H1, start, end)
            .trading_mode(TradingMode::Spot)
            .initial_capital(Decimal::from(10_000))
            .build()
            .unwrap();
    // Each entry protected by a 2 % stop-loss and a 4 % take-profit, filled inside the bar.
    let mut strategy = SmaCrossover::new(10, 30, Decimal::new(1, 2))
        .with_bracket(Decimal::new(2, 2), Decimal::new(4, 2));
    let report = Backtest::new(&config, &bars).run(&mut strategy, &());
    for t in &report.trades {
        println!("{} {} {} @ {} ({})", t.timestamp, t.action, t.quantity, t.price, t.order_type);
    }
    println!(
        "status {}, {} bars, {} fills",
        report.status,
        report.snapshots.len(),
        report.trades.len()
    );
    println!(
        "final equity {:?}, ambiguous bars {}",
        report.metrics.final_equity, report.ambiguous_bars
    );
    println!(
        "total return {:?} %, max drawdown {:?} %",
        report.metrics.total_return, report.metrics.max_drawdown
    );
}
