//! Valuation of the portfolio at its marks: equity, unrealized PnL, ratios and snapshots.

use rust_decimal::Decimal;

use super::LedgerState;
use crate::{money::round_ledger, Snapshot};

impl LedgerState {
    /// `Σ (mark − entry) × size` over open positions.
    pub(crate) fn unrealized_pnl(&self) -> Decimal {
        self.positions.values().map(|m| m.position.unrealized_pnl(m.mark)).sum()
    }

    /// `cash + margin_used + unrealized_pnl`.
    pub(crate) fn equity(&self) -> Decimal {
        self.cash + self.margin_used() + self.unrealized_pnl()
    }

    /// `Σ |size| × mark / equity`; 0 when flat (and when equity is not positive, where the ratio
    /// has no meaning).
    pub(crate) fn leverage_ratio(&self, equity: Decimal) -> Decimal {
        if self.positions.is_empty() || equity <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let exposure: Decimal =
            self.positions.values().map(|m| m.position.quantity() * m.mark).sum();
        round_ledger(exposure / equity)
    }

    pub(crate) fn snapshot(&self, timestamp: i64) -> Snapshot {
        let unrealized_pnl = self.unrealized_pnl();
        let margin_used = self.margin_used();
        let portfolio_value = self.cash + margin_used + unrealized_pnl;
        Snapshot {
            timestamp,
            portfolio_value,
            cash: self.cash,
            unrealized_pnl,
            realized_pnl: self.realized_pnl + self.total_funding,
            margin_used,
            leverage_ratio: self.leverage_ratio(portfolio_value),
        }
    }
}
