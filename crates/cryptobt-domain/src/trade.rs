//! What a run records: fills (`Trade`), `FundingPayment`s and equity `Snapshot`s.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Symbol;

/// The direction of a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionType {
    /// Positive size: gains when the price rises.
    Long,
    /// Negative size: gains when the price falls.
    Short,
}

impl PositionType {
    /// +1 for long, −1 for short: the `side` of the PnL formulas.
    #[must_use]
    pub fn sign(self) -> Decimal {
        match self {
            Self::Long => Decimal::ONE,
            Self::Short => Decimal::NEGATIVE_ONE,
        }
    }

    /// The name used in files and JSON (`long`, `short`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Long => "long",
            Self::Short => "short",
        }
    }
}

impl fmt::Display for PositionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a fill did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionType {
    /// A buy order's fill.
    Buy,
    /// A sell order's fill.
    Sell,
    /// A forced close at the liquidation price.
    Liquidation,
}

impl ActionType {
    /// The name used in files and JSON (`buy`, `sell`, `liquidation`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
            Self::Liquidation => "liquidation",
        }
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of order a fill came from (`trades.csv`'s `order_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    /// `buy`, `sell` or `close_position`.
    #[default]
    Market,
    /// A limit order.
    Limit,
    /// A stop (stop-market) order.
    Stop,
    /// The position's stop-loss.
    StopLoss,
    /// The position's take-profit.
    TakeProfit,
    /// The position's trailing stop.
    TrailingStop,
    /// A forced close at the liquidation price.
    Liquidation,
}

impl OrderType {
    /// Every order type.
    pub const ALL: [Self; 7] = [
        Self::Market,
        Self::Limit,
        Self::Stop,
        Self::StopLoss,
        Self::TakeProfit,
        Self::TrailingStop,
        Self::Liquidation,
    ];

    /// The name used in files and JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Market => "market",
            Self::Limit => "limit",
            Self::Stop => "stop",
            Self::StopLoss => "stop_loss",
            Self::TakeProfit => "take_profit",
            Self::TrailingStop => "trailing_stop",
            Self::Liquidation => "liquidation",
        }
    }
}

impl fmt::Display for OrderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One fill, in the original spec's fields (the columns of `trades.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// Bar time of the fill, Unix milliseconds UTC.
    pub timestamp: i64,
    /// Buy, sell or liquidation.
    pub action: ActionType,
    /// The traded symbol.
    pub symbol: Symbol,
    /// Base-asset quantity, always positive.
    pub quantity: Decimal,
    /// Fill price (slippage included; the liquidation price for a liquidation).
    pub price: Decimal,
    /// The order's leverage for a fill that opens or adds; the position's effective leverage
    /// `|size| × entry / margin` for one that reduces, closes or liquidates.
    pub leverage: Decimal,
    /// Fee charged for this fill (the clearance fee for a liquidation).
    pub fee: Decimal,
    /// The position the fill belongs to: the one opened or added to, or the one reduced.
    pub position_type: PositionType,
    /// Realized PnL of the fill net of its fee: `gross − fee` (`−fee` for an opening fill,
    /// `−margin` for a liquidation).
    pub pnl: Decimal,
    /// The kind of order filled.
    #[serde(default)]
    pub order_type: OrderType,
    /// The order's tag (pending orders only), at most 32 bytes.
    #[serde(default)]
    pub tag: Option<String>,
    /// Whether the fill was made in an ambiguous bar (docs/design.md#the-bar-loop step 2).
    #[serde(default)]
    pub ambiguous: bool,
}

impl Trade {
    /// Whether the fill reduced, closed or liquidated a position (as opposed to opening or
    /// adding to one).
    #[must_use]
    pub fn is_closing(&self) -> bool {
        match (self.action, self.position_type) {
            (ActionType::Liquidation, _)
            | (ActionType::Sell, PositionType::Long)
            | (ActionType::Buy, PositionType::Short) => true,
            (ActionType::Buy, PositionType::Long) | (ActionType::Sell, PositionType::Short) => {
                false
            }
        }
    }
}

/// One funding settlement of an open futures position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingPayment {
    /// The funding time (00:00, 08:00 or 16:00 UTC), Unix milliseconds.
    pub timestamp: i64,
    /// The position's symbol.
    pub symbol: Symbol,
    /// The rate applied.
    pub rate: Decimal,
    /// The price the position was valued at (the open of the bar that settled it).
    pub price: Decimal,
    /// The signed position size at settlement.
    pub position_size: Decimal,
    /// The cash change: `−size × price × rate` (negative: paid).
    pub amount: Decimal,
}

/// The portfolio at a bar's close (the columns of `portfolio.csv`).
///
/// The leverage ratio is derived on demand from `exposure` ([`Snapshot::leverage_ratio`]): a
/// `Decimal` division per bar would cost more than the rest of the bar loop. It is written
/// wherever a snapshot is (JSON, `portfolio.csv`) in the column order of docs/results.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Bar open time, Unix milliseconds UTC.
    pub timestamp: i64,
    /// Equity: `cash + margin_used + unrealized_pnl`.
    pub portfolio_value: Decimal,
    /// Free cash.
    pub cash: Decimal,
    /// `(close − entry) × size` summed over positions.
    pub unrealized_pnl: Decimal,
    /// `Σ trade pnl + Σ funding` so far.
    pub realized_pnl: Decimal,
    /// Margin locked in positions (the cost basis in spot).
    pub margin_used: Decimal,
    /// `Σ |size| × close` over positions (0 when flat).
    pub exposure: Decimal,
}

impl Snapshot {
    /// `|size| × close / equity`; 0 when flat or when equity is not
    /// positive.
    #[must_use]
    pub fn leverage_ratio(&self) -> Decimal {
        if self.exposure.is_zero() || self.portfolio_value <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        self.exposure.checked_div(self.portfolio_value).unwrap_or(Decimal::ZERO)
    }
}

impl Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Snapshot", 7)?;
        s.serialize_field("timestamp", &self.timestamp)?;
        s.serialize_field("portfolio_value", &self.portfolio_value)?;
        s.serialize_field("cash", &self.cash)?;
        s.serialize_field("unrealized_pnl", &self.unrealized_pnl)?;
        s.serialize_field("realized_pnl", &self.realized_pnl)?;
        s.serialize_field("margin_used", &self.margin_used)?;
        s.serialize_field("leverage_ratio", &self.leverage_ratio())?;
        s.end()
    }
}
