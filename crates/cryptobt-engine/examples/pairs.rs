//! A native pairs strategy over two symbols in one run — BTCUSDT and ETHUSDT futures, 1h, the
//! shipped May–June 2025 data — sharing one cash balance:
//!
//! ```sh
//! cargo run -p cryptobt-engine --example pairs
//! ```
//!
//! Each step the strategy sees the primary's bar in `on_bar` and every symbol's through
//! `ctx.bar(symbol)`; it orders a symbol by naming it.

#![allow(clippy::unwrap_used, reason = "an example fails loudly")]

#[path = "support/bars.rs"]
mod bars;

use std::collections::VecDeque;

use chrono::NaiveDate;
use cryptobt_domain::{
    money::decimal_to_f64,
    ports::{SharedContext, Strategy, StrategyError},
    BacktestConfig, Bar, OrderSide, Symbol, Timeframe, TradingMode,
};
use cryptobt_engine::{Backtest, Feed};
use rust_decimal::Decimal;

/// Long the cheap leg and short the rich one when the log spread of BTC over ETH strays from
/// its rolling mean; flat again when it comes back.
struct Pairs {
    btc: Symbol,
    eth: Symbol,
    spreads: VecDeque<f64>,
    lookback: usize,
    entry: f64,
    exit: f64,
    /// The USDT notional of each leg.
    notional: Decimal,
}

impl Strategy for Pairs {
    fn on_bar(&mut self, bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
        let eth_bar = ctx.bar(self.eth).unwrap();
        let spread = (decimal_to_f64(bar.close) / decimal_to_f64(eth_bar.close)).ln();
        self.spreads.push_back(spread);
        if self.spreads.len() > self.lookback {
            self.spreads.pop_front();
        } else {
            return Ok(());
        }
        let mean = self.spreads.iter().sum::<f64>() / self.spreads.len() as f64;
        let away = spread - mean;
        let flat = ctx.position_size(self.btc).is_zero() && ctx.position_size(self.eth).is_zero();
        // A refused order is an event of the run (counted), not an error of the strategy.
        if flat && away.abs() > self.entry {
            let btc_size = (self.notional / bar.close).round_dp(3);
            let eth_size = (self.notional / eth_bar.close).round_dp(3);
            let (btc_side, eth_side) = if away > 0.0 {
                (OrderSide::Sell, OrderSide::Buy)
            } else {
                (OrderSide::Buy, OrderSide::Sell)
            };
            let _ = ctx.submit(self.btc, btc_side, btc_size, Decimal::ONE);
            let _ = ctx.submit(self.eth, eth_side, eth_size, Decimal::ONE);
        } else if !flat && away.abs() < self.exit {
            let _ = ctx.close_position(self.btc, Decimal::ONE_HUNDRED);
            let _ = ctx.close_position(self.eth, Decimal::ONE_HUNDRED);
        }
        Ok(())
    }
}

fn main() {
    let start = NaiveDate::from_ymd_opt(2025, 5, 5).unwrap();
    let end = NaiveDate::from_ymd_opt(2025, 6, 23).unwrap();
    let btc_bars = bars::read(TradingMode::Futures, "BTCUSDT", Timeframe::H1, start, end);
    let eth_bars = bars::read(TradingMode::Futures, "ETHUSDT", Timeframe::H1, start, end);
    let (btc, eth) = (Symbol::new("BTCUSDT").unwrap(), Symbol::new("ETHUSDT").unwrap());
    let config = BacktestConfig::builder(btc, Timeframe::H1, start, end)
        .symbols(vec![btc, eth])
        .trading_mode(TradingMode::Futures)
        .initial_capital(Decimal::from(10_000))
        .build()
        .unwrap();
    let mut strategy = Pairs {
        btc,
        eth,
        spreads: VecDeque::new(),
        lookback: 48,
        entry: 0.02,
        exit: 0.005,
        notional: Decimal::from(4_000),
    };
    let feeds = vec![Feed::new(btc, &btc_bars), Feed::new(eth, &eth_bars)];
    let report = Backtest::over(&config, feeds).run(&mut strategy, &());
    println!("status {}, {} steps, {} fills", report.status, report.bars, report.trades.len());
    if let Some(by) = &report.metrics.by_symbol {
        for (symbol, m) in &by.0 {
            println!(
                "{symbol}: {} round trips, net {} USDT, fees {}",
                m.round_trips,
                m.net_pnl.round_dp(2),
                m.total_fees.round_dp(2)
            );
        }
    }
    println!(
        "total return {:?} %, buy and hold (mean of both) {:?} %",
        report.metrics.total_return, report.metrics.benchmark_return
    );
}
