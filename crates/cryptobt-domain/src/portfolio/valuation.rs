//! Valuation of the portfolio at its marks: equity, unrealized PnL, ratios and snapshots.

use rust_decimal::Decimal;

use super::LedgerState;
use crate::Snapshot;

impl LedgerState {
    /// `Σ (mark − entry) × size` over open positions.
    pub(crate) fn unrealized_pnl(&self) -> Decimal {
        self.positions.values().map(|m| m.position.unrealized_pnl(m.mark)).sum()
    }

    /// `cash + margin_used + unrealized_pnl`.
    pub(crate) fn equity(&self) -> Decimal {
        self.cash + self.margin_used + self.unrealized_pnl()
    }

    /// The snapshot's `portfolio_value`, by the same sums in the same order (so the same
    /// `Decimal`, scale and all), and whether its `exposure` is non-zero — without the other
    /// columns. Exposure is `Σ quantity × mark` with both factors non-negative, so it is non-zero
    /// exactly when some position has a quantity and a mark.
    pub(crate) fn equity_and_exposed(&self) -> (Decimal, bool) {
        let (unrealized_pnl, exposed) = match self.positions.len() {
            0 => (Decimal::ZERO, false),
            _ => self.positions.values().fold((Decimal::ZERO, false), |(u, e), m| {
                let held = !m.position.quantity().is_zero() && !m.mark.is_zero();
                (u + m.position.unrealized_pnl(m.mark), e || held)
            }),
        };
        (self.cash + self.margin_used + unrealized_pnl, exposed)
    }

    pub(crate) fn snapshot(&self, timestamp: i64) -> Snapshot {
        let (unrealized_pnl, exposure) = match self.positions.len() {
            0 => (Decimal::ZERO, Decimal::ZERO),
            _ => self.positions.values().fold((Decimal::ZERO, Decimal::ZERO), |(u, e), m| {
                (u + m.position.unrealized_pnl(m.mark), e + m.position.quantity() * m.mark)
            }),
        };
        let margin_used = self.margin_used;
        Snapshot {
            timestamp,
            portfolio_value: self.cash + margin_used + unrealized_pnl,
            cash: self.cash,
            unrealized_pnl,
            realized_pnl: self.realized_pnl + self.total_funding,
            margin_used,
            exposure,
        }
    }
}
