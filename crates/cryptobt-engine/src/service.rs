//! `Engine`: the `BacktestService` port over the `MarketData` and `StrategyFactory` ports.

use std::sync::Arc;

use cryptobt_domain::{
    ports::{
        BacktestRequest, BacktestService, BarSeries, MarketData, RunObserver, ServiceError,
        SnapshotSink, StrategyFactory,
    },
    BacktestReport,
};

use crate::{failed_before_start, Prepared};

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
        let market = Prepared::load(self.market.as_ref(), config)?;
        let report = market.run(
            config,
            self.strategies.as_ref(),
            &request.strategy_code,
            &request.limits,
            observer,
            snapshots,
        );
        Ok(report.unwrap_or_else(|e| failed_before_start(config, e)))
    }
}

/// A 1m bar that `intrabar = 1m` needs and the data lacks, named by its time (UTC).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("intrabar = 1m: the 1m bar at {0} UTC is missing")]
pub struct MissingMinute(pub String);

/// Checks that every bar of `bars` has all its minutes in `minutes` (both sorted): `intrabar = 1m`
/// walks them, and a missing one is a data error (docs/design.md#the-bar-loop step 2).
///
/// # Errors
/// The first bar with a missing minute, named by its time.
pub fn check_minutes(
    bars: &BarSeries,
    minutes: &BarSeries,
    bar_ms: i64,
) -> Result<(), MissingMinute> {
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
                    return Err(MissingMinute(at));
                }
            }
        }
    }
    Ok(())
}
