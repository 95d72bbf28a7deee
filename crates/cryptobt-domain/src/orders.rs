//! Pending orders and the position's exits (docs/design.md#pending-orders-and-exits): what a strategy leaves waiting for a
//! price, and the checks made when it is placed.
//!
//! The book only stores and checks; when a price fires what it holds is the engine's intrabar
//! path (docs/design.md#the-bar-loop step 2), which fills through the [`Portfolio`](crate::Portfolio).

use rust_decimal::Decimal;
use serde::Serialize;

use crate::{OrderSide, OrderType, PositionType, Rejection};

/// The most orders pending at once in a run.
pub const MAX_PENDING_ORDERS: usize = 100;
/// The longest order tag, in bytes.
pub const MAX_TAG_BYTES: usize = 32;

/// A pending order's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    /// Buy at `≤ P`, sell at `≥ P`; maker fill on the path.
    Limit,
    /// Stop-market: buy at `≥ T`, sell at `≤ T`; taker fill with slippage.
    Stop,
}

impl OrderKind {
    /// The `order_type` of its fills.
    #[must_use]
    pub const fn order_type(self) -> OrderType {
        match self {
            Self::Limit => OrderType::Limit,
            Self::Stop => OrderType::Stop,
        }
    }
}

/// The options of a pending order (`opts` in Lua).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderOptions {
    /// Leverage of the opening part (default 1).
    pub leverage: Option<Decimal>,
    /// Only reduce the opposite position, never open one.
    pub reduce_only: bool,
    /// Stop-loss set on the position this order's fill leaves on its side.
    pub stop_loss: Option<Decimal>,
    /// Take-profit set likewise.
    pub take_profit: Option<Decimal>,
    /// Text copied to the fill's trade row (≤ 32 bytes).
    pub tag: Option<String>,
}

/// An order to place: side, kind, amount, price (the limit or the trigger) and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    /// Buy or sell.
    pub side: OrderSide,
    /// Limit or stop.
    pub kind: OrderKind,
    /// Base-asset amount.
    pub quantity: Decimal,
    /// The limit price or the stop trigger.
    pub price: Decimal,
    /// The options.
    pub options: OrderOptions,
}

/// An accepted order waiting for its price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingOrder {
    /// Run-wide id: 1, 2, ... in placement order (accepted placements only).
    pub id: u64,
    /// The symbol it trades.
    pub symbol: crate::Symbol,
    /// Buy or sell.
    pub side: OrderSide,
    /// Limit or stop.
    #[serde(rename = "type")]
    pub kind: OrderKind,
    /// Amount as placed.
    pub amount: Decimal,
    /// The limit price or the trigger.
    pub price: Decimal,
    /// Leverage (1 when not given).
    pub leverage: Decimal,
    /// Reduce-only.
    pub reduce_only: bool,
    /// Stop-loss option.
    #[serde(skip)]
    pub stop_loss: Option<Decimal>,
    /// Take-profit option.
    #[serde(skip)]
    pub take_profit: Option<Decimal>,
    /// Tag, if any.
    pub tag: Option<String>,
    /// When it was armed.
    #[serde(skip)]
    pub stamp: u64,
}

impl PendingOrder {
    /// Whether the order fires when the price is `price`.
    #[must_use]
    pub fn fires_at(&self, price: Decimal) -> bool {
        if self.fires_rising() {
            price >= self.price
        } else {
            price <= self.price
        }
    }

    /// Whether a rising price fires it (a buy stop, a sell limit); otherwise a falling one does.
    #[must_use]
    pub fn fires_rising(&self) -> bool {
        matches!(
            (self.side, self.kind),
            (OrderSide::Buy, OrderKind::Stop) | (OrderSide::Sell, OrderKind::Limit)
        )
    }
}

/// A trailing stop: the distance and the best price reached since it was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailing {
    /// The fraction `d`, `0 < d < 1`.
    pub distance: Decimal,
    /// The peak (long) or trough (short) since it was set.
    pub extreme: Decimal,
    /// `extreme × (1 − d)` (long) or `extreme × (1 + d)` (short), exactly.
    pub level: Decimal,
}

impl Trailing {
    /// A trailing stop of `distance` from `price` for a position of `side`.
    #[must_use]
    pub fn new(side: PositionType, distance: Decimal, price: Decimal) -> Self {
        let mut t = Self { distance, extreme: price, level: Decimal::ZERO };
        t.level = t.level_at(side);
        t
    }

    fn level_at(&self, side: PositionType) -> Decimal {
        let factor = match side {
            PositionType::Long => Decimal::ONE - self.distance,
            PositionType::Short => Decimal::ONE + self.distance,
        };
        self.extreme * factor
    }

    /// Moves the extreme to `price` when it is beyond it (higher for a long, lower for a short).
    pub fn follow(&mut self, side: PositionType, price: Decimal) {
        let beyond = match side {
            PositionType::Long => price > self.extreme,
            PositionType::Short => price < self.extreme,
        };
        if beyond {
            self.extreme = price;
            self.level = self.level_at(side);
        }
    }
}

/// An exit level with the arming stamp the path uses to tell a trigger reached on the path from
/// one armed at the point it stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Armed<T> {
    /// The exit.
    pub value: T,
    /// When it was armed (the book's arming counter).
    pub stamp: u64,
}

/// The position's exits: each closes the whole position when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exits {
    /// Long: fires at `≤ S`; short: at `≥ S`.
    pub stop_loss: Option<Armed<Decimal>>,
    /// Long: fires at `≥ P`; short: at `≤ P`.
    pub take_profit: Option<Armed<Decimal>>,
    /// Long: fires at `≤ peak × (1 − d)`; short: at `≥ trough × (1 + d)`.
    pub trailing: Option<Armed<Trailing>>,
}

impl Exits {
    /// Whether no exit is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.stop_loss.is_none() && self.take_profit.is_none() && self.trailing.is_none()
    }
}

/// Which exit a call sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// `set_stop_loss`.
    StopLoss,
    /// `set_take_profit`.
    TakeProfit,
    /// `set_trailing_stop`.
    Trailing,
}

/// A run's pending orders (in id order, every symbol together) and each position's exits.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    orders: Vec<PendingOrder>,
    next_id: u64,
    /// The exits of each symbol's position (a symbol with none set may be missing).
    exits: Vec<(crate::Symbol, Exits)>,
    stamps: u64,
}

impl OrderBook {
    /// Places `request` for `symbol`: checked against `portfolio` (size, price, leverage,
    /// options, spot rules, the pending cap over every symbol) and added with the next id.
    /// `price` is the symbol's last close; without one (in `initialize`) the order is refused.
    /// The one placement rule every context (the engine's, the test context) follows.
    ///
    /// # Errors
    /// The [`Rejection`]; nothing is added then.
    pub fn place(
        &mut self,
        portfolio: &crate::Portfolio,
        symbol: crate::Symbol,
        request: OrderRequest,
        price: Option<Decimal>,
    ) -> Result<u64, Rejection> {
        if price.is_none() {
            return Err(Rejection::NoPrice);
        }
        portfolio.check_placement(symbol, &request, self.orders().len())?;
        Ok(self.add(symbol, request))
    }

    /// Sets (or with `None` clears) the exit `kind` of the position in `symbol` at `value`,
    /// checked against that position in `portfolio` and the symbol's last close `price`; a
    /// trailing stop starts from that close.
    ///
    /// # Errors
    /// The [`Rejection`] (no price yet, no position, a level on the wrong side).
    pub fn set_exit(
        &mut self,
        portfolio: &crate::Portfolio,
        symbol: crate::Symbol,
        kind: ExitKind,
        value: Option<Decimal>,
        price: Option<Decimal>,
    ) -> Result<(), Rejection> {
        let Some(value) = value else {
            let exits = self.exits_mut(symbol);
            match kind {
                ExitKind::StopLoss => exits.stop_loss = None,
                ExitKind::TakeProfit => exits.take_profit = None,
                ExitKind::Trailing => exits.trailing = None,
            }
            return Ok(());
        };
        let price = price.ok_or(Rejection::NoPrice)?;
        let side = portfolio.check_exit(symbol, kind, value, price)?;
        let stamp = self.stamp();
        let exits = self.exits_mut(symbol);
        match kind {
            ExitKind::StopLoss => exits.stop_loss = Some(Armed { value, stamp }),
            ExitKind::TakeProfit => exits.take_profit = Some(Armed { value, stamp }),
            ExitKind::Trailing => {
                let value = Trailing::new(side, value, price);
                exits.trailing = Some(Armed { value, stamp });
            }
        }
        Ok(())
    }

    /// An empty book.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is armed for `symbol` (no order, no exit): its bar then needs no path.
    #[must_use]
    pub fn is_idle(&self, symbol: crate::Symbol) -> bool {
        !self.exits.iter().any(|(s, e)| *s == symbol && !e.is_empty())
            && !self.orders.iter().any(|o| o.symbol == symbol)
    }

    /// The exits of the position in `symbol`.
    #[must_use]
    pub fn exits(&self, symbol: crate::Symbol) -> Exits {
        self.exits.iter().find(|(s, _)| *s == symbol).map(|(_, e)| *e).unwrap_or_default()
    }

    /// The exits of the position in `symbol`, to change.
    pub fn exits_mut(&mut self, symbol: crate::Symbol) -> &mut Exits {
        let index = match self.exits.iter().position(|(s, _)| *s == symbol) {
            Some(i) => i,
            None => {
                self.exits.push((symbol, Exits::default()));
                self.exits.len() - 1
            }
        };
        &mut self.exits[index].1
    }

    /// The pending orders, in id order.
    #[must_use]
    pub fn orders(&self) -> &[PendingOrder] {
        &self.orders
    }

    /// The next arming stamp (every order and exit armed later has a larger one).
    pub fn stamp(&mut self) -> u64 {
        self.stamps += 1;
        self.stamps
    }

    /// The stamp of the next thing armed: everything armed so far has a smaller one.
    #[must_use]
    pub fn next_stamp(&self) -> u64 {
        self.stamps + 1
    }

    /// Adds a checked order for `symbol` (see [`crate::Portfolio::check_placement`]) and
    /// returns its id.
    pub fn add(&mut self, symbol: crate::Symbol, request: OrderRequest) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let stamp = self.stamp();
        let OrderRequest { side, kind, quantity, price, options } = request;
        self.orders.push(PendingOrder {
            id,
            symbol,
            side,
            kind,
            amount: quantity,
            price,
            leverage: options.leverage.unwrap_or(Decimal::ONE),
            reduce_only: options.reduce_only,
            stop_loss: options.stop_loss,
            take_profit: options.take_profit,
            tag: options.tag,
            stamp,
        });
        id
    }

    /// Removes the order `id`; `None` when no such order is pending.
    pub fn remove(&mut self, id: u64) -> Option<PendingOrder> {
        let index = self.orders.binary_search_by_key(&id, |o| o.id).ok()?;
        Some(self.orders.remove(index))
    }

    /// Cancels every pending order; returns how many there were.
    pub fn cancel_all(&mut self) -> usize {
        let n = self.orders.len();
        self.orders.clear();
        n
    }

    /// Clears the exits of the position in `symbol` (it became flat or reversed).
    pub fn clear_exits(&mut self, symbol: crate::Symbol) {
        if let Some((_, exits)) = self.exits.iter_mut().find(|(s, _)| *s == symbol) {
            *exits = Exits::default();
        }
    }
}

/// Checks a tag: at most [`MAX_TAG_BYTES`] bytes.
///
/// # Errors
/// [`Rejection::InvalidOption`] naming the length.
pub fn check_tag(tag: &str) -> Result<(), Rejection> {
    if tag.len() > MAX_TAG_BYTES {
        return Err(Rejection::InvalidOption {
            reason: format!("tag is {} bytes, more than {MAX_TAG_BYTES}", tag.len()),
        });
    }
    Ok(())
}

/// Checks a price or level: finite (it is a `Decimal`) and `> 0`.
///
/// # Errors
/// [`Rejection::InvalidPrice`] naming the value.
pub fn check_price(what: &'static str, price: Decimal) -> Result<Decimal, Rejection> {
    if price <= Decimal::ZERO {
        return Err(Rejection::InvalidPrice { what: what.to_owned(), value: price.to_string() });
    }
    Ok(price)
}
