//! `LedgerState`: the cash, the open positions and the running totals the invariant is made of.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::{Position, Symbol};

/// The mutable state of a portfolio. Every change goes through the trading, risk and funding
/// components, each of which keeps `cash + margin_used == initial_capital + realized_pnl +
/// total_funding` exactly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LedgerState {
    pub(crate) initial_capital: Decimal,
    pub(crate) cash: Decimal,
    pub(crate) positions: BTreeMap<Symbol, MarkedPosition>,
    /// Σ margin of the positions, summed again (in symbol order) after every change of a
    /// position, so it never drifts from the positions' own margins.
    pub(crate) margin_used: Decimal,
    /// Σ trade pnl (fees and clearance fees included).
    pub(crate) realized_pnl: Decimal,
    /// Σ funding payments (negative: paid).
    pub(crate) total_funding: Decimal,
    /// Σ fees.
    pub(crate) total_fees: Decimal,
}

/// A position together with the last price it was marked at (the last fill or bar close).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MarkedPosition {
    pub(crate) position: Position,
    pub(crate) mark: Decimal,
    /// The liquidation price, recomputed whenever the position changes (not on every bar).
    pub(crate) liquidation: Option<Decimal>,
}

impl MarkedPosition {
    pub(crate) fn new(position: Position, mark: Decimal, mmr: Decimal) -> Self {
        let liquidation = position.liquidation_price(mmr);
        Self { position, mark, liquidation }
    }

    /// Call after changing the position.
    pub(crate) fn refresh(&mut self, mark: Decimal, mmr: Decimal) {
        self.mark = mark;
        self.liquidation = self.position.liquidation_price(mmr);
    }
}

impl LedgerState {
    pub(crate) fn new(initial_capital: Decimal) -> Self {
        Self {
            initial_capital,
            cash: initial_capital,
            positions: BTreeMap::new(),
            margin_used: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            total_funding: Decimal::ZERO,
            total_fees: Decimal::ZERO,
        }
    }

    pub(crate) fn margin_used(&self) -> Decimal {
        self.margin_used
    }

    /// Sums the positions' margins again; call after any position changed.
    pub(crate) fn resum_margin(&mut self) {
        self.margin_used = self.positions.values().map(|p| p.position.margin()).sum();
    }

    /// Books a fill's effect on cash: `cash_delta` to cash, `pnl` to realized PnL, `fee` to fees.
    pub(crate) fn book(&mut self, cash_delta: Decimal, pnl: Decimal, fee: Decimal) {
        self.cash += cash_delta;
        self.realized_pnl += pnl;
        self.total_fees += fee;
    }
}
