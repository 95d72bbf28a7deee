//! A native SMA crossover with an RSI filter and a 2 % stop-loss on BTCUSDT 1h bars of January
//! 2025, using cryptobt as a library: bars from the shipped data through `cryptobt-data`,
//! indicators from `cryptobt-indicators`, the bar loop from `cryptobt-engine`, the result saved by
//! `cryptobt-store` and read back.
//!
//! ```sh
//! cargo run --manifest-path examples/native-rust/Cargo.toml -- data /tmp/results
//! ```

use cryptobt_data::CsvMarketData;
use cryptobt_domain::{
    money::decimal_to_f64,
    ports::{BarQuery, MarketData, ResultStore, RunRecord, SharedContext, Strategy, StrategyError},
    BacktestConfig, BacktestId, Bar, Decimal, ExitKind, NaiveDate, OrderSide, RunStatus, Symbol,
    Timeframe, Utc,
};
use cryptobt_engine::Backtest;
use cryptobt_indicators::{Rsi, Sma};
use cryptobt_store::FileResultStore;

/// Long while SMA(10) is above SMA(30) and RSI(14) is below 70; each entry carries a stop-loss
/// 2 % under its close.
struct Crossover {
    fast: Sma,
    slow: Sma,
    rsi: Rsi,
}

impl Strategy for Crossover {
    fn on_bar(&mut self, bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
        let close = decimal_to_f64(bar.close);
        let (fast, slow, rsi) =
            (self.fast.update(close), self.slow.update(close), self.rsi.update(close));
        let (Some(fast), Some(slow), Some(rsi)) = (fast, slow, rsi) else { return Ok(()) };
        let held = !ctx.position_size(ctx.symbol()).is_zero();
        if fast > slow && rsi < 70.0 && !held {
            if ctx.submit(ctx.symbol(), OrderSide::Buy, Decimal::new(1, 2), Decimal::ONE).is_ok() {
                let stop = bar.close * Decimal::new(98, 2);
                let _ = ctx.set_exit(ctx.symbol(), ExitKind::StopLoss, Some(stop));
            }
        } else if fast < slow && held {
            let _ = ctx.close_position(ctx.symbol(), Decimal::ONE_HUNDRED);
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = args.next().unwrap_or_else(|| "data".to_owned());
    let results = args.next().unwrap_or_else(|| "results".to_owned());
    let (start, end) = (NaiveDate::from_ymd_opt(2025, 1, 1), NaiveDate::from_ymd_opt(2025, 1, 31));
    let (Some(start), Some(end)) = (start, end) else { return Err("bad dates".into()) };
    let config =
        BacktestConfig::builder(Symbol::new("BTCUSDT")?, Timeframe::H1, start, end).build()?;
    let bars = CsvMarketData::open(data).bars(&BarQuery::of(&config))?;
    let mut strategy = Crossover { fast: Sma::new(10), slow: Sma::new(30), rsi: Rsi::new(14) };
    let report = Backtest::new(&config, &bars).run(&mut strategy, &());
    let stops = report
        .trades
        .iter()
        .filter(|t| t.order_type == cryptobt_domain::OrderType::StopLoss)
        .count();

    let store = FileResultStore::new(&results);
    let record = RunRecord {
        backtest_id: BacktestId::with_seed(Utc::now().naive_utc(), 7),
        created_at: Utc::now(),
        strategy_code: "native Rust: SMA(10/30) crossover, RSI(14) < 70, 2 % stop-loss".to_owned(),
        config,
        status: report.status,
        error: None,
    };
    store.save(&record, Some(&report))?;
    let back = store.load(&record.backtest_id, 100)?;
    println!(
        "{} bars, {} fills ({stops} stop-loss), final equity {} ; read back: {} fills, status {}",
        report.bars,
        report.trades.len(),
        report.metrics.final_equity.map_or_else(|| "-".to_owned(), |e| e.round_dp(2).to_string()),
        back.trades.len(),
        back.record.status,
    );
    if back.trades.len() != report.trades.len() || back.record.status != RunStatus::Completed {
        return Err("the saved run does not read back".into());
    }
    Ok(())
}
