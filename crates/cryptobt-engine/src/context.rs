//! The engine's side of the `StrategyContext` port: the run's portfolio, the current bar, the
//! order queue of `fill = next_open`, and everything the run records.

use std::cell::{Cell, RefCell};

use cryptobt_domain::{
    ports::StrategyContext, Bar, FillMode, FundingPayment, OrderSide, Portfolio, PortfolioRules,
    Rejection, RejectionCount, Symbol, Trade,
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
}

impl Records {
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
        let result = match order {
            Queued::Order { side, quantity, leverage } => {
                portfolio.submit(self.symbol, side, quantity, leverage, price, timestamp)
            }
            Queued::Close { percentage } => {
                portfolio.close_position(self.symbol, percentage, price, timestamp)
            }
        };
        let mut records = self.records.borrow_mut();
        match result {
            Ok(trades) => {
                records.trades.extend(trades);
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
    fn record_rejection(&self, rejection: &Rejection) {
        self.records.borrow_mut().reject(rejection);
    }
    fn log(&self, line: &str) {
        self.records.borrow_mut().log.push(line.to_owned());
    }
}
