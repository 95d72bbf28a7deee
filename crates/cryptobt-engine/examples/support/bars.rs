//! Reads shipped day files into a `BarSeries` (the `cryptobt-data` crate does it properly, with
//! validation and a cache; the examples keep the engine's own dependencies).

use std::{path::Path, sync::Arc};

use chrono::NaiveDate;
use cryptobt_domain::{ports::BarSeries, Bar};
use rust_decimal::Decimal;

/// The bars of `market/symbol/timeframe` under the shipped `data/binance`, days `start..=end`.
pub(crate) fn read(
    market: &str,
    symbol: &str,
    timeframe: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> BarSeries {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/binance")
        .join(market)
        .join(symbol)
        .join(timeframe);
    let mut days = Vec::new();
    for day in start.iter_days().take_while(|d| *d <= end) {
        let file = dir.join(format!("{symbol}_{timeframe}_{day}.csv"));
        let text = std::fs::read_to_string(&file).unwrap();
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
    BarSeries::new(days)
}
