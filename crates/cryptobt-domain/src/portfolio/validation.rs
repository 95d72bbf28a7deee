//! Order checks made before anything changes, and `Rejection`, the reason an order was refused.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::PortfolioRules;
use crate::{money::decimal_from_f64, ActionType, PositionType, TradingMode};

/// The direction of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSide {
    /// Buy: opens or adds to a long, reduces a short.
    Buy,
    /// Sell: opens or adds to a short (futures), reduces a long.
    Sell,
}

impl OrderSide {
    /// The position direction this side opens.
    #[must_use]
    pub fn opens(self) -> PositionType {
        match self {
            Self::Buy => PositionType::Long,
            Self::Sell => PositionType::Short,
        }
    }

    /// The side that reduces a position of `side`.
    #[must_use]
    pub fn closing(side: PositionType) -> Self {
        match side {
            PositionType::Long => Self::Sell,
            PositionType::Short => Self::Buy,
        }
    }

    pub(crate) fn action(self) -> ActionType {
        match self {
            Self::Buy => ActionType::Buy,
            Self::Sell => ActionType::Sell,
        }
    }
}

impl fmt::Display for OrderSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        })
    }
}

/// Why an order was refused. A refused order changes nothing; the strategy gets `false` and this
/// reason's message, and the run counts it by [`Rejection::code`].
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    /// NaN, infinite, zero, negative or not a number.
    #[error("amount must be a finite number greater than 0, got {value}")]
    InvalidQuantity {
        /// The amount as received.
        value: String,
    },
    /// Below `MIN_TRADE_SIZE`.
    #[error("amount {value} is below the minimum trade size {min}")]
    BelowMinSize {
        /// The amount as received.
        value: String,
        /// The limit.
        min: Decimal,
    },
    /// Above `MAX_TRADE_SIZE`.
    #[error("amount {value} is above the maximum trade size {max}")]
    AboveMaxSize {
        /// The amount as received.
        value: String,
        /// The limit.
        max: Decimal,
    },
    /// Leverage outside `1..=max_leverage` (or not 1 in spot).
    #[error("leverage {value} is out of range: {mode} allows 1 to {max}")]
    InvalidLeverage {
        /// The leverage as received.
        value: String,
        /// The trading mode.
        mode: TradingMode,
        /// The run's `max_leverage`.
        max: Decimal,
    },
    /// `close_position` percentage outside `0 < pct ≤ 100`.
    #[error("percentage must be greater than 0 and at most 100, got {value}")]
    InvalidPercentage {
        /// The percentage as received.
        value: String,
    },
    /// A partial close whose quantity is below `MIN_TRADE_SIZE`.
    #[error("closing {percentage}% gives {quantity}, below the minimum trade size {min}")]
    PartialCloseTooSmall {
        /// The percentage asked for.
        percentage: Decimal,
        /// The quantity it gives.
        quantity: Decimal,
        /// The limit.
        min: Decimal,
    },
    /// Not enough free cash for the margin (cost in spot) and the fee.
    #[error("insufficient funds: the order needs {required} USDT, {available} available")]
    InsufficientFunds {
        /// Margin plus fee of the opening part.
        required: Decimal,
        /// Cash available to it.
        available: Decimal,
    },
    /// A spot sell larger than the long held.
    #[error("short selling is not allowed in spot mode: sell {quantity} exceeds the {held} held")]
    SpotShort {
        /// The sell quantity.
        quantity: Decimal,
        /// The long held.
        held: Decimal,
    },
    /// `close_position` while flat.
    #[error("no open position to close")]
    NoPosition,
    /// An order before the first bar (in `initialize`), where there is no price to fill at.
    #[error("orders need a price: none exists before the first bar (in initialize)")]
    NoPrice,
    /// Opening one more symbol would exceed the position limit.
    #[error("position limit reached: at most {max} open positions")]
    TooManyPositions {
        /// The limit.
        max: usize,
    },
    /// Quantity × price does not fit a `Decimal`.
    #[error("order notional of {quantity} at {price} is too large to compute")]
    Overflow {
        /// The quantity.
        quantity: Decimal,
        /// The price.
        price: Decimal,
    },
    /// More orders in one bar than the run allows.
    #[error("order limit reached: at most {max} orders per bar")]
    OrdersPerBarExceeded {
        /// The limit.
        max: u32,
    },
    /// A limit price, stop trigger or exit level that is not a number greater than 0.
    #[error("{what} must be a finite number greater than 0, got {value}")]
    InvalidPrice {
        /// Which value (`price`, `trigger`, `stop_loss`...).
        what: String,
        /// The value as received.
        value: String,
    },
    /// A bad `opts` table or option.
    #[error("invalid order options: {reason}")]
    InvalidOption {
        /// What is wrong.
        reason: String,
    },
    /// Placing one more order would exceed the pending-order limit.
    #[error("pending order limit reached: at most {max} orders may wait at once")]
    TooManyOrders {
        /// The limit.
        max: usize,
    },
    /// A reduce-only order found no opposite position to reduce when it fired.
    #[error("reduce-only order cancelled: no opposite position to reduce when it fired")]
    ReduceOnly,
    /// An exit on the wrong side of the current price (a long's stop-loss at or above it...).
    #[error("{what} {level} must be {wanted} the current price {price} for a {side} position")]
    ExitSide {
        /// `stop_loss` or `take_profit`.
        what: String,
        /// The level asked for.
        level: Decimal,
        /// `below` or `above`.
        wanted: String,
        /// The last close.
        price: Decimal,
        /// The position's side.
        side: PositionType,
    },
    /// A trailing distance outside `0 < d < 1`.
    #[error("trailing distance must be a fraction between 0 and 1 (exclusive), got {value}")]
    InvalidDistance {
        /// The distance as received.
        value: String,
    },
    /// `cancel_order` of an id that is not pending.
    #[error("no pending order with id {id}")]
    UnknownOrder {
        /// The id asked for.
        id: String,
    },
}

impl Rejection {
    /// A stable snake_case code for counting rejections in the report.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidQuantity { .. } => "invalid_quantity",
            Self::BelowMinSize { .. } => "below_min_size",
            Self::AboveMaxSize { .. } => "above_max_size",
            Self::InvalidLeverage { .. } => "invalid_leverage",
            Self::InvalidPercentage { .. } => "invalid_percentage",
            Self::PartialCloseTooSmall { .. } => "partial_close_too_small",
            Self::InsufficientFunds { .. } => "insufficient_funds",
            Self::SpotShort { .. } => "spot_short",
            Self::NoPosition => "no_position",
            Self::NoPrice => "no_price",
            Self::TooManyPositions { .. } => "too_many_positions",
            Self::Overflow { .. } => "overflow",
            Self::OrdersPerBarExceeded { .. } => "orders_per_bar",
            Self::InvalidPrice { .. } => "invalid_price",
            Self::InvalidOption { .. } => "invalid_option",
            Self::TooManyOrders { .. } => "too_many_orders",
            Self::ReduceOnly => "reduce_only",
            Self::ExitSide { .. } => "exit_side",
            Self::InvalidDistance { .. } => "invalid_distance",
            Self::UnknownOrder { .. } => "unknown_order",
        }
    }
}

impl PortfolioRules {
    /// Checks an order quantity against `0 < q`, the minimum and the maximum trade size.
    ///
    /// # Errors
    /// The matching [`Rejection`].
    pub fn check_quantity(&self, quantity: Decimal) -> Result<Decimal, Rejection> {
        if quantity <= Decimal::ZERO {
            return Err(Rejection::InvalidQuantity { value: quantity.to_string() });
        }
        if quantity < self.limits.min_trade_size {
            return Err(Rejection::BelowMinSize {
                value: quantity.to_string(),
                min: self.limits.min_trade_size,
            });
        }
        if quantity > self.limits.max_trade_size {
            return Err(Rejection::AboveMaxSize {
                value: quantity.to_string(),
                max: self.limits.max_trade_size,
            });
        }
        Ok(quantity)
    }

    /// Converts a strategy's f64 amount into the decimal the ledger checks, by the
    /// shortest-decimal rule (docs/design.md#money). Only the conversion is made here: the size limits are checked
    /// once, by [`Portfolio::submit`](super::Portfolio::submit), when the order fills (at the call
    /// with `fill = close`, at the next open with `fill = next_open`).
    ///
    /// # Errors
    /// [`Rejection::InvalidQuantity`] for NaN and ±∞; a value no `Decimal` holds is refused as
    /// above the maximum (beyond about 7.9e28) or below the minimum (more than 28 decimals).
    pub fn quantity_from_f64(&self, amount: f64) -> Result<Decimal, Rejection> {
        if !amount.is_finite() {
            return Err(Rejection::InvalidQuantity { value: amount.to_string() });
        }
        decimal_from_f64(amount).ok_or_else(|| {
            if amount.abs() > 1.0 {
                Rejection::AboveMaxSize {
                    value: amount.to_string(),
                    max: self.limits.max_trade_size,
                }
            } else {
                Rejection::BelowMinSize {
                    value: amount.to_string(),
                    min: self.limits.min_trade_size,
                }
            }
        })
    }

    /// Checks an order leverage: exactly 1 in spot, `1..=max_leverage` in futures.
    ///
    /// # Errors
    /// [`Rejection::InvalidLeverage`] naming the value and the allowed range.
    pub fn check_leverage(&self, leverage: Decimal) -> Result<Decimal, Rejection> {
        let valid = match self.mode {
            TradingMode::Spot => leverage == Decimal::ONE,
            TradingMode::Futures => (Decimal::ONE..=self.max_leverage).contains(&leverage),
        };
        if valid {
            Ok(leverage)
        } else {
            Err(self.leverage_rejection(leverage.to_string()))
        }
    }

    /// Converts a strategy's f64 leverage (the range is checked at the fill, like the amount).
    ///
    /// # Errors
    /// [`Rejection::InvalidLeverage`] for NaN, ±∞ and values no `Decimal` holds.
    pub fn leverage_from_f64(&self, leverage: f64) -> Result<Decimal, Rejection> {
        decimal_from_f64(leverage).ok_or_else(|| self.leverage_rejection(leverage.to_string()))
    }

    fn leverage_rejection(&self, value: String) -> Rejection {
        Rejection::InvalidLeverage { value, mode: self.mode, max: self.max_leverage }
    }

    /// Checks a `close_position` percentage: `0 < pct ≤ 100`.
    ///
    /// # Errors
    /// [`Rejection::InvalidPercentage`] naming the value.
    pub fn check_percentage(&self, percentage: Decimal) -> Result<Decimal, Rejection> {
        if percentage <= Decimal::ZERO || percentage > Decimal::ONE_HUNDRED {
            return Err(Rejection::InvalidPercentage { value: percentage.to_string() });
        }
        Ok(percentage)
    }

    /// Converts a strategy's f64 percentage (the range is checked at the fill, like the amount).
    ///
    /// # Errors
    /// [`Rejection::InvalidPercentage`] for NaN, ±∞ and values no `Decimal` holds.
    pub fn percentage_from_f64(&self, percentage: f64) -> Result<Decimal, Rejection> {
        decimal_from_f64(percentage)
            .ok_or_else(|| Rejection::InvalidPercentage { value: percentage.to_string() })
    }
}
