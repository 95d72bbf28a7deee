//! The engine's side of the `StrategyContext` port: the run's portfolio, the current bar, the
//! order queue of `fill = next_open`, and everything the run records.

use std::cell::{Cell, RefCell};

use cryptobt_domain::{
    ports::StrategyContext, Bar, ExitKind, FillMode, FundingPayment, OrderBook, OrderRequest,
    OrderSide, PendingOrder, Portfolio, PortfolioRules, PositionType, Rejection, RejectionCount,
    RoundTrips, Symbol, Trade,
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
    /// Bars whose outcome rested on the path rule (docs/design.md#the-bar-loop step 2).
    pub(crate) ambiguous_bars: u64,
    /// Round trips, fed with the fills as the run goes.
    pub(crate) trips: RoundTrips,
    /// Fills already fed to `trips`.
    absorbed: usize,
}

impl Records {
    /// Feeds the fills recorded since the last call to the round trips, as fills of bar `bar`.
    pub(crate) fn absorb(&mut self, bar: u64) {
        for trade in &self.trades[self.absorbed..] {
            self.trips.on_fill(trade, bar);
        }
        self.absorbed = self.trades.len();
    }

    pub(crate) fn reject(&mut self, rejection: &Rejection) {
        *self.rejections.entry(rejection.code().to_owned()).or_default() += 1;
    }
}

/// The run's state, shared with the strategy.
pub(crate) struct RunContext {
    pub(crate) symbol: Symbol,
    pub(crate) fill: FillMode,
    pub(crate) portfolio: RefCell<Portfolio>,
    pub(crate) bar: Cell<Option<Bar>>,
    pub(crate) queue: RefCell<Vec<Queued>>,
    pub(crate) records: RefCell<Records>,
    /// Pending orders and the position's exits.
    pub(crate) book: RefCell<OrderBook>,
}

/// The side of the position in `symbol`, if any.
pub(crate) fn side_of(portfolio: &Portfolio, symbol: Symbol) -> Option<PositionType> {
    portfolio.position(symbol).map(cryptobt_domain::Position::side)
}

impl RunContext {
    pub(crate) fn new(symbol: Symbol, fill: FillMode, portfolio: Portfolio) -> Self {
        Self {
            symbol,
            fill,
            portfolio: RefCell::new(portfolio),
            bar: Cell::new(None),
            queue: RefCell::new(Vec::new()),
            records: RefCell::new(Records::default()),
            book: RefCell::new(OrderBook::new()),
        }
    }

    /// Clears the exits when the position went flat or reversed since `before` (its side then).
    pub(crate) fn after_fill(&self, before: Option<PositionType>) {
        let after = side_of(&self.portfolio.borrow(), self.symbol);
        if before.is_some() && after != before {
            self.book.borrow_mut().clear_exits();
        }
    }

    /// Executes an order at `price` now, recording its fills or its refusal.
    pub(crate) fn execute(
        &self,
        order: Queued,
        price: Decimal,
        timestamp: i64,
    ) -> Result<(), Rejection> {
        let mut portfolio = self.portfolio.borrow_mut();
        let before = side_of(&portfolio, self.symbol);
        let result = match order {
            Queued::Order { side, quantity, leverage } => {
                portfolio.submit(self.symbol, side, quantity, leverage, price, timestamp)
            }
            Queued::Close { percentage } => {
                portfolio.close_position(self.symbol, percentage, price, timestamp)
            }
        };
        drop(portfolio);
        let mut records = self.records.borrow_mut();
        match result {
            Ok(trades) => {
                records.trades.extend(trades);
                drop(records);
                self.after_fill(before);
                Ok(())
            }
            Err(rejection) => {
                records.reject(&rejection);
                Err(rejection)
            }
        }
    }

    /// Places an order from the strategy: filled at the bar's close, or queued for the next open.
    fn place(&self, order: Queued) -> Result<(), Rejection> {
        let Some(bar) = self.bar.get() else {
            self.records.borrow_mut().reject(&Rejection::NoPrice);
            return Err(Rejection::NoPrice);
        };
        match self.fill {
            FillMode::Close => self.execute(order, bar.close, bar.timestamp),
            FillMode::NextOpen => {
                self.queue.borrow_mut().push(order);
                Ok(())
            }
        }
    }
}

impl StrategyContext for RunContext {
    fn symbol(&self) -> Symbol {
        self.symbol
    }
    fn timestamp(&self) -> Option<i64> {
        self.bar.get().map(|b| b.timestamp)
    }
    fn current_price(&self) -> Option<Decimal> {
        self.bar.get().map(|b| b.close)
    }
    fn rules(&self) -> PortfolioRules {
        self.portfolio.borrow().rules().clone()
    }
    fn position_size(&self) -> Decimal {
        self.portfolio.borrow().position_size(self.symbol)
    }
    fn cash(&self) -> Decimal {
        self.portfolio.borrow().cash()
    }
    fn equity(&self) -> Decimal {
        self.portfolio.borrow().equity()
    }
    fn unrealized_pnl(&self) -> Decimal {
        self.portfolio.borrow().unrealized_pnl()
    }
    fn entry_price(&self) -> Option<Decimal> {
        self.portfolio.borrow().position(self.symbol).map(cryptobt_domain::Position::entry_price)
    }
    fn leverage(&self) -> Decimal {
        self.portfolio.borrow().leverage(self.symbol)
    }
    fn margin_ratio(&self) -> Option<Decimal> {
        self.portfolio.borrow().margin_ratio()
    }
    fn submit(
        &self,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
    ) -> Result<(), Rejection> {
        self.place(Queued::Order { side, quantity, leverage })
    }
    fn close_position(&self, percentage: Decimal) -> Result<(), Rejection> {
        self.place(Queued::Close { percentage })
    }
    fn place_order(&self, request: OrderRequest) -> Result<u64, Rejection> {
        let price = self.bar.get().map(|b| b.close);
        let placed =
            self.book.borrow_mut().place(&self.portfolio.borrow(), self.symbol, request, price);
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
    fn set_exit(&self, kind: ExitKind, value: Option<Decimal>) -> Result<(), Rejection> {
        let price = self.bar.get().map(|b| b.close);
        self.book.borrow_mut().set_exit(&self.portfolio.borrow(), self.symbol, kind, value, price)
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
    ) -> Result<(), cryptobt_domain::PlotRefusal> {
        let time =
            self.bar.get().map(|b| b.timestamp).ok_or(cryptobt_domain::PlotRefusal::NoBar)?;
        self.records.borrow_mut().plots.record(name, value, pane, time)
    }
}
