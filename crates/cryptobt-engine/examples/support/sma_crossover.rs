//! A native Rust SMA(fast/slow) crossover: buy `quantity` when the fast mean crosses above the
//! slow one, close when it crosses below; optionally with a stop-loss / take-profit bracket on
//! each entry, filled inside the bar by the engine. Shared by the example and the bench.

use cryptobt_domain::{
    money::decimal_to_f64,
    ports::{SharedContext, Strategy, StrategyError},
    Bar, ExitKind, OrderSide,
};
use cryptobt_indicators::Sma;
use rust_decimal::Decimal;

/// The crossover strategy.
pub(crate) struct SmaCrossover {
    fast: Sma,
    slow: Sma,
    above: Option<bool>,
    quantity: Decimal,
    /// Stop-loss and take-profit distances as fractions of the entry close.
    bracket: Option<(Decimal, Decimal)>,
}

impl SmaCrossover {
    /// Fast and slow periods, and the order size in base units.
    pub(crate) fn new(fast: usize, slow: usize, quantity: Decimal) -> Self {
        Self { fast: Sma::new(fast), slow: Sma::new(slow), above: None, quantity, bracket: None }
    }

    /// Protects each entry with a stop-loss `stop` below and a take-profit `target` above the
    /// entry close (fractions, e.g. 0.02 and 0.04).
    #[allow(dead_code, reason = "the bench runs the plain crossover")]
    pub(crate) fn with_bracket(mut self, stop: Decimal, target: Decimal) -> Self {
        self.bracket = Some((stop, target));
        self
    }
}

impl Strategy for SmaCrossover {
    fn on_bar(&mut self, bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError> {
        let close = decimal_to_f64(bar.close);
        let (Some(fast), Some(slow)) = (self.fast.update(close), self.slow.update(close)) else {
            return Ok(());
        };
        let above = fast > slow;
        let symbol = ctx.symbol();
        if self.above.is_some_and(|was| was != above) {
            // A refused order is an event of the run, not an error of the strategy.
            let _ = if above && ctx.position_size(symbol).is_zero() {
                let entered = ctx.submit(symbol, OrderSide::Buy, self.quantity, Decimal::ONE);
                if let (Ok(()), Some((stop, target))) = (&entered, self.bracket) {
                    let price = bar.close;
                    let _ = ctx.set_exit(
                        symbol,
                        ExitKind::StopLoss,
                        Some(price * (Decimal::ONE - stop)),
                    );
                    let _ = ctx.set_exit(
                        symbol,
                        ExitKind::TakeProfit,
                        Some(price * (Decimal::ONE + target)),
                    );
                }
                entered
            } else if above {
                Ok(())
            } else if ctx.position_size(symbol) > Decimal::ZERO {
                ctx.close_position(symbol, Decimal::ONE_HUNDRED)
            } else {
                Ok(())
            };
        }
        self.above = Some(above);
        Ok(())
    }
}
