//! A real `StrategyContext` over a real `Portfolio` for driving Lua strategies bar by bar in
//! tests (the engine has its own; this one fills at the bar's close, nothing more).

#![allow(dead_code, reason = "each test binary uses a different part of these helpers")]
#![allow(clippy::unwrap_used, reason = "test fixtures fail loudly")]

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::Duration,
};

use cryptobt_domain::{
    ports::{SharedContext, Strategy, StrategyError, StrategyLimits},
    testkit, Bar, OrderSide, Params, Portfolio, PortfolioRules, Rejection, Symbol,
};
use cryptobt_sandbox::LuaStrategy;
use rust_decimal::Decimal;

pub(crate) struct Desk {
    pub(crate) portfolio: RefCell<Portfolio>,
    pub(crate) bar: Cell<Option<Bar>>,
    pub(crate) log: RefCell<Vec<String>>,
    pub(crate) rejections: RefCell<Vec<String>>,
}

impl Desk {
    pub(crate) fn futures() -> Rc<Self> {
        Self::with(testkit::futures(Decimal::from(10_000)))
    }
    pub(crate) fn with(portfolio: Portfolio) -> Rc<Self> {
        Rc::new(Self {
            portfolio: RefCell::new(portfolio),
            bar: Cell::new(None),
            log: RefCell::new(Vec::new()),
            rejections: RefCell::new(Vec::new()),
        })
    }
}

impl cryptobt_domain::ports::StrategyContext for Desk {
    fn symbol(&self) -> Symbol {
        testkit::btc()
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
        self.portfolio.borrow().position_size(testkit::btc())
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
        self.portfolio.borrow().position(testkit::btc()).map(|p| p.entry_price())
    }
    fn leverage(&self) -> Decimal {
        self.portfolio.borrow().leverage(testkit::btc())
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
        let bar = self.bar.get().ok_or(Rejection::NoPrice);
        let result = bar.and_then(|b| {
            self.portfolio.borrow_mut().submit(
                testkit::btc(),
                side,
                quantity,
                leverage,
                b.close,
                b.timestamp,
            )
        });
        self.note(result)
    }
    fn close_position(&self, percentage: Decimal) -> Result<(), Rejection> {
        let bar = self.bar.get().ok_or(Rejection::NoPrice);
        let result = bar.and_then(|b| {
            self.portfolio.borrow_mut().close_position(
                testkit::btc(),
                percentage,
                b.close,
                b.timestamp,
            )
        });
        self.note(result)
    }
    fn record_rejection(&self, rejection: &Rejection) {
        self.rejections.borrow_mut().push(rejection.code().to_owned());
    }
    fn log(&self, line: &str) {
        self.log.borrow_mut().push(line.to_owned());
    }
}

impl Desk {
    fn note(
        &self,
        result: Result<Vec<cryptobt_domain::Trade>, Rejection>,
    ) -> Result<(), Rejection> {
        match result {
            Ok(_) => Ok(()),
            Err(r) => {
                cryptobt_domain::ports::StrategyContext::record_rejection(self, &r);
                Err(r)
            }
        }
    }
}

/// Limits for tests: 1 s, 16 MiB, 10 orders per bar, 1 KiB of log.
pub(crate) fn limits() -> StrategyLimits {
    StrategyLimits {
        memory_bytes: 16 << 20,
        max_duration: Duration::from_secs(1),
        max_orders_per_bar: 10,
        max_log_bytes: 1_024,
        ..StrategyLimits::default()
    }
}

pub(crate) fn load(source: &str) -> Result<LuaStrategy, StrategyError> {
    LuaStrategy::load(source, testkit::btc(), &Params::new(), &limits())
}

/// A bar at minute `i` around 100.
pub(crate) fn bar(i: i64, close: f64) -> Bar {
    let c = Decimal::try_from(close).unwrap();
    testkit::bar(1_735_689_600_000 + i * 60_000, c, c + Decimal::ONE, c - Decimal::ONE, c)
}

/// Loads, initializes and feeds `bars` closes; the first error, if any.
pub(crate) fn run(source: &str, desk: &Rc<Desk>, closes: &[f64]) -> Result<(), StrategyError> {
    run_with(&limits(), source, desk, closes)
}

/// [`run`] under other limits.
pub(crate) fn run_with(
    limits: &StrategyLimits,
    source: &str,
    desk: &Rc<Desk>,
    closes: &[f64],
) -> Result<(), StrategyError> {
    let mut strategy = LuaStrategy::load(source, testkit::btc(), &Params::new(), limits)?;
    let ctx: SharedContext = desk.clone();
    strategy.initialize(&ctx)?;
    for (i, c) in closes.iter().enumerate() {
        let b = bar(i as i64, *c);
        desk.bar.set(Some(b));
        desk.portfolio.borrow_mut().mark(testkit::btc(), b.close);
        strategy.on_bar(&b, &ctx)?;
    }
    Ok(())
}
