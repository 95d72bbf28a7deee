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

fn mean(notional: Decimal, quantity: Decimal) -> Decimal {
    if quantity.is_zero() {
        return Decimal::ZERO;
    }
    notional.checked_div(quantity).unwrap_or(Decimal::ZERO)
}
