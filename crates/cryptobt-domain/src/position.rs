//! `Position`: one open position of a symbol, with its isolated margin.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    config::LEVERAGE_CAP, ActionType, DomainError, PositionType, Symbol, Trade, TradingMode,
};

/// An open position: signed size (long > 0, short < 0), average entry and the margin locked
/// for it (in spot, its cost basis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    symbol: Symbol,
    size: Decimal,
    entry_price: Decimal,
    margin: Decimal,
    opened_at: i64,
}

impl Position {
    /// Opens a long of `quantity` at `entry_price` with `leverage`, locking
    /// `quantity × entry_price / leverage` of margin.
    ///
    /// # Errors
    /// [`DomainError::InvalidPosition`] for a non-positive quantity or entry price, or a leverage
    /// outside 1..=100 (exactly 1 in spot).
    pub fn long(
        symbol: Symbol,
        quantity: Decimal,
        entry_price: Decimal,
        leverage: Decimal,
        mode: TradingMode,
        opened_at: i64,
    ) -> Result<Self, DomainError> {
        Self::open(symbol, PositionType::Long, quantity, entry_price, leverage, mode, opened_at)
    }

    /// Opens a short; see [`Position::long`].
    ///
    /// # Errors
    /// As [`Position::long`], and always in spot, where shorts do not exist.
    pub fn short(
        symbol: Symbol,
        quantity: Decimal,
        entry_price: Decimal,
        leverage: Decimal,
        mode: TradingMode,
        opened_at: i64,
    ) -> Result<Self, DomainError> {
        Self::open(symbol, PositionType::Short, quantity, entry_price, leverage, mode, opened_at)
    }

    /// The position an opening fill creates: a buy opens a long, a sell a short.
    ///
    /// # Errors
    /// As [`Position::long`] / [`Position::short`]; a liquidation fill opens nothing.
    pub fn from_fill(trade: &Trade, mode: TradingMode) -> Result<Self, DomainError> {
        let side = match trade.action {
            ActionType::Buy => PositionType::Long,
            ActionType::Sell => PositionType::Short,
            ActionType::Liquidation => {
                return Err(DomainError::position(
                    "action",
                    "liquidation",
                    "a liquidation closes a position, it cannot open one",
                ))
            }
        };
        Self::open(
            trade.symbol,
            side,
            trade.quantity,
            trade.price,
            trade.leverage,
            mode,
            trade.timestamp,
        )
    }

    fn open(
        symbol: Symbol,
        side: PositionType,
        quantity: Decimal,
        entry_price: Decimal,
        leverage: Decimal,
        mode: TradingMode,
        opened_at: i64,
    ) -> Result<Self, DomainError> {
        if quantity <= Decimal::ZERO {
            return Err(DomainError::position("quantity", quantity, "must be positive"));
        }
        if entry_price <= Decimal::ZERO {
            return Err(DomainError::position("entry_price", entry_price, "must be positive"));
        }
        match mode {
            TradingMode::Spot if leverage != Decimal::ONE => {
                return Err(DomainError::position("leverage", leverage, "must be 1 in spot"))
            }
            TradingMode::Spot if side == PositionType::Short => {
                return Err(DomainError::position(
                    "side",
                    "short",
                    "short positions need futures mode",
                ))
            }
            TradingMode::Futures if !(Decimal::ONE..=LEVERAGE_CAP).contains(&leverage) => {
                return Err(DomainError::position(
                    "leverage",
                    leverage,
                    "must be between 1 and 100",
                ))
            }
            _ => {}
        }
        let notional = quantity
            .checked_mul(entry_price)
            .ok_or_else(|| DomainError::position("quantity", quantity, "notional overflows"))?;
        let margin = notional / leverage;
        Ok(Self::from_parts(symbol, quantity * side.sign(), entry_price, margin, opened_at))
    }

    /// Rebuilds a position from its parts without the checks of an opening fill (the ledger
    /// uses this after adds, where the margin is the sum of several fills' margins).
    pub(crate) fn from_parts(
        symbol: Symbol,
        size: Decimal,
        entry_price: Decimal,
        margin: Decimal,
        opened_at: i64,
    ) -> Self {
        Self { symbol, size, entry_price, margin, opened_at }
    }

    /// The position's symbol.
    #[must_use]
    pub fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Signed size: long > 0, short < 0.
    #[must_use]
    pub fn size(&self) -> Decimal {
        self.size
    }

    /// Absolute size `|size|`.
    #[must_use]
    pub fn quantity(&self) -> Decimal {
        self.size.abs()
    }

    /// Long or short.
    #[must_use]
    pub fn side(&self) -> PositionType {
        if self.size.is_sign_negative() {
            PositionType::Short
        } else {
            PositionType::Long
        }
    }

    /// Quantity-weighted average entry price.
    #[must_use]
    pub fn entry_price(&self) -> Decimal {
        self.entry_price
    }

    /// Margin locked for the position (its isolated wallet; the cost basis in spot).
    #[must_use]
    pub fn margin(&self) -> Decimal {
        self.margin
    }

    /// Time of the fill that opened it.
    #[must_use]
    pub fn opened_at(&self) -> i64 {
        self.opened_at
    }

    /// `(price − entry) × size`.
    #[must_use]
    pub fn unrealized_pnl(&self, price: Decimal) -> Decimal {
        (price - self.entry_price) * self.size
    }

    /// Effective leverage `|size| × entry / margin` (exactly 1 in spot, whose only leverage is 1).
    #[must_use]
    pub fn effective_leverage(&self, mode: TradingMode) -> Decimal {
        match mode {
            TradingMode::Spot => Decimal::ONE,
            TradingMode::Futures if self.margin.is_zero() => Decimal::ZERO,
            TradingMode::Futures => self.quantity() * self.entry_price / self.margin,
        }
    }

    pub(crate) fn set(&mut self, size: Decimal, entry_price: Decimal, margin: Decimal) {
        self.size = size;
        self.entry_price = entry_price;
        self.margin = margin;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn btc() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    #[test]
    fn long_locks_notional_over_leverage() {
        let p = Position::long(btc(), dec!(0.5), dec!(42000), dec!(10), TradingMode::Futures, 7)
            .unwrap();
        assert_eq!(p.size(), dec!(0.5));
        assert_eq!(p.margin(), dec!(2100));
        assert_eq!(p.side(), PositionType::Long);
        assert_eq!(p.effective_leverage(TradingMode::Futures), dec!(10));
        assert_eq!(p.unrealized_pnl(dec!(39000)), dec!(-1500));
        assert_eq!(p.opened_at(), 7);
    }

    #[test]
    fn short_is_negative_and_gains_when_price_falls() {
        let p =
            Position::short(btc(), dec!(2), dec!(2500), dec!(20), TradingMode::Futures, 0).unwrap();
        assert_eq!(p.size(), dec!(-2));
        assert_eq!(p.margin(), dec!(250));
        assert_eq!(p.unrealized_pnl(dec!(2400)), dec!(200));
    }

    #[test]
    fn spot_positions_are_fully_paid_longs() {
        let p =
            Position::long(btc(), dec!(0.5), dec!(42000), dec!(1), TradingMode::Spot, 0).unwrap();
        assert_eq!(p.margin(), dec!(21000));
        let short = Position::short(btc(), dec!(1), dec!(100), dec!(1), TradingMode::Spot, 0);
        assert!(short.unwrap_err().to_string().contains("short"));
        let levered = Position::long(btc(), dec!(1), dec!(100), dec!(2), TradingMode::Spot, 0);
        assert!(levered.unwrap_err().to_string().contains("leverage 2"));
    }

    #[test]
    fn creation_is_validated() {
        let f = TradingMode::Futures;
        let cases = [
            (dec!(1), dec!(0), dec!(1), "entry_price 0"),
            (dec!(1), dec!(-5), dec!(1), "entry_price -5"),
            (dec!(0), dec!(5), dec!(1), "quantity 0"),
            (dec!(1), dec!(5), dec!(0.5), "leverage 0.5"),
            (dec!(1), dec!(5), dec!(101), "leverage 101"),
        ];
        for (qty, price, lev, needle) in cases {
            let err = Position::long(btc(), qty, price, lev, f, 0).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn from_fill_follows_the_action() {
        let trade = Trade {
            timestamp: 1,
            action: ActionType::Sell,
            symbol: btc(),
            quantity: dec!(2),
            price: dec!(2500),
            leverage: dec!(20),
            fee: dec!(2.5),
            position_type: PositionType::Short,
            pnl: dec!(-2.5),
            order_type: crate::OrderType::Market,
            tag: None,
            ambiguous: false,
        };
        let p = Position::from_fill(&trade, TradingMode::Futures).unwrap();
        assert_eq!((p.size(), p.margin()), (dec!(-2), dec!(250)));
        assert!(Position::from_fill(&trade, TradingMode::Spot).is_err());
        let liq = Trade { action: ActionType::Liquidation, ..trade };
        assert!(Position::from_fill(&liq, TradingMode::Futures).is_err());
    }
}
