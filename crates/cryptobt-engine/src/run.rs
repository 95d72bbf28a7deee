//! `Backtest`: the bar loop of docs/design.md#the-bar-loop over bars already loaded, with any `Strategy`.

use std::rc::Rc;

use cryptobt_domain::{
    ports::{
        BarSeries, CancelToken, RunObserver, SharedContext, SnapshotSink, Strategy, StrategyError,
        StrategyLimits,
    },
    BacktestConfig, BacktestReport, Bar, ErrorCode, FillMode, FundingRate, OpenPosition, Portfolio,
    RunError, RunStatus, Symbol, TradingMode,
};
use rust_decimal::Decimal;

use crate::{
    context::{index_of, History, RunContext},
    intrabar::{Minutes, Path},
    metrics::{by_symbol, Accumulator},
};

/// Funding times fall every 8 hours from the epoch: 00:00, 08:00 and 16:00 UTC.
pub const FUNDING_INTERVAL_MS: i64 = 8 * 3_600_000;

/// Bars between two cancellation checks (the strategy's own limits check far more often).
const CANCEL_EVERY: usize = 1_024;

/// The funding times `t` with `previous < t ≤ current`.
pub fn funding_times(previous: i64, current: i64) -> impl Iterator<Item = i64> {
    let first = (previous.div_euclid(FUNDING_INTERVAL_MS) + 1) * FUNDING_INTERVAL_MS;
    (0..).map(move |k| first + k * FUNDING_INTERVAL_MS).take_while(move |t| *t <= current)
}

/// One backtest over loaded bars: the config, the bars, the funding rates (when the data has
/// them) and a cancel token. No IO and no clock: everything arrives as values.
///
/// ```
/// # use cryptobt_domain::{ports::{BarSeries, SharedContext, Strategy, StrategyError}, Bar, OrderSide};
/// # use cryptobt_engine::Backtest;
/// struct BuyOnce;
/// impl Strategy for BuyOnce {
///     fn on_bar(&mut self, _bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
///         if ctx.position_size(ctx.symbol()).is_zero() {
///             let _ = ctx.submit(ctx.symbol(), OrderSide::Buy, rust_decimal::Decimal::ONE, rust_decimal::Decimal::ONE);
///         }
///         Ok(())
///     }
/// }
/// # fn demo(config: &cryptobt_domain::BacktestConfig, bars: &BarSeries) {
/// let report = Backtest::new(config, bars).run(&mut BuyOnce, &());
/// println!("{:?}", report.metrics.total_return);
/// # }
/// ```
///
/// A complete native-Rust example over the shipped data is `examples/sma_crossover.rs`.
#[derive(Debug, Clone)]
pub struct Backtest<'a> {
    config: &'a BacktestConfig,
    feeds: Vec<Feed<'a>>,
    cancel: CancelToken,
    max_fills: usize,
}

/// One symbol's market in a run: its bars of the run's timeframe, its published funding rates
/// (futures) and its 1m bars (`intrabar = 1m`).
#[derive(Debug, Clone, Copy)]
pub struct Feed<'a> {
    /// The symbol.
    pub symbol: Symbol,
    /// Its bars, one per step of the run.
    pub bars: &'a BarSeries,
    /// Its published funding rates; without them every funding time uses the config's
    /// `funding_rate`, and so does a funding time the rates do not list.
    pub funding: Option<&'a [FundingRate]>,
    /// Its 1m bars, for `intrabar = 1m`: each bar's path is then its minutes, each walked by the
    /// `O → X → Y → C` rule. Every bar must have all its minutes.
    pub minutes: Option<&'a BarSeries>,
}

impl<'a> Feed<'a> {
    /// `symbol`'s `bars`, without funding rates or minutes.
    #[must_use]
    pub fn new(symbol: Symbol, bars: &'a BarSeries) -> Self {
        Self { symbol, bars, funding: None, minutes: None }
    }
}

impl<'a> Backtest<'a> {
    /// A backtest of `config` over `bars`, the bars of its primary symbol (add the other
    /// symbols of a run of several with [`feed`](Self::feed)).
    #[must_use]
    pub fn new(config: &'a BacktestConfig, bars: &'a BarSeries) -> Self {
        Self {
            config,
            feeds: vec![Feed::new(config.symbol(), bars)],
            cancel: CancelToken::new(),
            max_fills: StrategyLimits::default().max_fills,
        }
    }

    /// A backtest of `config` over one feed per symbol of the config, in its order.
    #[must_use]
    pub fn over(config: &'a BacktestConfig, feeds: Vec<Feed<'a>>) -> Self {
        Self {
            config,
            feeds,
            cancel: CancelToken::new(),
            max_fills: StrategyLimits::default().max_fills,
        }
    }

    /// Adds the feed of one more symbol of the config (or replaces the feed of its symbol).
    #[must_use]
    pub fn feed(mut self, feed: Feed<'a>) -> Self {
        match self.feeds.iter_mut().find(|f| f.symbol == feed.symbol) {
            Some(f) => *f = feed,
            None => self.feeds.push(feed),
        }
        self
    }

    /// Published funding rates of the primary symbol (futures); without them every funding
    /// time uses the config's `funding_rate`, and so does a funding time the rates do not list.
    #[must_use]
    pub fn funding(mut self, rates: &'a [FundingRate]) -> Self {
        if let Some(primary) = self.feeds.first_mut() {
            primary.funding = Some(rates);
        }
        self
    }

    /// The primary symbol's 1m bars, for `intrabar = 1m`: each bar's path is then its minutes,
    /// each walked by the `O → X → Y → C` rule. Every bar of the run must have all its minutes
    /// (the [`Engine`](crate::Engine) checks them as it loads them).
    #[must_use]
    pub fn minutes(mut self, minutes: &'a BarSeries) -> Self {
        if let Some(primary) = self.feeds.first_mut() {
            primary.minutes = Some(minutes);
        }
        self
    }

    /// The most fills the run may make; one more ends it with `fill_limit_exceeded`.
    #[must_use]
    pub fn max_fills(mut self, max: usize) -> Self {
        self.max_fills = max;
        self
    }

    /// A token that stops the run between bars when cancelled.
    #[must_use]
    pub fn cancel(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// Runs `strategy` over every bar and measures the result, keeping every snapshot in the
    /// report. A strategy error or a cancellation ends the run early; the report then carries
    /// what was recorded up to there.
    pub fn run(&self, strategy: &mut dyn Strategy, observer: &dyn RunObserver) -> BacktestReport {
        let mut snapshots = Vec::with_capacity(self.feeds.first().map_or(0, |f| f.bars.len()));
        let mut report = self.run_into(strategy, observer, &mut snapshots);
        report.snapshots = snapshots;
        report
    }

    /// The feeds in the config's symbol order, or why they do not fit it.
    fn ordered(&self) -> Result<Vec<Feed<'a>>, RunError> {
        let symbols = self.config.symbols();
        let Some(primary) = self.feeds.first() else {
            return Err(RunError {
                code: ErrorCode::DataError,
                message: format!("no bars were given for {}", self.config.symbol()),
                line: None,
            });
        };
        let mut ordered = Vec::with_capacity(symbols.len());
        for symbol in symbols {
            let feed = self.feeds.iter().find(|f| f.symbol == *symbol).ok_or_else(|| RunError {
                code: ErrorCode::DataError,
                message: format!("no bars were given for {symbol}"),
                line: None,
            })?;
            if feed.bars.len() != primary.bars.len() {
                return Err(RunError {
                    code: ErrorCode::DataError,
                    message: format!(
                        "{symbol} has {} bars, {} has {}: every symbol needs a bar at every step",
                        feed.bars.len(),
                        primary.symbol,
                        primary.bars.len()
                    ),
                    line: None,
                });
            }
            ordered.push(*feed);
        }
        Ok(ordered)
    }

    /// Like [`run`](Self::run), but hands each snapshot to `sink` as it is taken instead of
    /// keeping it (the report's `snapshots` stay empty): a long run then holds no per-bar data.
    #[allow(clippy::too_many_lines)]
    pub fn run_into(
        &self,
        strategy: &mut dyn Strategy,
        observer: &dyn RunObserver,
        sink: &mut dyn SnapshotSink,
    ) -> BacktestReport {
        let config = self.config;
        let empty = BarSeries::default();
        let (feeds, mut stop): (Vec<Feed<'_>>, _) = match self.ordered() {
            Ok(feeds) => (feeds, None),
            // Nothing is replayed: the report carries the data error.
            Err(e) => (vec![Feed::new(config.symbol(), &empty)], Some(e)),
        };
        let symbols: Vec<Symbol> = feeds.iter().map(|f| f.symbol).collect();
        let futures = config.trading_mode() == TradingMode::Futures;
        let history =
            History::new(config.timeframe(), feeds.iter().map(|f| f.bars.clone()).collect());
        let ctx = Rc::new(RunContext::new(
            symbols.clone(),
            config.fill(),
            Portfolio::new(config),
            history,
        ));
        let shared: SharedContext = ctx.clone();
        let total = feeds[0].bars.len();
        let step = (total / 200).max(1_000);
        let mut measured = Accumulator::new(config.initial_capital());
        let wants_snapshots = sink.wants_snapshots();
        let mut processed = 0u64;
        if stop.is_none() {
            stop = strategy.initialize(&shared).err().map(RunError::from);
        }
        let mut previous_open: Option<i64> = None;
        let mut funding_fallbacks = 0u64;
        let mut minutes: Vec<Option<Minutes>> =
            feeds.iter().map(|f| f.minutes.map(Minutes::new)).collect();
        let mut levels = Vec::with_capacity(8);
        let bar_ms = config.timeframe().duration_ms();
        let mut others: Vec<_> = feeds[1..].iter().map(|f| f.bars.iter()).collect();
        let mut bars: Vec<&Bar> = Vec::with_capacity(feeds.len());
        let mut ambiguous = vec![false; feeds.len()];

        for (i, bar) in feeds[0].bars.iter().enumerate() {
            if stop.is_some() {
                break;
            }
            if i % CANCEL_EVERY == 0 && self.cancel.is_cancelled() {
                stop = Some(RunError {
                    code: ErrorCode::Cancelled,
                    message: "the run was cancelled".into(),
                    line: None,
                });
                break;
            }
            bars.clear();
            bars.push(bar);
            for (k, iter) in others.iter_mut().enumerate() {
                match iter.next() {
                    Some(other) if other.timestamp == bar.timestamp => bars.push(other),
                    found => {
                        stop = Some(RunError {
                            code: ErrorCode::DataError,
                            message: format!(
                                "{} has no bar at {} (found {})",
                                symbols[k + 1],
                                bar.timestamp,
                                found
                                    .map_or_else(|| "none".to_owned(), |b| b.timestamp.to_string())
                            ),
                            line: None,
                        });
                    }
                }
            }
            if stop.is_some() {
                break;
            }
            ctx.show_bars(None);
            let bar_start = ctx.records.borrow().trades.len();
            if config.fill() == FillMode::NextOpen {
                let queued = std::mem::take(&mut *ctx.queue.borrow_mut());
                for (symbol, order) in queued {
                    let own = bars[index_of(&symbols, symbol)];
                    // A refusal at the fill is recorded (by `execute`), not returned.
                    let _ = ctx.execute(symbol, order, own.open, own.timestamp);
                }
            }
            for (k, feed) in feeds.iter().enumerate() {
                let symbol = feed.symbol;
                let own = bars[k];
                if futures {
                    if let Some(previous) = previous_open {
                        for time in funding_times(previous, own.timestamp) {
                            let rate = listed_rate(feed.funding, time).unwrap_or_else(|| {
                                funding_fallbacks += 1;
                                config.funding_rate()
                            });
                            if rate.is_zero() {
                                continue;
                            }
                            let payment = ctx
                                .portfolio
                                .borrow_mut()
                                .settle_funding(symbol, time, own.open, rate);
                            if let Some(payment) = payment {
                                let mut records = ctx.records.borrow_mut();
                                // The fills before it (at this open) belong to the trip it pays.
                                records.absorb(i as u64);
                                records.on_funding(k, payment.amount);
                                records.funding.push(payment);
                            }
                        }
                    }
                }
                ambiguous[k] = if ctx.book.borrow().is_idle(symbol) {
                    // Nothing but the liquidation price is armed: the path reaches it exactly
                    // when the bar's extreme does.
                    if futures {
                        let liquidation = ctx.portfolio.borrow_mut().liquidate_if_reached(
                            symbol,
                            own.low,
                            own.high,
                            own.timestamp,
                        );
                        if let Some(liquidation) = liquidation {
                            ctx.records.borrow_mut().trades.push(liquidation);
                        }
                    }
                    false
                } else {
                    let path = Path::new(&ctx, symbol, own.timestamp, &mut levels);
                    match minutes[k].as_mut() {
                        Some(m) => path.walk(m.take(own.timestamp, own.timestamp + bar_ms)),
                        None => path.walk(std::slice::from_ref(own)),
                    }
                };
            }
            {
                let mut portfolio = ctx.portfolio.borrow_mut();
                for (symbol, own) in symbols.iter().zip(&bars) {
                    portfolio.mark(*symbol, own.close);
                }
            }
            ctx.show_bars(Some(&bars));
            ctx.history.step.set(Some(i));
            if let Err(e) = strategy.on_bar(bar, &shared) {
                stop = Some(RunError::from(e));
            }
            if ambiguous.contains(&true) {
                let mut records = ctx.records.borrow_mut();
                for (count, flag) in records.ambiguous_bars.iter_mut().zip(&ambiguous) {
                    *count += u64::from(*flag);
                }
                for trade in &mut records.trades[bar_start..] {
                    if ambiguous[index_of(&symbols, trade.symbol)] {
                        trade.ambiguous = true;
                    }
                }
            }
            let fills = {
                let mut records = ctx.records.borrow_mut();
                records.absorb(i as u64);
                records.trades.len()
            };
            if fills > self.max_fills && stop.is_none() {
                stop = Some(RunError {
                    code: ErrorCode::FillLimitExceeded,
                    message: format!(
                        "the run made {fills} fills, more than the limit of {} per run",
                        self.max_fills
                    ),
                    line: None,
                });
            }
            let portfolio = ctx.portfolio.borrow();
            if wants_snapshots {
                let snapshot = portfolio.snapshot(bar.timestamp);
                measured.add(bar.timestamp, snapshot.portfolio_value, !snapshot.exposure.is_zero());
                sink.push(&snapshot);
            } else {
                let (equity, exposed) = portfolio.equity_and_exposed();
                measured.add(bar.timestamp, equity, exposed);
            }
            processed += 1;
            previous_open = Some(bar.timestamp);
            if (i + 1) % step == 0 {
                observer.on_progress((i + 1) as u64, total as u64);
            }
        }
        ctx.show_bars(None);
        observer.on_progress(processed, total as u64);

        let mut records = std::mem::take(&mut *ctx.records.borrow_mut());
        let round_trips = records.take_round_trips();
        let dropped_orders = ctx.queue.borrow().len() as u64;
        let pending_at_end = ctx.book.borrow().orders().len() as u64;
        let open_at_end = ctx.portfolio.borrow().positions().next().is_some();
        // Each symbol's first and last bar processed (buy and hold, the open positions' value).
        let ends: Vec<(Bar, Bar)> = match usize::try_from(processed) {
            Ok(n) if n > 0 => feeds
                .iter()
                .filter_map(|f| {
                    Some((*f.bars.range(0, 1).next()?, *f.bars.range(n - 1, n).next()?))
                })
                .collect(),
            _ => Vec::new(),
        };
        let open_positions: Vec<OpenPosition> = {
            let portfolio = ctx.portfolio.borrow();
            portfolio
                .positions()
                .map(|p| {
                    let close = ends.get(index_of(&symbols, p.symbol())).map(|(_, b)| b.close);
                    OpenPosition {
                        symbol: p.symbol(),
                        size: p.size(),
                        entry_price: p.entry_price(),
                        unrealized_pnl: close.map_or(Decimal::ZERO, |c| p.unrealized_pnl(c)),
                    }
                })
                .collect()
        };
        let (mut metrics, daily_returns) =
            measured.finish(&records.trades, &records.funding, &round_trips, &ends);
        let ambiguous_bars: u64 = records.ambiguous_bars.iter().sum();
        metrics.ambiguous_bars = ambiguous_bars;
        if symbols.len() > 1 {
            metrics.by_symbol = Some(by_symbol(
                &symbols,
                &records.trades,
                &records.funding,
                &round_trips,
                &records.ambiguous_bars,
            ));
        }
        let status = match &stop {
            None => RunStatus::Completed,
            Some(e) if e.code == ErrorCode::Cancelled => RunStatus::Cancelled,
            Some(_) => RunStatus::Failed,
        };
        let params_read = strategy.params_read();
        BacktestReport {
            config: config.clone(),
            status,
            error: stop,
            metrics,
            trades: records.trades,
            round_trips,
            snapshots: Vec::new(),
            bars: processed,
            covered: ends.first().map(|(f, l)| (f.timestamp, l.timestamp)),
            funding: records.funding,
            rejections: records.rejections,
            dropped_orders,
            pending_at_end,
            ambiguous_bars,
            open_at_end,
            open_positions,
            funding_fallbacks,
            unused_params: params_read.as_ref().map_or_else(Vec::new, |read| {
                config.params().keys().filter(|k| !read.contains(*k)).cloned().collect()
            }),
            params_read: params_read.map_or_else(Vec::new, |read| read.into_iter().collect()),
            log: records.log,
            plots: records.plots.into_series(),
            daily_returns,
        }
    }
}

/// The published funding rate at `time`, or `None` when `rates` do not list it (the caller then
/// uses the config's `funding_rate` and counts the fallback).
fn listed_rate(rates: Option<&[FundingRate]>, time: i64) -> Option<Decimal> {
    rates.and_then(|rates| {
        rates.binary_search_by_key(&time, |r| r.timestamp).ok().map(|i| rates[i].rate)
    })
}

/// A run that failed before its first bar (the strategy did not load).
#[must_use]
pub fn failed_before_start(config: &BacktestConfig, error: StrategyError) -> BacktestReport {
    let bars = BarSeries::default();
    let mut report = Backtest::new(config, &bars).run(&mut NoStrategy, &());
    report.status =
        if error.code == ErrorCode::Cancelled { RunStatus::Cancelled } else { RunStatus::Failed };
    report.error = Some(error.into());
    report
}

struct NoStrategy;
impl Strategy for NoStrategy {
    fn on_bar(&mut self, _: &Bar, _: &SharedContext) -> Result<(), StrategyError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funding_times_are_the_8h_marks_after_the_previous_bar() {
        let h = 3_600_000;
        assert_eq!(funding_times(0, 8 * h).collect::<Vec<_>>(), [8 * h]);
        assert_eq!(funding_times(7 * h, 8 * h - 1).count(), 0);
        assert_eq!(
            funding_times(8 * h, 9 * h).count(),
            0,
            "a funding time at the previous open was settled then"
        );
        assert_eq!(funding_times(-h, 24 * h).collect::<Vec<_>>(), [0, 8 * h, 16 * h, 24 * h]);
    }
}

#[cfg(test)]
mod null_metrics {
    use cryptobt_domain::{
        ports::{BarSeries, SharedContext, Strategy, StrategyError},
        testkit, Bar, ErrorCode, RunStatus, TradingMode,
    };
    use rust_decimal::Decimal;

    use super::Backtest;

    struct FailsAtStart;
    impl Strategy for FailsAtStart {
        fn initialize(&mut self, _: &SharedContext) -> Result<(), StrategyError> {
            Err(StrategyError {
                code: ErrorCode::RuntimeError,
                message: "boom".into(),
                line: Some(1),
            })
        }
        fn on_bar(&mut self, _: &Bar, _: &SharedContext) -> Result<(), StrategyError> {
            Ok(())
        }
    }

    #[test]
    fn feeds_that_do_not_fit_the_config_fail_the_run_with_a_data_error() {
        let config = testkit::config(TradingMode::Spot, Decimal::from(1_000), Decimal::ONE);
        let report = Backtest::over(&config, Vec::new()).run(&mut FailsAtStart, &());
        assert_eq!(report.status, RunStatus::Failed);
        assert_eq!(report.error.as_ref().map(|e| e.code), Some(ErrorCode::DataError));
        assert_eq!(report.bars, 0);
        let eth = cryptobt_domain::Symbol::new("ETHUSDT").unwrap();
        let bars = testkit::series(0, 3_600_000, &[[Decimal::ONE; 4]]);
        let report =
            Backtest::over(&config, vec![crate::Feed::new(eth, &bars)]).run(&mut FailsAtStart, &());
        let error = report.error.unwrap();
        assert_eq!(error.code, ErrorCode::DataError);
        assert!(error.message.contains("no bars were given for BTCUSDT"), "{}", error.message);
    }

    #[test]
    fn a_run_without_snapshots_has_every_snapshot_metric_null() {
        let config = testkit::config(TradingMode::Spot, Decimal::from(1_000), Decimal::ONE);
        let bars = BarSeries::new(vec![std::sync::Arc::from(vec![testkit::bar(
            0,
            Decimal::ONE,
            Decimal::TWO,
            Decimal::ONE,
            Decimal::ONE,
        )])]);
        let report = Backtest::new(&config, &bars).run(&mut FailsAtStart, &());
        assert_eq!(report.status, RunStatus::Failed);
        assert_eq!(report.bars, 0);
        let m = report.metrics;
        assert_eq!(
            (m.total_return, m.final_equity, m.max_drawdown, m.exposure),
            (None, None, None, None)
        );
        assert_eq!(
            (m.annualized_return, m.volatility, m.sharpe_ratio, m.sortino_ratio),
            (None, None, None, None)
        );
        assert_eq!(m.benchmark_return, None, "no bar was processed");
        assert_eq!(m.total_trades, 0);
    }
}
