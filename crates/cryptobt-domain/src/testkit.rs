//! Builders for tests (feature `testkit`): configs and portfolios with the documented defaults.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::{BacktestConfig, Bar, Portfolio, Symbol, Timeframe, TradingMode};

/// Asserts the ledger invariant `cash + margin_used == initial + Σ pnl + Σ funding` to
/// `Decimal`'s precision: amounts are never rounded to a number of places, so each side carries
/// only `Decimal`'s own rounding at its 28th significant digit, a relative error far below
/// 10⁻²⁰ (any booking mistake, a fee or a margin, is many orders of magnitude larger).
///
/// # Panics
/// When the two sides differ by more than that.
#[track_caller]
pub fn assert_balanced(cash_and_margin: Decimal, capital_and_pnl: Decimal) {
    let tolerance = Decimal::new(1, 20) * capital_and_pnl.abs().max(Decimal::ONE);
    assert!(
        (cash_and_margin - capital_and_pnl).abs() <= tolerance,
        "cash + margin_used == initial + Σ pnl + Σ funding: {cash_and_margin} vs {capital_and_pnl}"
    );
}

/// `BTCUSDT`.
#[must_use]
pub fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap_or_else(|_| unreachable!("BTCUSDT is a valid symbol"))
}

/// A 1h config over 2025-01-01..=2025-01-31 in `mode` with `capital` and `max_leverage`; other
/// settings at their defaults.
#[must_use]
pub fn config(mode: TradingMode, capital: Decimal, max_leverage: Decimal) -> BacktestConfig {
    let day = |d| NaiveDate::from_ymd_opt(2025, 1, d).unwrap_or_default();
    BacktestConfig::builder(btc(), Timeframe::H1, day(1), day(31))
        .trading_mode(mode)
        .initial_capital(capital)
        .max_leverage(max_leverage)
        .build()
        .unwrap_or_else(|e| panic!("testkit config must be valid: {e}"))
}

/// A futures portfolio with `capital`, leverage up to 100 and the default rates.
#[must_use]
pub fn futures(capital: Decimal) -> Portfolio {
    Portfolio::new(&config(TradingMode::Futures, capital, Decimal::ONE_HUNDRED))
}

/// A spot portfolio with `capital` and the default fee.
#[must_use]
pub fn spot(capital: Decimal) -> Portfolio {
    Portfolio::new(&config(TradingMode::Spot, capital, Decimal::ONE))
}

/// A bar at `timestamp` with the given prices and volume 1.
#[must_use]
pub fn bar(timestamp: i64, open: Decimal, high: Decimal, low: Decimal, close: Decimal) -> Bar {
    Bar { timestamp, open, high, low, close, volume: Decimal::ONE }
}

/// One chunk of bars from `[open, high, low, close]` rows, the first at `start`, then every
/// `step` ms, volume 1.
#[must_use]
pub fn series(start: i64, step: i64, rows: &[[Decimal; 4]]) -> crate::ports::BarSeries {
    let bars: Vec<Bar> =
        (0i64..).zip(rows).map(|(i, [o, h, l, c])| bar(start + i * step, *o, *h, *l, *c)).collect();
    crate::ports::BarSeries::new(vec![std::sync::Arc::from(bars)])
}

/// A `StrategyContext` over a `Portfolio` that fills every order at the current bar's close:
/// enough to drive a strategy bar by bar in tests and benches (the engine has the real one, with
/// funding, liquidation and `next_open`). Logs and refusals are kept for inspection.
#[derive(Debug)]
pub struct Desk {
    /// The portfolio orders fill against.
    pub portfolio: std::cell::RefCell<Portfolio>,
    /// The bar being processed (`None` before the first).
    pub bar: std::cell::Cell<Option<Bar>>,
    /// Lines the strategy logged.
    pub log: std::cell::RefCell<Vec<String>>,
    /// Codes of the orders refused.
    pub rejections: std::cell::RefCell<Vec<String>>,
    /// Pending orders and exits as placed (the desk never fires them: the engine's path does).
    pub book: std::cell::RefCell<crate::OrderBook>,
    /// The strategy's `plot` series.
    pub plots: std::cell::RefCell<crate::Plots>,
}

impl Desk {
    /// A desk over `portfolio`, shared (as a run's context is).
    #[must_use]
    pub fn new(portfolio: Portfolio) -> std::rc::Rc<Self> {
        std::rc::Rc::new(Self {
            portfolio: std::cell::RefCell::new(portfolio),
            bar: std::cell::Cell::new(None),
            log: std::cell::RefCell::new(Vec::new()),
            rejections: std::cell::RefCell::new(Vec::new()),
            book: std::cell::RefCell::new(crate::OrderBook::new()),
            plots: std::cell::RefCell::new(crate::Plots::new()),
        })
    }

    /// Makes `bar` the current bar and marks the position at its close.
    pub fn set_bar(&self, bar: Bar) {
        self.bar.set(Some(bar));
        self.portfolio.borrow_mut().mark(btc(), bar.close);
    }

    fn fill(
        &self,
        order: impl FnOnce(&mut Portfolio, Bar) -> Result<Vec<crate::Trade>, crate::Rejection>,
    ) -> Result<(), crate::Rejection> {
        let result = match self.bar.get() {
            Some(bar) => order(&mut self.portfolio.borrow_mut(), bar).map(|_| ()),
            None => Err(crate::Rejection::NoPrice),
        };
        if let Err(r) = &result {
            self.rejections.borrow_mut().push(r.code().to_owned());
        }
        result
    }
}

impl crate::ports::StrategyContext for Desk {
    fn symbol(&self) -> Symbol {
        btc()
    }
    fn timestamp(&self) -> Option<i64> {
        self.bar.get().map(|b| b.timestamp)
    }
    fn bar(&self, symbol: Symbol) -> Option<Bar> {
        self.bar.get().filter(|_| symbol == btc())
    }
    fn rules(&self) -> crate::PortfolioRules {
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
        self.portfolio.borrow().position(symbol).map(crate::Position::entry_price)
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
        side: crate::OrderSide,
        quantity: Decimal,
        leverage: Decimal,
    ) -> Result<(), crate::Rejection> {
        self.fill(|p, bar| p.submit(symbol, side, quantity, leverage, bar.close, bar.timestamp))
    }
    fn close_position(&self, symbol: Symbol, percentage: Decimal) -> Result<(), crate::Rejection> {
        self.fill(|p, bar| p.close_position(symbol, percentage, bar.close, bar.timestamp))
    }
    fn place_order(
        &self,
        symbol: Symbol,
        request: crate::OrderRequest,
    ) -> Result<u64, crate::Rejection> {
        let price = self.bar(symbol).map(|b| b.close);
        let placed = self.book.borrow_mut().place(&self.portfolio.borrow(), symbol, request, price);
        if let Err(r) = &placed {
            self.rejections.borrow_mut().push(r.code().to_owned());
        }
        placed
    }
    fn cancel_order(&self, id: u64) -> bool {
        self.book.borrow_mut().remove(id).is_some()
    }
    fn cancel_all_orders(&self) -> usize {
        self.book.borrow_mut().cancel_all()
    }
    fn open_orders(&self) -> Vec<crate::PendingOrder> {
        self.book.borrow().orders().to_vec()
    }
    fn set_exit(
        &self,
        symbol: Symbol,
        kind: crate::ExitKind,
        value: Option<Decimal>,
    ) -> Result<(), crate::Rejection> {
        let price = self.bar(symbol).map(|b| b.close);
        self.book.borrow_mut().set_exit(&self.portfolio.borrow(), symbol, kind, value, price)
    }
    fn plot(
        &self,
        name: &str,
        value: f64,
        pane: crate::PlotPane,
        levels: Option<&[f64]>,
    ) -> Result<(), crate::PlotRefusal> {
        let time = self.bar.get().map(|b| b.timestamp).ok_or(crate::PlotRefusal::NoBar)?;
        self.plots.borrow_mut().record_with_levels(name, value, pane, time, levels)
    }
    fn record_rejection(&self, rejection: &crate::Rejection) {
        self.rejections.borrow_mut().push(rejection.code().to_owned());
    }
    fn log(&self, line: &str) {
        self.log.borrow_mut().push(line.to_owned());
    }
}
