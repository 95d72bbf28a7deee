//! Driving the engine from Rust with a native strategy, over the shipped spot BTCUSDT 1h bars of
//! January 2025:
//!
//! ```sh
//! cargo run -p cryptobt-engine --example sma_crossover
//! ```
//!
//! The engine does no IO: the bars come through the data crate (`support/bars.rs`,
//! `CsvMarketData`) and are handed over as a `BarSeries`.

#![allow(clippy::unwrap_used, reason = "an example fails loudly")]

#[path = "support/bars.rs"]
mod bars;
#[path = "support/sma_crossover.rs"]
mod sma_crossover;

use chrono::NaiveDate;
use cryptobt_domain::{BacktestConfig, Symbol, Timeframe, TradingMode};
use cryptobt_engine::Backtest;
use rust_decimal::Decimal;
use sma_crossover::SmaCrossover;

fn main() {
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
    let bars = bars::read(TradingMode::Spot, "BTCUSDT", Timeframe::H1, start, end);
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
