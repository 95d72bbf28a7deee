//! One preparation and one entry point for every run: a plain backtest, each sweep member and
//! each walk-forward window load their market through [`Prepared::load`] and replay it through
//! [`Prepared::run`], so a sweep member is exactly the run with its params.

use cryptobt_domain::{
    ports::{
        BarQuery, BarSeries, MarketData, RunObserver, ServiceError, SnapshotSink, StrategyError,
        StrategyFactory, StrategyLimits, StrategySpec,
    },
    BacktestConfig, BacktestReport, ErrorCode, FundingRate, Intrabar, Symbol, Timeframe,
    TradingMode,
};

use crate::{
    run::{Backtest, Feed},
    service::check_minutes,
};

/// What a run replays besides its strategy: for each of its symbols, the bars, the 1m bars its
/// `intrabar = 1m` path walks, and the published funding rates (futures).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// One market per symbol of the run, in its order (the primary first).
    pub feeds: Vec<PreparedFeed>,
}

/// One symbol's loaded market.
#[derive(Debug, Clone)]
pub struct PreparedFeed {
    /// The symbol.
    pub symbol: Symbol,
    /// Its bars.
    pub bars: BarSeries,
    /// Its 1m bars of the same range, with `intrabar = 1m` on a timeframe above 1m.
    pub minutes: Option<BarSeries>,
    /// Its published funding rates, when the data has them (futures only).
    pub funding: Option<Vec<FundingRate>>,
}

fn data_error(message: String) -> ServiceError {
    ServiceError::new(ErrorCode::DataError, message)
}

impl PreparedFeed {
    fn load(
        market: &dyn MarketData,
        config: &BacktestConfig,
        symbol: Symbol,
    ) -> Result<Self, ServiceError> {
        let query = BarQuery::of_symbol(config, symbol);
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
                    .map_err(|e| data_error(format!("{symbol}: {e}")))?;
                Some(minutes)
            } else {
                None
            };
        let funding = match config.trading_mode() {
            TradingMode::Futures => market
                .funding_rates(symbol, config.start_date(), config.end_date())
                .map_err(|e| data_error(e.to_string()))?,
            TradingMode::Spot => None,
        };
        Ok(Self { symbol, bars, minutes, funding })
    }

    fn feed(&self) -> Feed<'_> {
        Feed {
            symbol: self.symbol,
            bars: &self.bars,
            funding: self.funding.as_deref(),
            minutes: self.minutes.as_ref(),
        }
    }
}

impl Prepared {
    /// Loads what `config` replays from `market`, symbol by symbol.
    ///
    /// # Errors
    /// `data_error` when a symbol's bars are missing or unreadable, when they do not share the
    /// primary's bar times, when `intrabar = 1m` lacks a 1m bar of the range, or when the funding
    /// rates cannot be read.
    pub fn load(market: &dyn MarketData, config: &BacktestConfig) -> Result<Self, ServiceError> {
        let mut feeds: Vec<PreparedFeed> = Vec::with_capacity(config.symbols().len());
        for symbol in config.symbols() {
            let feed = PreparedFeed::load(market, config, *symbol)?;
            if let Some(primary) = feeds.first() {
                check_same_times(primary, &feed)?;
            }
            feeds.push(feed);
        }
        Ok(Self { feeds })
    }

    /// The number of steps (bars of each symbol).
    #[must_use]
    pub fn steps(&self) -> usize {
        self.feeds.first().map_or(0, |f| f.bars.len())
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
        let feeds = self
            .feeds
            .iter()
            .map(|f| PreparedFeed {
                symbol: f.symbol,
                bars: within(&f.bars),
                minutes: f.minutes.as_ref().map(within),
                funding: f.funding.clone(),
            })
            .collect();
        Self { feeds }
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
            symbols: config.symbols().to_vec(),
            params: config.params().clone(),
            limits: limits.clone(),
        };
        let mut strategy = strategies.create(&spec)?;
        let backtest = Backtest::over(config, self.feeds.iter().map(PreparedFeed::feed).collect())
            .cancel(limits.cancel.clone())
            .max_fills(limits.max_fills);
        Ok(backtest.run_into(strategy.as_mut(), observer, snapshots))
    }
}

/// Checks that `other` has a bar at every bar time of `primary`, and no other.
fn check_same_times(primary: &PreparedFeed, other: &PreparedFeed) -> Result<(), ServiceError> {
    let mut theirs = other.bars.iter();
    for bar in primary.bars.iter() {
        match theirs.next() {
            Some(b) if b.timestamp == bar.timestamp => {}
            found => {
                let when = |t: i64| {
                    chrono::DateTime::from_timestamp_millis(t).map_or_else(
                        || t.to_string(),
                        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
                    )
                };
                return Err(data_error(format!(
                    "{} has no bar at {} where {} has one{}",
                    other.symbol,
                    when(bar.timestamp),
                    primary.symbol,
                    found.map_or_else(String::new, |b| format!(
                        " (its next bar is at {})",
                        when(b.timestamp)
                    ))
                )));
            }
        }
    }
    if let Some(extra) = theirs.next() {
        return Err(data_error(format!(
            "{} has a bar at {} where {} has none",
            other.symbol, extra.timestamp, primary.symbol
        )));
    }
    Ok(())
}
