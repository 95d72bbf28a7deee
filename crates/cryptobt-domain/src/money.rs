//! Money rules shared by every ledger computation: the ledger scale and the f64 conversion.
//!
//! Every amount the ledger derives by multiplication or division (a margin, a fee, a released
//! margin, a gross PnL, a funding payment, a weighted entry price, a liquidation price) is rounded
//! half-to-even to [`LEDGER_SCALE`] decimal places. Sums and differences of such amounts are then
//! exact, which is what keeps `cash + margin_used == initial_capital + Σ pnl + Σ funding` true to
//! the last digit: without the rounding a 28-digit quotient added to a large balance would be
//! rounded by `Decimal` itself, differently on each side of the equation.

use rust_decimal::{Decimal, RoundingStrategy};

/// Decimal places kept by every derived ledger amount (10⁻¹² USDT).
pub const LEDGER_SCALE: u32 = 12;

/// Rounds a derived ledger amount to [`LEDGER_SCALE`] places, half to even.
#[must_use]
pub fn round_ledger(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(LEDGER_SCALE, RoundingStrategy::MidpointNearestEven)
}

/// Converts an f64 (a quantity or price handed over by a strategy) into the shortest decimal that
/// round-trips it, i.e. exactly what `format!("{}", x)` prints: `0.1` becomes `0.1`, not
/// `0.1000000000000000055511151231257827`.
///
/// Returns `None` for NaN, infinities and values `Decimal` cannot hold (beyond about 7.9e28, or
/// more than 28 decimal places, such as `1e-30`).
#[must_use]
pub fn decimal_from_f64(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    // `Display` for f64 prints the shortest round-trip representation without an exponent.
    let text = value.to_string();
    let parsed = Decimal::from_str_exact(&text).ok()?;
    Some(parsed.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[track_caller]
    fn check(input: f64, expect: Option<Decimal>) {
        assert_eq!(decimal_from_f64(input), expect, "input {input:?}");
    }

    #[test]
    fn f64_becomes_its_shortest_decimal() {
        check(0.1, Some(dec!(0.1)));
        check(0.3, Some(dec!(0.3)));
        check(0.1 + 0.2, Some(dec!(0.30000000000000004)));
        check(42000.0, Some(dec!(42000)));
        check(-1.5, Some(dec!(-1.5)));
        check(1e-7, Some(dec!(0.0000001)));
        check(123456.789, Some(dec!(123456.789)));
    }

    #[test]
    fn unrepresentable_f64_is_refused() {
        check(f64::NAN, None);
        check(f64::INFINITY, None);
        check(f64::NEG_INFINITY, None);
        check(1e30, None);
        check(1e-30, None);
    }

    #[test]
    fn rounding_is_half_even_at_twelve_places() {
        assert_eq!(round_ledger(dec!(1.0000000000005)), dec!(1.000000000000));
        assert_eq!(round_ledger(dec!(1.0000000000015)), dec!(1.000000000002));
        assert_eq!(round_ledger(dec!(2.5)), dec!(2.5));
        // 18900 / 0.498, the liquidation price of notes §7.1.
        assert_eq!(round_ledger(dec!(18900) / dec!(0.498)), dec!(37951.807228915663));
    }
}
