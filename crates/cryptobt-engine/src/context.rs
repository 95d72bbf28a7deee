//! The engine's side of the `StrategyContext` port: the run's portfolio, each symbol's bar of
//! the step and its history, the order queue of `fill = next_open`, and everything the run
//! records.

use std::cell::{Cell, RefCell};

use cryptobt_domain::{
    ports::{BarSeries, HistoryRefusal, StrategyContext, MAX_HISTORY},
    Bar, ExitKind, FillMode, FundingPayment, OrderBook, OrderRequest, OrderSide, PendingOrder,
    Portfolio, PortfolioRules, PositionType, Rejection, RejectionCount, RoundTrip, RoundTrips,
    Symbol, Timeframe, Trade,
};
use rust_decimal::Decimal;

/// An order placed with `fill = next_open`, waiting for the next bar's open.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Queued {
    Order { side: OrderSide, quantity: Decimal, leverage: Decimal },
    Close { percentage: Decimal },
}

/// What a run accumulates.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub(crate) trades: Vec<Trade>,
    pub(crate) funding: Vec<FundingPayment>,
    pub(crate) rejections: RejectionCount,
    pub(crate) log: Vec<String>,
    pub(crate) plots: cryptobt_domain::Plots,
    /// Bars whose outcome rested on the path rule (docs/design.md#the-bar-loop step 2), per
    /// symbol in the run's order.
    pub(crate) ambiguous_bars: Vec<u64>,
    /// The run's symbols, in order.
    symbols: Vec<Symbol>,
    /// Round trips of each symbol, fed with the fills as the run goes.
    trips: Vec<RoundTrips>,
    /// The symbol (index) of each finished round trip, in the order they closed.
    closed: Vec<usize>,
    /// Fills already fed to `trips`.
    absorbed: usize,
}

impl Records {
    pub(crate) fn new(symbols: &[Symbol]) -> Self {
        Self {
            ambiguous_bars: vec![0; symbols.len()],
            symbols: symbols.to_vec(),
            trips: vec![RoundTrips::new(); symbols.len()],
            ..Self::default()
        }
    }

    /// Feeds the fills recorded since the last call to the round trips, as fills of step `bar`.
    pub(crate) fn absorb(&mut self, bar: u64) {
        for trade in &self.trades[self.absorbed..] {
            let k = index_of(&self.symbols, trade.symbol);
            let trips = &mut self.trips[k];
            let before = trips.closed().len();
            trips.on_fill(trade, bar);
            if trips.closed().len() > before {
                self.closed.push(k);
            }
        }
        self.absorbed = self.trades.len();
    }

    /// Adds a funding payment of symbol `k` to its open round trip.
    pub(crate) fn on_funding(&mut self, k: usize, amount: Decimal) {
        self.trips[k].on_funding(amount);
    }

    /// Every finished round trip, in the order they closed.
    pub(crate) fn take_round_trips(&mut self) -> Vec<RoundTrip> {
        let mut each: Vec<std::vec::IntoIter<RoundTrip>> = std::mem::take(&mut self.trips)
            .into_iter()
            .map(|t| t.into_closed().into_iter())
            .collect();
        self.closed.iter().filter_map(|k| each[*k].next()).collect()
    }

    pub(crate) fn reject(&mut self, rejection: &Rejection) {
        *self.rejections.entry(rejection.code().to_owned()).or_default() += 1;
    }
}

/// The position of `symbol` in `symbols` (the primary's, 0, for one not in the list).
pub(crate) fn index_of(symbols: &[Symbol], symbol: Symbol) -> usize {
    symbols.iter().position(|s| *s == symbol).unwrap_or(0)
}

/// Bars of a higher timeframe built so far from one symbol's run bars.
#[derive(Debug)]
struct Higher {
    symbol: usize,
    timeframe: Timeframe,
    closed: Vec<Bar>,
    /// The index of the next run bar to aggregate.
    next: usize,
}

/// Each symbol's closed bars, in the run's timeframe and in any higher one asked for
/// (docs/design.md#history).
#[derive(Debug)]
pub(crate) struct History {
    timeframe: Timeframe,
    series: Vec<BarSeries>,
    /// The step `on_data` is at (its bar is closed); `None` before the first.
    pub(crate) step: Cell<Option<usize>>,
    higher: RefCell<Vec<Higher>>,
}

impl History {
    pub(crate) fn new(timeframe: Timeframe, series: Vec<BarSeries>) -> Self {
        Self { timeframe, series, step: Cell::new(None), higher: RefCell::new(Vec::new()) }
    }

    fn last(&self, k: usize, n: usize, timeframe: Timeframe) -> Result<Vec<Bar>, HistoryRefusal> {
        if n == 0 || n > MAX_HISTORY {
            return Err(HistoryRefusal::Count(n.to_string()));
        }
        let run_ms = self.timeframe.duration_ms();
        let tf_ms = timeframe.duration_ms();
        if tf_ms < run_ms || tf_ms % run_ms != 0 {
            return Err(HistoryRefusal::Timeframe { asked: timeframe, run: self.timeframe });
        }
        let Some(step) = self.step.get() else { return Ok(Vec::new()) };
        let series = &self.series[k];
        if tf_ms == run_ms {
            let from = (step + 1).saturating_sub(n);
            return Ok(series.range(from, step + 1).copied().collect());
        }
        let Some(now) = series.range(step, step + 1).next() else { return Ok(Vec::new()) };
        // The end of the last bucket closed by this step's bar.
        let end = (now.timestamp + run_ms).div_euclid(tf_ms) * tf_ms;
        let mut caches = self.higher.borrow_mut();
        let index = match caches.iter().position(|h| h.symbol == k && h.timeframe == timeframe) {
            Some(i) => i,
            None => {
                caches.push(Higher { symbol: k, timeframe, closed: Vec::new(), next: 0 });
                caches.len() - 1
            }
        };
        let cache = &mut caches[index];
        let mut building: Option<Bar> = None;
        let mut taken = 0;
        for bar in series.range(cache.next, step + 1) {
            if bar.timestamp >= end {
                break;
            }
            taken += 1;
            let start = bar.timestamp.div_euclid(tf_ms) * tf_ms;
            match building.as_mut() {
                Some(b) if b.timestamp == start => {
                    b.high = b.high.max(bar.high);
                    b.low = b.low.min(bar.low);
                    b.close = bar.close;
                    b.volume += bar.volume;
                }
                _ => {
                    if let Some(done) = building.take() {
                        cache.closed.push(done);
                    }
                    building = Some(Bar { timestamp: start, ..*bar });
                }
            }
        }
        // Every bar taken lies before `end`, a bucket boundary: the last bucket is whole.
        if let Some(done) = building {
            cache.closed.push(done);
        }
        cache.next += taken;
        let from = cache.closed.len().saturating_sub(n);
        Ok(cache.closed[from..].to_vec())
    }
}

/// The run's state, shared with the strategy.
pub(crate) struct RunContext {
    /// The run's symbols, the primary first.
    pub(crate) symbols: Vec<Symbol>,
    pub(crate) fill: FillMode,
    pub(crate) portfolio: RefCell<Portfolio>,
    /// This step's bar of each symbol, set for `on_data` (`None` while the path runs).
    pub(crate) bars: Vec<Cell<Option<Bar>>>,
    pub(crate) queue: RefCell<Vec<(Symbol, Queued)>>,
    pub(crate) records: RefCell<Records>,
    /// Pending orders and each position's exits.
    pub(crate) book: RefCell<OrderBook>,
    pub(crate) history: History,
}

/// The side of the position in `symbol`, if any.
pub(crate) fn side_of(portfolio: &Portfolio, symbol: Symbol) -> Option<PositionType> {
    portfolio.position(symbol).map(cryptobt_domain::Position::side)
}

impl RunContext {
    pub(crate) fn new(
        symbols: Vec<Symbol>,
        fill: FillMode,
        portfolio: Portfolio,
        history: History,
    ) -> Self {
        Self {
            bars: symbols.iter().map(|_| Cell::new(None)).collect(),
            records: RefCell::new(Records::new(&symbols)),
            symbols,
            fill,
            portfolio: RefCell::new(portfolio),
            queue: RefCell::new(Vec::new()),
            book: RefCell::new(OrderBook::new()),
            history,
        }
    }

    /// Hides (`None`) or shows each symbol's bar of the step.
    pub(crate) fn show_bars(&self, bars: Option<&[&Bar]>) {
        for (k, cell) in self.bars.iter().enumerate() {
            cell.set(bars.map(|b| *b[k]));
        }
    }

    fn index(&self, symbol: Symbol) -> Option<usize> {
        self.symbols.iter().position(|s| *s == symbol)
    }

    fn bar_of(&self, symbol: Symbol) -> Option<Bar> {
        self.index(symbol).and_then(|k| self.bars[k].get())
    }

    /// Clears the exits of `symbol` when its position went flat or reversed since `before` (its
    /// side then).
    pub(crate) fn after_fill(&self, symbol: Symbol, before: Option<PositionType>) {
        let after = side_of(&self.portfolio.borrow(), symbol);
        if before.is_some() && after != before {
            self.book.borrow_mut().clear_exits(symbol);
        }
    }

    /// Executes an order in `symbol` at `price` now, recording its fills or its refusal.
    pub(crate) fn execute(
        &self,
        symbol: Symbol,
        order: Queued,
        price: Decimal,
        timestamp: i64,
    ) -> Result<(), Rejection> {
        let mut portfolio = self.portfolio.borrow_mut();
        let before = side_of(&portfolio, symbol);
        let result = match order {
            Queued::Order { side, quantity, leverage } => {
                portfolio.submit(symbol, side, quantity, leverage, price, timestamp)
            }
            Queued::Close { percentage } => {
                portfolio.close_position(symbol, percentage, price, timestamp)
            }
        };
        drop(portfolio);
        let mut records = self.records.borrow_mut();
        match result {
            Ok(trades) => {
                records.trades.extend(trades);
                drop(records);
                self.after_fill(symbol, before);
                Ok(())
            }
            Err(rejection) => {
                records.reject(&rejection);
                Err(rejection)
            }
        }
    }

    /// Places an order from the strategy: filled at the symbol's close, or queued for the next
    /// open.
    fn place(&self, symbol: Symbol, order: Queued) -> Result<(), Rejection> {
        let Some(bar) = self.bar_of(symbol) else {
            self.records.borrow_mut().reject(&Rejection::NoPrice);
            return Err(Rejection::NoPrice);
        };
        match self.fill {
            FillMode::Close => self.execute(symbol, order, bar.close, bar.timestamp),
            FillMode::NextOpen => {
                self.queue.borrow_mut().push((symbol, order));
                Ok(())
            }
        }
    }
}

impl StrategyContext for RunContext {
    fn symbol(&self) -> Symbol {
        self.symbols[0]
    }
    fn symbols(&self) -> Vec<Symbol> {
        self.symbols.clone()
    }
    fn timestamp(&self) -> Option<i64> {
        self.bars[0].get().map(|b| b.timestamp)
    }
    fn bar(&self, symbol: Symbol) -> Option<Bar> {
        self.bar_of(symbol)
    }
    fn history(
        &self,
        symbol: Symbol,
        n: usize,
        timeframe: Option<Timeframe>,
    ) -> Result<Vec<Bar>, HistoryRefusal> {
        let k = self.index(symbol).ok_or(HistoryRefusal::Symbol(symbol))?;
        self.history.last(k, n, timeframe.unwrap_or(self.history.timeframe))
    }
    fn rules(&self) -> PortfolioRules {
        self.portfolio.borrow().rules().clone()
    }
    fn position_size(&self, symbol: Symbol) -> Decimal {
        self.portfolio.borrow().position_size(symbol)
    }
    fn cash(&self) -> Decimal {
        self.portfolio.borrow().cash()
    }
    fn equity(&self) -> Decimal {
        self.portfolio.borrow().equity()
    }
    fn unrealized_pnl(&self, symbol: Symbol) -> Decimal {
        self.portfolio.borrow().unrealized_pnl_of(symbol)
    }
    fn entry_price(&self, symbol: Symbol) -> Option<Decimal> {
        self.portfolio.borrow().position(symbol).map(cryptobt_domain::Position::entry_price)
    }
    fn leverage(&self, symbol: Symbol) -> Decimal {
        self.portfolio.borrow().leverage(symbol)
    }
    fn margin_ratio(&self, symbol: Symbol) -> Option<Decimal> {
        self.portfolio.borrow().margin_ratio_of(symbol)
    }
    fn submit(
        &self,
        symbol: Symbol,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
    ) -> Result<(), Rejection> {
        self.place(symbol, Queued::Order { side, quantity, leverage })
    }
    fn close_position(&self, symbol: Symbol, percentage: Decimal) -> Result<(), Rejection> {
        self.place(symbol, Queued::Close { percentage })
    }
    fn place_order(&self, symbol: Symbol, request: OrderRequest) -> Result<u64, Rejection> {
        let price = self.bar_of(symbol).map(|b| b.close);
        let placed = self.book.borrow_mut().place(&self.portfolio.borrow(), symbol, request, price);
        if let Err(rejection) = &placed {
            self.records.borrow_mut().reject(rejection);
        }
        placed
    }
    fn cancel_order(&self, id: u64) -> bool {
        self.book.borrow_mut().remove(id).is_some()
    }
    fn cancel_all_orders(&self) -> usize {
        self.book.borrow_mut().cancel_all()
    }
    fn open_orders(&self) -> Vec<PendingOrder> {
        self.book.borrow().orders().to_vec()
    }
    fn set_exit(
        &self,
        symbol: Symbol,
        kind: ExitKind,
        value: Option<Decimal>,
    ) -> Result<(), Rejection> {
        let price = self.bar_of(symbol).map(|b| b.close);
        self.book.borrow_mut().set_exit(&self.portfolio.borrow(), symbol, kind, value, price)
    }
    fn record_rejection(&self, rejection: &Rejection) {
        self.records.borrow_mut().reject(rejection);
    }
    fn log(&self, line: &str) {
        self.records.borrow_mut().log.push(line.to_owned());
    }
    fn plot(
        &self,
        name: &str,
        value: f64,
        pane: cryptobt_domain::PlotPane,
        levels: Option<&[f64]>,
    ) -> Result<(), cryptobt_domain::PlotRefusal> {
        let time = self.timestamp().ok_or(cryptobt_domain::PlotRefusal::NoBar)?;
        self.records.borrow_mut().plots.record_with_levels(name, value, pane, time, levels)
    }
}
