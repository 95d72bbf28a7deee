//! The portfolio: one ledger for spot or isolated USDT-margined futures, made of small parts.
//!
//! - `state`: cash, positions and running totals;
//! - `validation`: order checks and the [`Rejection`] reasons;
//! - `trading`: market orders (open, add, reduce, close, flip) planned then applied;
//! - `risk`: liquidation and funding;
//! - `valuation`: equity, ratios and snapshots.

mod risk;
mod state;
mod trading;
mod validation;
mod valuation;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use parking_lot::RwLock;
use rust_decimal::Decimal;

pub use self::{
    risk::liquidation_price,
    trading::Fill,
    validation::{OrderSide, Rejection},
};
use self::{state::LedgerState, trading::Plan};
use crate::{
    check_price, check_tag, BacktestConfig, ExitKind, FundingPayment, OrderKind, OrderRequest,
    Position, PositionType, Snapshot, Symbol, Trade, TradeLimits, TradingMode, MAX_PENDING_ORDERS,
};

/// The trading rules of a run, taken from its [`BacktestConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioRules {
    /// Spot or futures.
    pub mode: TradingMode,
    /// Highest order leverage (1 in spot).
    pub max_leverage: Decimal,
    /// Maintenance margin rate of the liquidation formula.
    pub maintenance_margin_rate: Decimal,
    /// Taker fee rate on a fill's notional.
    pub fee_rate: Decimal,
    /// Maker fee rate: limit and take-profit fills made on the path (docs/design.md#pending-orders-and-exits).
    pub maker_fee_rate: Decimal,
    /// Slippage in basis points.
    pub slippage_bps: Decimal,
    /// Order size and position limits.
    pub limits: TradeLimits,
}

impl From<&BacktestConfig> for PortfolioRules {
    fn from(config: &BacktestConfig) -> Self {
        Self {
            mode: config.trading_mode(),
            max_leverage: config.max_leverage(),
            maintenance_margin_rate: config.maintenance_margin_rate(),
            fee_rate: config.fee_rate(),
            maker_fee_rate: config.maker_fee_rate(),
            slippage_bps: config.slippage_bps(),
            limits: config.limits(),
        }
    }
}

/// A portfolio under the rules of docs/design.md#orders-and-the-ledger. Every method that changes it either succeeds as a
/// whole or changes nothing, and after each one
/// `cash + margin_used == initial_capital + Σ trade.pnl + Σ funding` holds exactly.
///
/// Plain owned data: `Send + Sync`; wrap it in a [`SharedPortfolio`] to read it from another
/// thread while a run goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Portfolio {
    state: LedgerState,
    rules: PortfolioRules,
}

impl Portfolio {
    /// A flat portfolio with the config's capital and rules.
    #[must_use]
    pub fn new(config: &BacktestConfig) -> Self {
        Self::with_rules(config.initial_capital(), PortfolioRules::from(config))
    }

    /// A flat portfolio with `initial_capital` in cash under `rules`.
    #[must_use]
    pub fn with_rules(initial_capital: Decimal, rules: PortfolioRules) -> Self {
        Self { state: LedgerState::new(initial_capital), rules }
    }

    /// The rules this portfolio trades under.
    #[must_use]
    pub fn rules(&self) -> &PortfolioRules {
        &self.rules
    }

    /// Places a market order of `quantity` units at `leverage`, filled at `market_price`
    /// adjusted by slippage. Opens, adds, reduces, closes, or closes and reverses (each part with
    /// its own fee) as the current position requires.
    ///
    /// # Errors
    /// A [`Rejection`] when any check fails; nothing has changed then.
    pub fn submit(
        &mut self,
        symbol: Symbol,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
        market_price: Decimal,
        timestamp: i64,
    ) -> Result<Vec<Trade>, Rejection> {
        let quantity = self.rules.check_quantity(quantity)?;
        let leverage = self.rules.check_leverage(leverage)?;
        let fill = self.rules.taker_fill(side, market_price);
        self.fill(symbol, side, quantity, leverage, fill, timestamp)
    }

    /// Fills an order of `quantity` units at `leverage` on `fill`'s terms (a pending order when
    /// its price fires). Opens, adds, reduces, closes or reverses like [`submit`](Self::submit).
    ///
    /// # Errors
    /// A [`Rejection`] when any check fails; nothing has changed then.
    pub fn fill(
        &mut self,
        symbol: Symbol,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
        fill: Fill,
        timestamp: i64,
    ) -> Result<Vec<Trade>, Rejection> {
        let quantity = self.rules.check_quantity(quantity)?;
        let leverage = self.rules.check_leverage(leverage)?;
        let plan = Plan::order(&self.state, &self.rules, symbol, side, quantity, leverage, fill)?;
        Ok(plan.apply(&mut self.state, self.rules.maintenance_margin_rate, timestamp))
    }

    /// A reduce-only fill of `side` for up to `quantity`, cut to the opposite position's size.
    ///
    /// # Errors
    /// [`Rejection::ReduceOnly`] when there is no opposite position; nothing has changed then.
    pub fn reduce(
        &mut self,
        symbol: Symbol,
        side: OrderSide,
        quantity: Decimal,
        fill: Fill,
        timestamp: i64,
    ) -> Result<Vec<Trade>, Rejection> {
        let plan = Plan::reduce_only(&self.state, &self.rules, symbol, side, quantity, fill)?;
        Ok(plan.apply(&mut self.state, self.rules.maintenance_margin_rate, timestamp))
    }

    /// Closes the whole position in `symbol` on the terms `fill` gives the closing side (an exit:
    /// stop-loss, take-profit, trailing stop).
    ///
    /// # Errors
    /// [`Rejection::NoPosition`] when flat.
    pub fn close_all(
        &mut self,
        symbol: Symbol,
        fill: impl FnOnce(OrderSide) -> Fill,
        timestamp: i64,
    ) -> Result<Vec<Trade>, Rejection> {
        let plan = Plan::close(&self.state, &self.rules, symbol, Decimal::ONE_HUNDRED, fill)?;
        Ok(plan.apply(&mut self.state, self.rules.maintenance_margin_rate, timestamp))
    }

    /// Checks a pending order at placement (docs/design.md#pending-orders-and-exits): amount, price, leverage, the spot
    /// rules, the options' levels and tag, and the pending-order limit given `pending` orders
    /// waiting already. Funds are checked when it fills.
    ///
    /// # Errors
    /// The first [`Rejection`].
    pub fn check_placement(
        &self,
        symbol: Symbol,
        request: &OrderRequest,
        pending: usize,
    ) -> Result<(), Rejection> {
        let rules = &self.rules;
        rules.check_quantity(request.quantity)?;
        let what = match request.kind {
            OrderKind::Limit => "price",
            OrderKind::Stop => "trigger",
        };
        check_price(what, request.price)?;
        let options = &request.options;
        rules.check_leverage(options.leverage.unwrap_or(Decimal::ONE))?;
        if let Some(level) = options.stop_loss {
            check_price("stop_loss", level)?;
        }
        if let Some(level) = options.take_profit {
            check_price("take_profit", level)?;
        }
        if let Some(tag) = &options.tag {
            check_tag(tag)?;
        }
        if rules.mode == TradingMode::Spot
            && request.side == OrderSide::Sell
            && !options.reduce_only
        {
            let held = self.position_size(symbol).max(Decimal::ZERO);
            if request.quantity > held {
                return Err(Rejection::SpotShort { quantity: request.quantity, held });
            }
        }
        if pending >= MAX_PENDING_ORDERS {
            return Err(Rejection::TooManyOrders { max: MAX_PENDING_ORDERS });
        }
        Ok(())
    }

    /// Checks an exit level against the position in `symbol` and the current price `price`
    /// (the last close): a long's stop-loss below it, take-profit above it; a short's the other
    /// way round. A level equal to the price is refused.
    ///
    /// # Errors
    /// [`Rejection::NoPosition`] when flat, [`Rejection::InvalidPrice`] or
    /// [`Rejection::ExitSide`].
    pub fn check_exit(
        &self,
        symbol: Symbol,
        kind: ExitKind,
        level: Decimal,
        price: Decimal,
    ) -> Result<PositionType, Rejection> {
        let side = self.position(symbol).map(Position::side).ok_or(Rejection::NoPosition)?;
        let (what, below) = match (kind, side) {
            (ExitKind::StopLoss, PositionType::Long) => ("stop_loss", true),
            (ExitKind::StopLoss, PositionType::Short) => ("stop_loss", false),
            (ExitKind::TakeProfit, PositionType::Long) => ("take_profit", false),
            (ExitKind::TakeProfit, PositionType::Short) => ("take_profit", true),
            (ExitKind::Trailing, _) => {
                if level <= Decimal::ZERO || level >= Decimal::ONE {
                    return Err(Rejection::InvalidDistance { value: level.to_string() });
                }
                return Ok(side);
            }
        };
        check_price(what, level)?;
        let ok = if below { level < price } else { level > price };
        if !ok {
            return Err(Rejection::ExitSide {
                what: what.to_owned(),
                level,
                wanted: if below { "below" } else { "above" }.to_owned(),
                price,
                side,
            });
        }
        Ok(side)
    }

    /// The price that liquidates the position in `symbol` (futures): a long at `≤` it, a short
    /// at `≥` it. `None` in spot, when flat, or for a long whose formula gives no price above 0.
    #[must_use]
    pub fn liquidation_trigger(&self, symbol: Symbol) -> Option<Decimal> {
        risk::liquidation_trigger(&self.state, &self.rules, symbol)
    }

    /// Liquidates the position in `symbol` at its liquidation price (the path reached it).
    pub fn liquidate(&mut self, symbol: Symbol, timestamp: i64) -> Option<Trade> {
        risk::liquidate(&mut self.state, &self.rules, symbol, timestamp)
    }

    /// Closes `percentage` (0 < pct ≤ 100) of the position in `symbol` at `market_price`
    /// adjusted by slippage. 100 % always closes the whole position.
    ///
    /// # Errors
    /// A [`Rejection`] when flat, for a bad percentage, or a partial close below the minimum size.
    pub fn close_position(
        &mut self,
        symbol: Symbol,
        percentage: Decimal,
        market_price: Decimal,
        timestamp: i64,
    ) -> Result<Vec<Trade>, Rejection> {
        let percentage = self.rules.check_percentage(percentage)?;
        let rules = &self.rules;
        let plan = Plan::close(&self.state, rules, symbol, percentage, |side| {
            rules.taker_fill(side, market_price)
        })?;
        Ok(plan.apply(&mut self.state, self.rules.maintenance_margin_rate, timestamp))
    }

    /// Liquidates the position in `symbol` if the bar's `low`/`high` reached its liquidation
    /// price (futures only). Returns the liquidation fill.
    pub fn liquidate_if_reached(
        &mut self,
        symbol: Symbol,
        low: Decimal,
        high: Decimal,
        timestamp: i64,
    ) -> Option<Trade> {
        risk::liquidate_if_reached(&mut self.state, &self.rules, symbol, low, high, timestamp)
    }

    /// Settles one funding time for the position in `symbol` (futures only, when open).
    pub fn settle_funding(
        &mut self,
        symbol: Symbol,
        timestamp: i64,
        price: Decimal,
        rate: Decimal,
    ) -> Option<FundingPayment> {
        risk::settle_funding(&mut self.state, &self.rules, symbol, timestamp, price, rate)
    }

    /// Marks the position in `symbol` (if any) at `price`, the bar's close, for valuation.
    pub fn mark(&mut self, symbol: Symbol, price: Decimal) {
        if let Some(held) = self.state.positions.get_mut(&symbol) {
            held.mark = price;
        }
    }

    /// The portfolio at its marks, stamped `timestamp`.
    #[must_use]
    pub fn snapshot(&self, timestamp: i64) -> Snapshot {
        self.state.snapshot(timestamp)
    }

    /// The snapshot's `portfolio_value` and whether its `exposure` is non-zero, without
    /// building the rest of it (see [`crate::ports::SnapshotSink::wants_snapshots`]).
    #[must_use]
    pub fn equity_and_exposed(&self) -> (Decimal, bool) {
        self.state.equity_and_exposed()
    }

    /// Starting cash.
    #[must_use]
    pub fn initial_capital(&self) -> Decimal {
        self.state.initial_capital
    }
    /// Free cash.
    #[must_use]
    pub fn cash(&self) -> Decimal {
        self.state.cash
    }
    /// Σ margin of open positions (their cost basis in spot).
    #[must_use]
    pub fn margin_used(&self) -> Decimal {
        self.state.margin_used()
    }
    /// Σ unrealized PnL at the marks.
    #[must_use]
    pub fn unrealized_pnl(&self) -> Decimal {
        self.state.unrealized_pnl()
    }
    /// Unrealized PnL of the position in `symbol` at its mark (0 when flat).
    #[must_use]
    pub fn unrealized_pnl_of(&self, symbol: Symbol) -> Decimal {
        self.state
            .positions
            .get(&symbol)
            .map_or(Decimal::ZERO, |m| m.position.unrealized_pnl(m.mark))
    }
    /// `equity / margin` of the position in `symbol`; `None` when flat (or its margin is 0).
    #[must_use]
    pub fn margin_ratio_of(&self, symbol: Symbol) -> Option<Decimal> {
        let margin = self.position(symbol)?.margin();
        (!margin.is_zero()).then(|| self.equity() / margin)
    }
    /// `cash + margin_used + unrealized_pnl`.
    #[must_use]
    pub fn equity(&self) -> Decimal {
        self.state.equity()
    }
    /// `equity / margin_used`; `None` when flat (the Lua API returns `math.huge` then).
    #[must_use]
    pub fn margin_ratio(&self) -> Option<Decimal> {
        let margin = self.margin_used();
        (!margin.is_zero()).then(|| self.equity() / margin)
    }
    /// Σ trade pnl so far (fees and liquidation losses included, funding not). The snapshot's
    /// `realized_pnl` (and `portfolio.csv`'s column) is this plus [`total_funding`]
    /// (docs/design.md#orders-and-the-ledger): see docs/results.md.
    ///
    /// [`total_funding`]: Self::total_funding
    #[must_use]
    pub fn realized_pnl(&self) -> Decimal {
        self.state.realized_pnl
    }
    /// Σ funding payments so far (negative: paid).
    #[must_use]
    pub fn total_funding(&self) -> Decimal {
        self.state.total_funding
    }
    /// Σ fees so far (clearance fees included).
    #[must_use]
    pub fn total_fees(&self) -> Decimal {
        self.state.total_fees
    }
    /// The open position in `symbol`.
    #[must_use]
    pub fn position(&self, symbol: Symbol) -> Option<&Position> {
        self.state.positions.get(&symbol).map(|m| &m.position)
    }
    /// Every open position, by symbol.
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.state.positions.values().map(|m| &m.position)
    }
    /// Signed size in `symbol`, 0 when flat.
    #[must_use]
    pub fn position_size(&self, symbol: Symbol) -> Decimal {
        self.position(symbol).map_or(Decimal::ZERO, Position::size)
    }
    /// Effective leverage of the position in `symbol`, 0 when flat.
    #[must_use]
    pub fn leverage(&self, symbol: Symbol) -> Decimal {
        self.position(symbol).map_or(Decimal::ZERO, |p| p.effective_leverage(self.rules.mode))
    }
}

/// A [`Portfolio`] behind a `parking_lot::RwLock`, for a run that writes while others read
/// (the API showing live equity).
#[derive(Debug, Clone)]
pub struct SharedPortfolio(Arc<RwLock<Portfolio>>);

impl SharedPortfolio {
    /// Shares `portfolio`.
    #[must_use]
    pub fn new(portfolio: Portfolio) -> Self {
        Self(Arc::new(RwLock::new(portfolio)))
    }

    /// Reads the portfolio under the lock.
    pub fn read<R>(&self, f: impl FnOnce(&Portfolio) -> R) -> R {
        f(&self.0.read())
    }

    /// Changes the portfolio under the lock.
    pub fn write<R>(&self, f: impl FnOnce(&mut Portfolio) -> R) -> R {
        f(&mut self.0.write())
    }
}
