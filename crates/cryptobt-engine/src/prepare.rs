//! One preparation and one entry point for every run: a plain backtest, each sweep member and
//! each walk-forward window load their market through [`Prepared::load`] and replay it through
//! [`Prepared::run`], so a sweep member is exactly the run with its params.

use cryptobt_domain::{
    ports::{
        BarQuery, BarSeries, MarketData, RunObserver, ServiceError, SnapshotSink, StrategyError,
        StrategyFactory, StrategyLimits, StrategySpec,
    },
    BacktestConfig, BacktestReport, ErrorCode, FundingRate, Intrabar, Timeframe, TradingMode,
};

use crate::{run::Backtest, service::check_minutes};

/// What a run replays besides its strategy: its bars, the 1m bars its `intrabar = 1m` path walks,
/// and the published funding rates (futures).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The run's bars.
    pub bars: BarSeries,
    /// The 1m bars of the same range, with `intrabar = 1m` on a timeframe above 1m.
    pub minutes: Option<BarSeries>,
    /// The published funding rates, when the data has them (futures only).
    pub funding: Option<Vec<FundingRate>>,
}

fn data_error(message: String) -> ServiceError {
    ServiceError::new(ErrorCode::DataError, message)
}

impl Prepared {
    /// Loads what `config` replays from `market`.
    ///
    /// # Errors
    /// `data_error` when the bars are missing or unreadable, when `intrabar = 1m` lacks a 1m bar
    /// of the range, or when the funding rates cannot be read.
    pub fn load(market: &dyn MarketData, config: &BacktestConfig) -> Result<Self, ServiceError> {
        let query = BarQuery::of(config);
        let bars = market.bars(&query).map_err(|e| data_error(e.to_string()))?;
        if bars.is_empty() {
            return Err(data_error(format!(
                "no bars for {} {} {}..{}",
                query.symbol, query.timeframe, query.start, query.end
            )));
        }
        let minutes =
            if config.intrabar() == Intrabar::OneMinute && config.timeframe() != Timeframe::M1 {
                let query = BarQuery { timeframe: Timeframe::M1, ..query };
                let minutes = market.bars(&query).map_err(|e| {
                    data_error(format!("intrabar = 1m needs the 1m bars of the range: {e}"))
                })?;
                check_minutes(&bars, &minutes, config.timeframe().duration_ms())
                    .map_err(|e| data_error(e.to_string()))?;
                Some(minutes)
            } else {
                None
            };
        let funding = match config.trading_mode() {
            TradingMode::Futures => market
                .funding_rates(config.symbol(), config.start_date(), config.end_date())
                .map_err(|e| data_error(e.to_string()))?,
            TradingMode::Spot => None,
        };
        Ok(Self { bars, minutes, funding })
    }

    /// The part of this market on the days `start..=end` (UTC): a walk-forward window.
    #[must_use]
    pub fn days(&self, start: chrono::NaiveDate, end: chrono::NaiveDate) -> Self {
        let from = start.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis());
        let to =
            end.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis()) + 86_400_000;
        let within = |series: &BarSeries| {
            let bars: Vec<cryptobt_domain::Bar> = series
                .iter()
                .filter(|b| b.timestamp >= from && b.timestamp < to)
                .copied()
                .collect();
            BarSeries::new(vec![std::sync::Arc::from(bars)])
        };
        Self {
            bars: within(&self.bars),
            minutes: self.minutes.as_ref().map(within),
            funding: self.funding.clone(),
        }
    }

    /// Builds the strategy of `config` through `strategies` and replays this market with it: the
    /// one entry point of every run.
    ///
    /// # Errors
    /// The strategy's error when it cannot be built (nothing was replayed).
    pub fn run(
        &self,
        config: &BacktestConfig,
        strategies: &dyn StrategyFactory,
        source: &str,
        limits: &StrategyLimits,
        observer: &dyn RunObserver,
        snapshots: &mut dyn SnapshotSink,
    ) -> Result<BacktestReport, StrategyError> {
        let spec = StrategySpec {
            source: source.to_owned(),
            symbol: config.symbol(),
            params: config.params().clone(),
            limits: limits.clone(),
        };
        let mut strategy = strategies.create(&spec)?;
        let mut backtest = Backtest::new(config, &self.bars)
            .cancel(limits.cancel.clone())
            .max_fills(limits.max_fills);
        if let Some(rates) = self.funding.as_deref() {
            backtest = backtest.funding(rates);
        }
        if let Some(minutes) = self.minutes.as_ref() {
            backtest = backtest.minutes(minutes);
        }
        Ok(backtest.run_into(strategy.as_mut(), observer, snapshots))
    }
}
