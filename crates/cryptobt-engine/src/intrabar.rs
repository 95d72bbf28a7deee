//! The intrabar path of docs/design.md#the-bar-loop step 2: a bar walked as `O → X → Y → C` (the nearer extreme
//! first), or as its 1m bars each walked so, firing pending orders, the position's exits and the
//! liquidation price in the order the price reaches them.
//!
//! A trigger fires *at the open* (the first point of the bar: it fills at the open, taker fee), *on
//! the path* (at its own level; limits and take-profits pay the maker fee) or, when a fill arms it
//! at a point whose price already satisfies it, *at that point* as at a gap.

use cryptobt_domain::{Bar, Fill, OrderKind, OrderSide, OrderType, PositionType, Trade, Trailing};
use rust_decimal::Decimal;

use crate::context::{side_of, RunContext};

/// What can fire, in the priority order of docs/design.md#the-bar-loop (orders by id after the exits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Trigger {
    Liquidation,
    StopLoss,
    Trailing,
    TakeProfit,
    Order(u64),
}

/// A trigger with its level, its direction and when it was armed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Level {
    trigger: Trigger,
    price: Decimal,
    /// Fires when the price is `≥ price` (a rising price reaches it); else at `≤ price`.
    rising: bool,
    stamp: u64,
}

impl Level {
    fn satisfied(&self, price: Decimal) -> bool {
        if self.rising {
            price >= self.price
        } else {
            price <= self.price
        }
    }
}

/// The two extremes in path order: the nearer one first, a tie low first.
pub(crate) fn extremes(bar: &Bar) -> (Decimal, Decimal) {
    if bar.high - bar.open < bar.open - bar.low {
        (bar.high, bar.low)
    } else {
        (bar.low, bar.high)
    }
}

/// Walks one bar's path for a run context.
pub(crate) struct Path<'a> {
    ctx: &'a RunContext,
    symbol: cryptobt_domain::Symbol,
    timestamp: i64,
    levels: &'a mut Vec<Level>,
    /// Whether `levels` may be out of date (a fill or a trailing move since they were gathered).
    stale: bool,
    ambiguous: bool,
}

impl<'a> Path<'a> {
    /// A path for `symbol`'s bar at `timestamp`; `levels` is a buffer reused from bar to bar.
    pub(crate) fn new(
        ctx: &'a RunContext,
        symbol: cryptobt_domain::Symbol,
        timestamp: i64,
        levels: &'a mut Vec<Level>,
    ) -> Self {
        Self { ctx, symbol, timestamp, levels, stale: true, ambiguous: false }
    }

    /// Walks `parts` (the bar itself, or its 1m bars in order); returns whether the bar is
    /// ambiguous.
    pub(crate) fn walk(mut self, parts: &[Bar]) -> bool {
        let mut previous_close: Option<Decimal> = None;
        for part in parts {
            match previous_close {
                None => {
                    self.follow(part.open);
                    self.settle(part.open, true, u64::MAX);
                }
                Some(close) => self.leg(close, part.open),
            }
            if !self.ambiguous {
                self.ambiguous = self.straddles(part);
            }
            previous_close = Some(part.close);
            self.collect();
            // The trailing stop's level once its extreme has followed this bar's extremes: the
            // lowest (long) or highest (short) it can reach inside the bar.
            let trailed = self.trailed(part);
            let reachable = self.levels.iter().any(|l| {
                let price = match (l.trigger, trailed) {
                    (Trigger::Trailing, Some(t)) => t.level,
                    _ => l.price,
                };
                if l.rising {
                    price <= part.high
                } else {
                    price >= part.low
                }
            });
            if !reachable {
                // Nothing can fire inside this bar: only the trailing stop's extreme moves, to
                // the bar's high (a long's peak) or low (a short's trough).
                if let (Some(t), Some(armed)) =
                    (trailed, self.ctx.book.borrow_mut().exits_mut(self.symbol).trailing.as_mut())
                {
                    self.stale |= armed.value.level != t.level;
                    armed.value = t;
                }
                continue;
            }
            let (x, y) = extremes(part);
            self.leg(part.open, x);
            self.leg(x, y);
            self.leg(y, part.close);
        }
        self.ambiguous
    }

    /// Gathers the armed triggers into `self.levels`.
    fn collect(&mut self) {
        if !self.stale {
            return;
        }
        self.stale = false;
        self.levels.clear();
        let ctx = self.ctx;
        let portfolio = ctx.portfolio.borrow();
        let side = side_of(&portfolio, self.symbol);
        if let Some(side) = side {
            let long = side == PositionType::Long;
            if let Some(liq) = portfolio.liquidation_trigger(self.symbol) {
                self.levels.push(Level {
                    trigger: Trigger::Liquidation,
                    price: liq,
                    rising: !long,
                    stamp: 0,
                });
            }
            let exits = ctx.book.borrow().exits(self.symbol);
            if let Some(sl) = exits.stop_loss {
                self.levels.push(Level {
                    trigger: Trigger::StopLoss,
                    price: sl.value,
                    rising: !long,
                    stamp: sl.stamp,
                });
            }
            if let Some(t) = exits.trailing {
                self.levels.push(Level {
                    trigger: Trigger::Trailing,
                    price: t.value.level,
                    rising: !long,
                    stamp: t.stamp,
                });
            }
            if let Some(tp) = exits.take_profit {
                self.levels.push(Level {
                    trigger: Trigger::TakeProfit,
                    price: tp.value,
                    rising: long,
                    stamp: tp.stamp,
                });
            }
        }
        for order in ctx.book.borrow().orders().iter().filter(|o| o.symbol == self.symbol) {
            self.levels.push(Level {
                trigger: Trigger::Order(order.id),
                price: order.price,
                rising: order.fires_rising(),
                stamp: order.stamp,
            });
        }
    }

    /// The trailing stop's level after following `part`'s high and low (without moving it).
    fn trailed(&self, part: &Bar) -> Option<Trailing> {
        let mut trailing = self.ctx.book.borrow().exits(self.symbol).trailing?.value;
        let side = side_of(&self.ctx.portfolio.borrow(), self.symbol)?;
        let extreme = match side {
            PositionType::Long => part.high,
            PositionType::Short => part.low,
        };
        trailing.follow(side, extreme);
        Some(trailing)
    }

    /// Moves the trailing stop's extreme to a path point.
    fn follow(&mut self, price: Decimal) {
        let mut book = self.ctx.book.borrow_mut();
        if let Some(trailing) = book.exits_mut(self.symbol).trailing.as_mut() {
            if let Some(side) = side_of(&self.ctx.portfolio.borrow(), self.symbol) {
                let before = trailing.value.level;
                trailing.value.follow(side, price);
                self.stale |= trailing.value.level != before;
            }
        }
    }

    /// Fires, by priority, every trigger the price `at` satisfies. At the bar's open (`open`)
    /// each fills at the open; elsewhere a trigger armed before `arrival` whose level is the
    /// point fills on the path, and one armed later (or beyond the point) as at a gap.
    fn settle(&mut self, at: Decimal, open: bool, arrival: u64) {
        loop {
            self.collect();
            let Some(first) =
                self.levels.iter().filter(|l| l.satisfied(at)).min_by_key(|l| l.trigger).copied()
            else {
                return;
            };
            let on_path = !open && first.stamp < arrival && first.price == at;
            self.fire(first.trigger, at, on_path);
        }
    }

    /// Walks the leg from `from` to `to`, firing what it reaches in price order.
    fn leg(&mut self, from: Decimal, to: Decimal) {
        let mut at = from;
        loop {
            self.collect();
            let next = if to > at {
                self.levels
                    .iter()
                    .filter(|l| l.rising && l.price > at && l.price <= to)
                    .min_by(|a, b| a.price.cmp(&b.price).then(a.trigger.cmp(&b.trigger)))
            } else if to < at {
                self.levels
                    .iter()
                    .filter(|l| !l.rising && l.price < at && l.price >= to)
                    .min_by(|a, b| b.price.cmp(&a.price).then(a.trigger.cmp(&b.trigger)))
            } else {
                None
            };
            let Some(next) = next.copied() else { break };
            at = next.price;
            let arrival = self.ctx.book.borrow().next_stamp();
            self.fire(next.trigger, at, true);
            self.settle(at, false, arrival);
        }
        self.follow(to);
    }

    /// Whether an armed trigger lies strictly inside `(O, H)` on the rising side and another
    /// strictly inside `(L, O)` on the falling side.
    fn straddles(&mut self, part: &Bar) -> bool {
        self.collect();
        let up = self.levels.iter().any(|l| l.rising && l.price > part.open && l.price < part.high);
        let down =
            self.levels.iter().any(|l| !l.rising && l.price < part.open && l.price > part.low);
        up && down
    }

    /// Fires `trigger`: at its own level `at` on the path, or at the point `at` as at a gap.
    fn fire(&mut self, trigger: Trigger, at: Decimal, on_path: bool) {
        self.stale = true;
        let ctx = self.ctx;
        let symbol = self.symbol;
        let ts = self.timestamp;
        let before = side_of(&ctx.portfolio.borrow(), symbol);
        let rules = ctx.portfolio.borrow().rules().clone();
        let mut tag = None;
        let mut armed_opts = None;
        let (order_type, result) = match trigger {
            Trigger::Liquidation => {
                let trade = ctx.portfolio.borrow_mut().liquidate(symbol, ts);
                (OrderType::Liquidation, Ok(trade.into_iter().collect()))
            }
            Trigger::StopLoss | Trigger::Trailing => {
                let kind = if trigger == Trigger::StopLoss {
                    OrderType::StopLoss
                } else {
                    OrderType::TrailingStop
                };
                let result = ctx.portfolio.borrow_mut().close_all(
                    symbol,
                    |side| rules.taker_fill(side, at),
                    ts,
                );
                (kind, result)
            }
            Trigger::TakeProfit => {
                let result = ctx.portfolio.borrow_mut().close_all(
                    symbol,
                    |_| rules.unslipped_fill(at, on_path),
                    ts,
                );
                (OrderType::TakeProfit, result)
            }
            Trigger::Order(id) => {
                let Some(order) = ctx.book.borrow_mut().remove(id) else { return };
                let fill: Fill = match order.kind {
                    OrderKind::Stop => rules.taker_fill(order.side, at),
                    OrderKind::Limit => rules.unslipped_fill(at, on_path),
                };
                let mut portfolio = ctx.portfolio.borrow_mut();
                let result = if order.reduce_only {
                    portfolio.reduce(symbol, order.side, order.amount, fill, ts)
                } else {
                    armed_opts = Some((order.side, order.stop_loss, order.take_profit));
                    portfolio.fill(symbol, order.side, order.amount, order.leverage, fill, ts)
                };
                tag = order.tag;
                (order.kind.order_type(), result)
            }
        };
        match result {
            Ok(trades) => {
                let filled = !trades.is_empty();
                push_fills(ctx, trades, order_type, tag.as_deref());
                if !filled {
                    // An exit left over on a flat position: drop it so the path moves on.
                    ctx.book.borrow_mut().clear_exits(symbol);
                    return;
                }
                ctx.after_fill(symbol, before);
                if let Some((side, stop_loss, take_profit)) = armed_opts {
                    self.arm_options(side, stop_loss, take_profit);
                }
            }
            Err(rejection) => {
                if matches!(trigger, Trigger::Order(_)) {
                    ctx.records.borrow_mut().reject(&rejection);
                } else {
                    ctx.book.borrow_mut().clear_exits(symbol);
                }
            }
        }
    }

    /// Sets a filled order's `stop_loss`/`take_profit` options on the position it left on its
    /// side (each replaces only the exit of its own kind).
    fn arm_options(
        &self,
        side: OrderSide,
        stop_loss: Option<Decimal>,
        take_profit: Option<Decimal>,
    ) {
        let ctx = self.ctx;
        if side_of(&ctx.portfolio.borrow(), self.symbol) != Some(side.opens()) {
            return;
        }
        let mut book = ctx.book.borrow_mut();
        if let Some(value) = stop_loss {
            let stamp = book.stamp();
            book.exits_mut(self.symbol).stop_loss = Some(cryptobt_domain::Armed { value, stamp });
        }
        if let Some(value) = take_profit {
            let stamp = book.stamp();
            book.exits_mut(self.symbol).take_profit = Some(cryptobt_domain::Armed { value, stamp });
        }
    }
}

/// Records `trades` as fills of `order_type` with `tag`.
fn push_fills(ctx: &RunContext, trades: Vec<Trade>, order_type: OrderType, tag: Option<&str>) {
    let mut records = ctx.records.borrow_mut();
    for mut trade in trades {
        trade.order_type = order_type;
        trade.tag = tag.map(str::to_owned);
        records.trades.push(trade);
    }
}

/// The 1m bars of a run, handed out bar by bar (they arrive sorted and checked: every bar of the
/// run has all its minutes).
pub(crate) struct Minutes<'a> {
    chunks: &'a [std::sync::Arc<[Bar]>],
    chunk: usize,
    index: usize,
    buffer: Vec<Bar>,
}

impl<'a> Minutes<'a> {
    pub(crate) fn new(series: &'a cryptobt_domain::ports::BarSeries) -> Self {
        Self { chunks: series.chunks(), chunk: 0, index: 0, buffer: Vec::with_capacity(1_440) }
    }

    fn peek(&self) -> Option<&'a Bar> {
        self.chunks.get(self.chunk).and_then(|c| c.get(self.index))
    }

    fn advance(&mut self) {
        self.index += 1;
        if self.chunks.get(self.chunk).is_some_and(|c| self.index >= c.len()) {
            self.chunk += 1;
            self.index = 0;
        }
    }

    /// Skips the minutes before `start` (bars the path did not need).
    pub(crate) fn skip_to(&mut self, start: i64) {
        while self.peek().is_some_and(|b| b.timestamp < start) {
            self.advance();
        }
    }

    /// The minutes in `[start, end)`, in order.
    pub(crate) fn take(&mut self, start: i64, end: i64) -> &[Bar] {
        self.skip_to(start);
        self.buffer.clear();
        while let Some(bar) = self.peek().filter(|b| b.timestamp < end) {
            self.buffer.push(*bar);
            self.advance();
        }
        &self.buffer
    }
}
