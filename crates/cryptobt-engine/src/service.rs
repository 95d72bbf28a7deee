//! `Engine`: the `BacktestService` port over the `MarketData` and `StrategyFactory` ports.

use std::sync::Arc;

use cryptobt_domain::{
    ports::{
        BacktestRequest, BacktestService, BarQuery, BarSeries, MarketData, RunObserver,
        ServiceError, SnapshotSink, StrategyFactory, StrategySpec,
    },
    BacktestReport, ErrorCode, Intrabar, Timeframe, TradingMode,
};

use crate::run::{failed_before_start, Backtest};

/// Runs backtests: loads the bars (and funding rates) through `MarketData`, builds the strategy
/// through `StrategyFactory`, replays and measures.
#[derive(Clone)]
pub struct Engine {
    market: Arc<dyn MarketData>,
    strategies: Arc<dyn StrategyFactory>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over these ports.
    #[must_use]
    pub fn new(market: Arc<dyn MarketData>, strategies: Arc<dyn StrategyFactory>) -> Self {
        Self { market, strategies }
    }
}

impl BacktestService for Engine {
    fn run(
        &self,
        request: &BacktestRequest,
        observer: &dyn RunObserver,
        snapshots: &mut dyn SnapshotSink,
    ) -> Result<BacktestReport, ServiceError> {
        let config = &request.config;
        let data_error = |e: &dyn std::fmt::Display| ServiceError {
            code: ErrorCode::DataError,
            message: e.to_string(),
        };
        let query = BarQuery::of(config);
        let bars = self.market.bars(&query).map_err(|e| data_error(&e))?;
        if bars.is_empty() {
            return Err(data_error(&format!(
                "no bars for {} {} {}..{}",
                query.symbol, query.timeframe, query.start, query.end
            )));
        }
        let minutes =
            if config.intrabar() == Intrabar::OneMinute && config.timeframe() != Timeframe::M1 {
                let query = BarQuery { timeframe: Timeframe::M1, ..query };
                let minutes = self.market.bars(&query).map_err(|e| {
                    data_error(&format!("intrabar = 1m needs the 1m bars of the range: {e}"))
                })?;
                check_minutes(&bars, &minutes, config.timeframe().duration_ms())
                    .map_err(|e| data_error(&e))?;
                Some(minutes)
            } else {
                None
            };
        let funding = match config.trading_mode() {
            TradingMode::Futures => self
                .market
                .funding_rates(config.symbol(), config.start_date(), config.end_date())
                .map_err(|e| data_error(&e))?,
            TradingMode::Spot => None,
        };
        let spec = StrategySpec {
            source: request.strategy_code.clone(),
            symbol: config.symbol(),
            params: config.params().clone(),
            limits: request.limits.clone(),
        };
        let mut strategy = match self.strategies.create(&spec) {
            Ok(strategy) => strategy,
            Err(e) => return Ok(failed_before_start(config, e)),
        };
        let mut backtest = Backtest::new(config, &bars)
            .cancel(request.limits.cancel.clone())
            .max_fills(request.limits.max_fills);
        if let Some(rates) = funding.as_deref() {
            backtest = backtest.funding(rates);
        }
        if let Some(minutes) = minutes.as_ref() {
            backtest = backtest.minutes(minutes);
        }
        Ok(backtest.run_into(strategy.as_mut(), observer, snapshots))
    }
}

/// Checks that every bar of `bars` has all its minutes in `minutes` (both sorted): `intrabar = 1m`
/// walks them, and a missing one is a data error (DESIGN §6 step 2).
///
/// # Errors
/// The first bar with a missing minute, named by its time.
pub fn check_minutes(bars: &BarSeries, minutes: &BarSeries, bar_ms: i64) -> Result<(), String> {
    let mut iter = minutes.iter().peekable();
    for bar in bars.iter() {
        while iter.peek().is_some_and(|m| m.timestamp < bar.timestamp) {
            iter.next();
        }
        let mut expected = bar.timestamp;
        while expected < bar.timestamp + bar_ms {
            match iter.peek() {
                Some(m) if m.timestamp == expected => {
                    iter.next();
                    expected += 60_000;
                }
                _ => {
                    let at = chrono::DateTime::from_timestamp_millis(expected).map_or_else(
                        || expected.to_string(),
                        |t| t.format("%Y-%m-%d %H:%M").to_string(),
                    );
                    return Err(format!("intrabar = 1m: the 1m bar at {at} UTC is missing"));
                }
            }
        }
    }
    Ok(())
}
