//! Liquidation of isolated futures positions and funding settlement.

use rust_decimal::Decimal;

use super::{LedgerState, PortfolioRules};
use crate::{
    ActionType, FundingPayment, OrderType, Position, PositionType, Symbol, Trade, TradingMode,
};

/// The liquidation price of an isolated position with entry `entry`, absolute size `quantity`,
/// margin `margin` and maintenance margin rate `mmr` (Binance's isolated formula with the
/// position's margin as wallet balance and maintenance amount 0):
///
/// - long: `(E×Q − M) / (Q × (1 − m))`
/// - short: `(E×Q + M) / (Q × (1 + m))`
///
/// Exactly as `Decimal` divides. `None` when the formula is undefined (`Q = 0`, or `m ≥ 1` for a
/// long). A long's result can be ≤ 0 (leverage 1): such a position is never liquidated.
#[must_use]
pub fn liquidation_price(
    side: PositionType,
    entry: Decimal,
    quantity: Decimal,
    margin: Decimal,
    mmr: Decimal,
) -> Option<Decimal> {
    let notional = entry.checked_mul(quantity)?;
    let (numerator, denominator) = match side {
        PositionType::Long => (notional - margin, quantity * (Decimal::ONE - mmr)),
        PositionType::Short => (notional + margin, quantity * (Decimal::ONE + mmr)),
    };
    if denominator <= Decimal::ZERO {
        return None;
    }
    numerator.checked_div(denominator)
}

impl Position {
    /// This position's liquidation price at maintenance margin rate `mmr`; see
    /// [`liquidation_price`].
    #[must_use]
    pub fn liquidation_price(&self, mmr: Decimal) -> Option<Decimal> {
        liquidation_price(self.side(), self.entry_price(), self.quantity(), self.margin(), mmr)
    }
}

/// Liquidates the futures position in `symbol` when the bar reached its liquidation price
/// (a long with `low ≤ liq`, a short with `high ≥ liq`). The position closes at `liq` even if the
/// bar gapped through it; the margin left at `liq` goes as the clearance fee, so the whole margin
/// is lost: `fee = M + (liq − E) × Q × side`, `pnl = −M`, and cash does not change.
pub(crate) fn liquidate_if_reached(
    state: &mut LedgerState,
    rules: &PortfolioRules,
    symbol: Symbol,
    low: Decimal,
    high: Decimal,
    timestamp: i64,
) -> Option<Trade> {
    if rules.mode != TradingMode::Futures {
        return None;
    }
    let liq = liquidation_trigger(state, rules, symbol)?;
    let reached = match state.positions.get(&symbol)?.position.side() {
        PositionType::Long => low <= liq,
        PositionType::Short => high >= liq,
    };
    if !reached {
        return None;
    }
    liquidate(state, rules, symbol, timestamp)
}

/// The price that liquidates the position in `symbol` (futures; a long's formula must give a
/// price above 0): a long at `≤` it, a short at `≥` it.
pub(crate) fn liquidation_trigger(
    state: &LedgerState,
    rules: &PortfolioRules,
    symbol: Symbol,
) -> Option<Decimal> {
    if rules.mode != TradingMode::Futures {
        return None;
    }
    let held = state.positions.get(&symbol)?;
    let liq = held.liquidation?;
    match held.position.side() {
        PositionType::Long if liq <= Decimal::ZERO => None,
        _ => Some(liq),
    }
}

/// Liquidates the futures position in `symbol` at its liquidation price, whatever the market
/// price (docs/design.md#the-bar-loop step 2).
pub(crate) fn liquidate(
    state: &mut LedgerState,
    rules: &PortfolioRules,
    symbol: Symbol,
    timestamp: i64,
) -> Option<Trade> {
    let liq = liquidation_trigger(state, rules, symbol)?;
    let position = &state.positions.get(&symbol)?.position;
    let side = position.side();
    let quantity = position.quantity();
    let margin = position.margin();
    let leverage = position.effective_leverage(rules.mode);
    let gross = (liq - position.entry_price()) * quantity * side.sign();
    let fee = margin + gross;
    state.positions.remove(&symbol);
    state.resum_margin();
    // cash += released (M) + gross − fee = 0: the isolated margin is gone, the rest untouched.
    state.book(Decimal::ZERO, -margin, fee);
    Some(Trade {
        timestamp,
        action: ActionType::Liquidation,
        symbol,
        quantity,
        price: liq,
        leverage,
        fee,
        position_type: side,
        pnl: -margin,
        order_type: OrderType::Liquidation,
        tag: None,
        ambiguous: false,
    })
}

/// Settles one funding time for the futures position in `symbol` at `price`:
/// `cash −= size × price × rate` (longs pay positive rates). Nothing when flat or in spot.
pub(crate) fn settle_funding(
    state: &mut LedgerState,
    rules: &PortfolioRules,
    symbol: Symbol,
    timestamp: i64,
    price: Decimal,
    rate: Decimal,
) -> Option<FundingPayment> {
    if rules.mode != TradingMode::Futures {
        return None;
    }
    let size = state.positions.get(&symbol)?.position.size();
    let amount = -(size * price * rate);
    state.cash += amount;
    state.total_funding += amount;
    Some(FundingPayment { timestamp, symbol, rate, price, position_size: size, amount })
}
