//! Round trips (docs/metrics.md): a position's life from flat to flat, with its P&L net of every fee,
//! clearance and funding payment, built incrementally from the fills and funding payments of a
//! run in the order they happen.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{ActionType, OrderType, PositionType, Trade};

/// One round trip: from the fill that opens a position from flat to the fill that makes it flat
/// (a close, a liquidation, or the closing part of a flip). The columns of `round_trips.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundTrip {
    /// The symbol traded (files of one-symbol runs have no such column: `None` when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<crate::Symbol>,
    /// Bar time of the opening fill, Unix ms.
    pub entry_time: i64,
    /// Bar time of the fill that made the position flat, Unix ms.
    pub exit_time: i64,
    /// Long or short.
    pub side: PositionType,
    /// The largest |size| after any of its fills.
    pub max_size: Decimal,
    /// Quantity-weighted mean price of the opening fills (full precision).
    pub entry_price: Decimal,
    /// Quantity-weighted mean price of the closing fills (full precision; the liquidation price
    /// for a liquidation).
    pub exit_price: Decimal,
    /// Σ fee of its fills, the liquidation clearance left out (it is in the P&L).
    pub fees: Decimal,
    /// Σ funding settled while it was open (negative: paid).
    pub funding: Decimal,
    /// Σ pnl of its fills + Σ funding: net of every fee, clearance and funding payment.
    pub pnl: Decimal,
    /// Exit bar index − entry bar index, in bars of the run's timeframe.
    pub bars_held: u64,
    /// The order type of the fill that made the position flat.
    pub exit_reason: OrderType,
}

/// The round trip still open.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenTrip {
    entry_time: i64,
    entry_bar: u64,
    side: PositionType,
    size: Decimal,
    max_size: Decimal,
    opened: Decimal,
    opened_notional: Decimal,
    closed: Decimal,
    closed_notional: Decimal,
    fees: Decimal,
    funding: Decimal,
    pnl: Decimal,
}

/// Builds round trips from a run's fills and funding payments, fed in the order they happen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundTrips {
    open: Option<OpenTrip>,
    closed: Vec<RoundTrip>,
}

impl RoundTrips {
    /// No round trip yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a fill made in the bar of index `bar` (0-based, in the run's timeframe).
    pub fn on_fill(&mut self, trade: &Trade, bar: u64) {
        let quantity = trade.quantity;
        let notional = quantity * trade.price;
        let clearance = trade.action == ActionType::Liquidation;
        if !trade.is_closing() {
            let trip = self.open.get_or_insert(OpenTrip {
                entry_time: trade.timestamp,
                entry_bar: bar,
                side: trade.position_type,
                size: Decimal::ZERO,
                max_size: Decimal::ZERO,
                opened: Decimal::ZERO,
                opened_notional: Decimal::ZERO,
                closed: Decimal::ZERO,
                closed_notional: Decimal::ZERO,
                fees: Decimal::ZERO,
                funding: Decimal::ZERO,
                pnl: Decimal::ZERO,
            });
            trip.size += quantity;
            trip.max_size = trip.max_size.max(trip.size);
            trip.opened += quantity;
            trip.opened_notional += notional;
            trip.fees += trade.fee;
            trip.pnl += trade.pnl;
            return;
        }
        let Some(trip) = self.open.as_mut() else {
            // A closing fill with nothing open cannot happen in a run; ignore it rather than
            // invent a trip.
            return;
        };
        trip.size -= quantity;
        trip.closed += quantity;
        trip.closed_notional += notional;
        if !clearance {
            trip.fees += trade.fee;
        }
        trip.pnl += trade.pnl;
        if trip.size <= Decimal::ZERO {
            let trip = self.open.take().unwrap_or_else(|| unreachable!("checked above"));
            self.closed.push(RoundTrip {
                symbol: Some(trade.symbol),
                entry_time: trip.entry_time,
                exit_time: trade.timestamp,
                side: trip.side,
                max_size: trip.max_size,
                entry_price: mean(trip.opened_notional, trip.opened),
                exit_price: mean(trip.closed_notional, trip.closed),
                fees: trip.fees,
                funding: trip.funding,
                pnl: trip.pnl,
                bars_held: bar.saturating_sub(trip.entry_bar),
                exit_reason: trade.order_type,
            });
        }
    }

    /// Takes a funding payment (settled while a position is open).
    pub fn on_funding(&mut self, amount: Decimal) {
        if let Some(trip) = self.open.as_mut() {
            trip.funding += amount;
            trip.pnl += amount;
        }
    }

    /// The finished round trips, in exit order.
    #[must_use]
    pub fn closed(&self) -> &[RoundTrip] {
        &self.closed
    }

    /// Whether a position is open (its round trip not finished).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The finished round trips.
    #[must_use]
    pub fn into_closed(self) -> Vec<RoundTrip> {
        self.closed
    }
}

/// What a round trip's fills say besides its numbers: the tag of its opening fill and whether
/// any of its fills rested on the path rule (docs/design.md#the-bar-loop).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TripMarks {
    /// The opening fill's tag, if it had one.
    pub tag: Option<String>,
    /// Whether any of its fills is flagged ambiguous.
    pub ambiguous: bool,
}

/// The [`TripMarks`] of each round trip `trades` make, in the order the trips close (the order of
/// [`RoundTrips::closed`]), built the same way: per symbol, from the fill that opens a position
/// from flat to the one that makes it flat. The files keep no such columns; the views derive them.
#[must_use]
pub fn trip_marks(trades: &[Trade]) -> Vec<TripMarks> {
    let mut open: Vec<(crate::Symbol, Decimal, TripMarks)> = Vec::new();
    let mut closed = Vec::new();
    for trade in trades {
        let index = open.iter().position(|(s, _, _)| *s == trade.symbol);
        if !trade.is_closing() {
            let at = index.unwrap_or_else(|| {
                let marks = TripMarks { tag: trade.tag.clone(), ambiguous: false };
                open.push((trade.symbol, Decimal::ZERO, marks));
                open.len() - 1
            });
            let (_, size, marks) = &mut open[at];
            *size += trade.quantity;
            marks.ambiguous |= trade.ambiguous;
            continue;
        }
        let Some(at) = index else { continue };
        let (_, size, marks) = &mut open[at];
        *size -= trade.quantity;
        marks.ambiguous |= trade.ambiguous;
        if *size <= Decimal::ZERO {
            closed.push(open.remove(at).2);
        }
    }
    closed
}

fn mean(notional: Decimal, quantity: Decimal) -> Decimal {
    if quantity.is_zero() {
        return Decimal::ZERO;
    }
    notional.checked_div(quantity).unwrap_or(Decimal::ZERO)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::{testkit, OrderSide};

    /// Long 1 (tagged "in", then an ambiguous add), a sell of 3 that closes it and opens a
    /// short of 1 (tagged "flip"), a buy that closes the short: two trips, in closing order,
    /// each with its opening fill's tag; only the first has an ambiguous fill.
    #[test]
    fn marks_follow_the_trips_flat_to_flat_including_a_flip() {
        let mut p = testkit::futures(dec!(100_000));
        let btc = testkit::btc();
        let mut trades = Vec::new();
        for (side, qty) in [
            (OrderSide::Buy, dec!(1)),
            (OrderSide::Buy, dec!(1)),
            (OrderSide::Sell, dec!(3)),
            (OrderSide::Buy, dec!(1)),
        ] {
            trades.extend(p.submit(btc, side, qty, Decimal::ONE, dec!(100), 0).unwrap());
        }
        assert_eq!(trades.len(), 5, "the flip is a close and an open");
        trades[0].tag = Some("in".into());
        trades[1].ambiguous = true;
        trades[3].tag = Some("flip".into());
        let mut trips = RoundTrips::new();
        for t in &trades {
            trips.on_fill(t, 0);
        }
        let marks = trip_marks(&trades);
        assert_eq!(marks.len(), trips.closed().len());
        assert_eq!(
            marks,
            [
                TripMarks { tag: Some("in".into()), ambiguous: true },
                TripMarks { tag: Some("flip".into()), ambiguous: false },
            ]
        );
    }
}
