//! Market orders: plan every leg of an order against the current state, check it, then apply it.
//!
//! Planning never mutates, so an order is all-or-nothing: a flip whose opening leg lacks funds is
//! refused before its closing leg changes anything.

use rust_decimal::Decimal;

use super::{state::MarkedPosition, LedgerState, OrderSide, PortfolioRules, Rejection};
use crate::{ActionType, OrderType, Position, PositionType, Symbol, Trade, TradingMode};

/// The part of an order that reduces (or closes) the existing position.
#[derive(Debug, Clone)]
struct ReduceLeg {
    quantity: Decimal,
    released: Decimal,
    gross: Decimal,
    fee: Decimal,
    leverage: Decimal,
    position_type: PositionType,
    closes: bool,
}

/// The part of an order that opens or adds.
#[derive(Debug, Clone)]
struct OpenLeg {
    quantity: Decimal,
    margin: Decimal,
    fee: Decimal,
    leverage: Decimal,
    side: PositionType,
}

/// A checked order, ready to apply.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    symbol: Symbol,
    action: ActionType,
    /// The fill price (the market price adjusted by slippage).
    price: Decimal,
    /// The market price before slippage: what the position is marked at after the fill (docs/design.md#orders-and-the-ledger
    /// values a position at the close, not at the price a slipped fill paid).
    market: Decimal,
    reduce: Option<ReduceLeg>,
    open: Option<OpenLeg>,
}

/// The fill price of a market order: buys pay `price × (1 + bps/10000)`, sells receive
/// `price × (1 − bps/10000)`.
pub(crate) fn slipped_price(
    rules: &PortfolioRules,
    side: OrderSide,
    market_price: Decimal,
) -> Decimal {
    if rules.slippage_bps.is_zero() {
        return market_price;
    }
    let fraction = rules.slippage_bps / Decimal::from(10_000);
    let factor = match side {
        OrderSide::Buy => Decimal::ONE + fraction,
        OrderSide::Sell => Decimal::ONE - fraction,
    };
    market_price * factor
}

/// How a fill is priced and charged: the fill price (slippage included), the market price the
/// position is marked at afterwards, and the fee rate (taker or maker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// The price the fill is booked at.
    pub price: Decimal,
    /// The market price before slippage.
    pub market: Decimal,
    /// The fee rate charged on the notional.
    pub fee_rate: Decimal,
}

impl PortfolioRules {
    /// A taker fill of `side` at `market_price` with slippage (a market, stop, stop-loss or
    /// trailing fill).
    #[must_use]
    pub fn taker_fill(&self, side: OrderSide, market_price: Decimal) -> Fill {
        Fill {
            price: slipped_price(self, side, market_price),
            market: market_price,
            fee_rate: self.fee_rate,
        }
    }

    /// A fill at exactly `price` without slippage, at the maker fee (`maker`) or the taker fee (a
    /// limit or take-profit fill).
    #[must_use]
    pub fn unslipped_fill(&self, price: Decimal, maker: bool) -> Fill {
        Fill {
            price,
            market: price,
            fee_rate: if maker { self.maker_fee_rate } else { self.fee_rate },
        }
    }
}

fn fee_of(fee_rate: Decimal, quantity: Decimal, price: Decimal) -> Result<Decimal, Rejection> {
    let notional = quantity.checked_mul(price).ok_or(Rejection::Overflow { quantity, price })?;
    Ok(notional * fee_rate)
}

/// Plans a reducing leg of `quantity` (at most the position's size). It fills exactly that
/// quantity, however small the remainder it leaves (docs/design.md, "Reductions"): the remainder
/// keeps its share of the margin and the entry, so its liquidation price does not move.
fn reduce_leg(
    rules: &PortfolioRules,
    held: &Position,
    quantity: Decimal,
    price: Decimal,
    fee_rate: Decimal,
) -> Result<ReduceLeg, Rejection> {
    let held_qty = held.quantity();
    let closes = quantity == held_qty;
    let released = if closes { held.margin() } else { held.margin() * quantity / held_qty };
    let side = held.side();
    Ok(ReduceLeg {
        quantity,
        released,
        gross: (price - held.entry_price()) * quantity * side.sign(),
        fee: fee_of(fee_rate, quantity, price)?,
        leverage: held.effective_leverage(rules.mode),
        position_type: side,
        closes,
    })
}

/// Plans an opening leg: it locks `margin = qty × price / L` and needs `cash ≥ margin + fee`, both
/// computed as `Decimal` computes them, never rounded to a number of places.
fn open_leg(
    side: PositionType,
    quantity: Decimal,
    leverage: Decimal,
    price: Decimal,
    available: Decimal,
    fee_rate: Decimal,
) -> Result<OpenLeg, Rejection> {
    let overflow = Rejection::Overflow { quantity, price };
    let notional = quantity.checked_mul(price).ok_or(overflow.clone())?;
    let fee = notional.checked_mul(fee_rate).ok_or(overflow.clone())?;
    let margin = notional.checked_div(leverage).ok_or(overflow.clone())?;
    let required = margin.checked_add(fee).ok_or(overflow)?;
    if available < required {
        return Err(Rejection::InsufficientFunds { required: required.normalize(), available });
    }
    Ok(OpenLeg { quantity, margin, fee, leverage, side })
}

impl Plan {
    /// Plans a market order for `quantity` (already checked) at `leverage` (already checked).
    pub(crate) fn order(
        state: &LedgerState,
        rules: &PortfolioRules,
        symbol: Symbol,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
        fill: Fill,
    ) -> Result<Self, Rejection> {
        let price = fill.price;
        let held = state.positions.get(&symbol).map(|m| &m.position);
        let opens = side.opens();
        let (reduce, open) = match held {
            Some(held) if held.side() != opens => {
                let held_qty = held.quantity();
                if rules.mode == TradingMode::Spot && quantity > held_qty {
                    return Err(Rejection::SpotShort { quantity, held: held_qty });
                }
                let reduce = reduce_leg(rules, held, quantity.min(held_qty), price, fill.fee_rate)?;
                let remainder = quantity - quantity.min(held_qty);
                let open = if remainder > Decimal::ZERO {
                    let after_close = state.cash + reduce.released + reduce.gross - reduce.fee;
                    Some(open_leg(opens, remainder, leverage, price, after_close, fill.fee_rate)?)
                } else {
                    None
                };
                (Some(reduce), open)
            }
            _ => {
                if rules.mode == TradingMode::Spot && side == OrderSide::Sell {
                    return Err(Rejection::SpotShort { quantity, held: Decimal::ZERO });
                }
                if held.is_none() && state.positions.len() >= rules.limits.max_positions {
                    return Err(Rejection::TooManyPositions { max: rules.limits.max_positions });
                }
                (None, Some(open_leg(opens, quantity, leverage, price, state.cash, fill.fee_rate)?))
            }
        };
        Ok(Self { symbol, action: side.action(), price, market: fill.market, reduce, open })
    }

    /// Plans a reduce-only fill of `side` for up to `quantity`: cut to the opposite position's
    /// size (a cut below the minimum size still fills); no opposite position refuses it.
    pub(crate) fn reduce_only(
        state: &LedgerState,
        rules: &PortfolioRules,
        symbol: Symbol,
        side: OrderSide,
        quantity: Decimal,
        fill: Fill,
    ) -> Result<Self, Rejection> {
        let held = state
            .positions
            .get(&symbol)
            .map(|m| &m.position)
            .filter(|held| held.side() != side.opens())
            .ok_or(Rejection::ReduceOnly)?;
        Self::reduction(rules, symbol, held, side, quantity.min(held.quantity()), fill)
    }

    /// A plan that only reduces `held` by `quantity` with `side`, on `fill`'s terms.
    fn reduction(
        rules: &PortfolioRules,
        symbol: Symbol,
        held: &Position,
        side: OrderSide,
        quantity: Decimal,
        fill: Fill,
    ) -> Result<Self, Rejection> {
        let reduce = reduce_leg(rules, held, quantity, fill.price, fill.fee_rate)?;
        Ok(Self {
            symbol,
            action: side.action(),
            price: fill.price,
            market: fill.market,
            reduce: Some(reduce),
            open: None,
        })
    }

    /// Plans `close_position(percentage)` (already checked) of the position in `symbol`.
    pub(crate) fn close(
        state: &LedgerState,
        rules: &PortfolioRules,
        symbol: Symbol,
        percentage: Decimal,
        fill: impl FnOnce(OrderSide) -> Fill,
    ) -> Result<Self, Rejection> {
        let held =
            state.positions.get(&symbol).map(|m| &m.position).ok_or(Rejection::NoPosition)?;
        let held_qty = held.quantity();
        let quantity = if percentage == Decimal::ONE_HUNDRED {
            held_qty
        } else {
            let quantity = held_qty * percentage / Decimal::ONE_HUNDRED;
            if quantity < rules.limits.min_trade_size {
                return Err(Rejection::PartialCloseTooSmall {
                    percentage,
                    quantity,
                    min: rules.limits.min_trade_size,
                });
            }
            quantity
        };
        let side = OrderSide::closing(held.side());
        Self::reduction(rules, symbol, held, side, quantity, fill(side))
    }

    /// Applies the plan: the reducing leg first, then the opening one. Returns the fills.
    pub(crate) fn apply(self, state: &mut LedgerState, mmr: Decimal, timestamp: i64) -> Vec<Trade> {
        let mut trades = Vec::with_capacity(2);
        let trade = |quantity, leverage, fee, position_type, pnl| Trade {
            timestamp,
            action: self.action,
            symbol: self.symbol,
            quantity,
            price: self.price,
            leverage,
            fee,
            position_type,
            pnl,
            order_type: OrderType::Market,
            tag: None,
            ambiguous: false,
        };
        if let Some(leg) = &self.reduce {
            if leg.closes {
                state.positions.remove(&self.symbol);
            } else if let Some(held) = state.positions.get_mut(&self.symbol) {
                let p = &mut held.position;
                let size = p.size() - leg.quantity * leg.position_type.sign();
                p.set(size, p.entry_price(), p.margin() - leg.released);
                held.refresh(self.market, mmr);
            }
            let pnl = leg.gross - leg.fee;
            state.resum_margin();
            state.book(leg.released + leg.gross - leg.fee, pnl, leg.fee);
            trades.push(trade(leg.quantity, leg.leverage, leg.fee, leg.position_type, pnl));
        }
        if let Some(leg) = &self.open {
            let signed = leg.quantity * leg.side.sign();
            match state.positions.get_mut(&self.symbol) {
                Some(held) => {
                    let p = &mut held.position;
                    let held_qty = p.quantity();
                    let entry = (p.entry_price() * held_qty + self.price * leg.quantity)
                        / (held_qty + leg.quantity);
                    p.set(p.size() + signed, entry, p.margin() + leg.margin);
                    held.refresh(self.market, mmr);
                }
                None => {
                    let position = Position::from_parts(
                        self.symbol,
                        signed,
                        self.price,
                        leg.margin,
                        timestamp,
                    );
                    state
                        .positions
                        .insert(self.symbol, MarkedPosition::new(position, self.market, mmr));
                }
            }
            state.resum_margin();
            state.book(-(leg.margin + leg.fee), -leg.fee, leg.fee);
            trades.push(trade(leg.quantity, leg.leverage, leg.fee, leg.side, -leg.fee));
        }
        trades
    }
}
