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
    if value.scale() <= LEDGER_SCALE {
        return value; // nothing to round, and this is the common case on the per-bar path
    }
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

/// Exact powers of ten as f64 (every one up to 10²² is representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `value` as an f64 (what a strategy sees of a price, and what display statistics use).
///
/// With a mantissa below 2⁵³ and at most 22 decimals — every price in the data — the result is
/// the nearest f64: one exact integer-to-float step and one correctly rounded division by an
/// exact power of ten. A longer mantissa (a ledger amount with 12 decimals) takes one more
/// rounding, so it can be one unit in the last place off; anything beyond 22 decimals takes
/// `Decimal`'s own conversion.
#[must_use]
pub fn decimal_to_f64(value: Decimal) -> f64 {
    const EXACT: i128 = 1 << 53;
    let mantissa = value.mantissa();
    let scale = value.scale() as usize;
    if mantissa.abs() < EXACT && scale < POW10.len() {
        // Below 2⁵³ the i64 → f64 step is exact (and one instruction, unlike i128 → f64).
        return mantissa as i64 as f64 / POW10[scale];
    }
    if scale < POW10.len() {
        return mantissa as f64 / POW10[scale];
    }
    rust_decimal::prelude::ToPrimitive::to_f64(&value).unwrap_or(f64::NAN)
}

/// Appends `value` to `out` in plain notation without trailing zeros (`93576.00` → `93576`,
/// `-0.50` → `-0.5`), the form every CSV of the project uses. Same text as
/// `value.normalize().to_string()`, several times faster (no formatter machinery): the
/// `portfolio.csv` of a long run writes six of these per bar.
pub fn write_plain(out: &mut String, value: Decimal) {
    let mantissa = value.mantissa();
    if mantissa < 0 {
        out.push('-');
    }
    // Digit by digit in u64 when the mantissa fits (always for prices and ledger amounts below
    // about 10⁷ with 12 decimals): 128-bit division is a slow library call.
    let mut digits = [0u8; 40];
    let mut scale = value.scale() as usize;
    let magnitude = mantissa.unsigned_abs();
    let len = match u64::try_from(magnitude) {
        Ok(n) => decimal_digits(n, &mut scale, &mut digits),
        Err(_) => decimal_digits(magnitude, &mut scale, &mut digits),
    };
    if len == 0 {
        if mantissa < 0 {
            out.pop();
        }
        out.push('0');
        return;
    }
    if len <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - len));
        out.extend(digits[..len].iter().rev().map(|d| char::from(*d)));
        return;
    }
    for (i, d) in digits[..len].iter().rev().enumerate() {
        if i == len - scale {
            out.push('.');
        }
        out.push(char::from(*d));
    }
}

/// Writes the decimal digits of `n` into `digits` (least significant first) after dropping
/// trailing zeros while `scale` allows; returns how many digits there are (0 for zero).
fn decimal_digits<T>(mut n: T, scale: &mut usize, digits: &mut [u8; 40]) -> usize
where
    T: Copy + PartialEq + std::ops::Rem<Output = T> + std::ops::DivAssign + From<u8> + TryInto<u8>,
{
    let (zero, ten) = (T::from(0), T::from(10));
    while *scale > 0 && n != zero && n % ten == zero {
        n /= ten;
        *scale -= 1;
    }
    let mut len = 0;
    while n != zero {
        digits[len] = b'0' + (n % ten).try_into().unwrap_or(0);
        n /= ten;
        len += 1;
    }
    len
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
    fn decimals_become_the_nearest_f64() {
        for text in [
            "94230.2",
            "0.1",
            "0.3",
            "93576.00000000",
            "-1.5",
            "0.00001",
            "123456789.123456789",
            "0",
        ] {
            let d: Decimal = text.parse().unwrap();
            assert_eq!(decimal_to_f64(d), text.parse::<f64>().unwrap(), "{text}");
        }
        // A 28-digit amount: within one unit in the last place.
        let big: Decimal = "1234567890.123456789012345678".parse().unwrap();
        assert!((decimal_to_f64(big) - 1234567890.1234567).abs() <= f64::EPSILON * 1234567890.0);
    }

    #[test]
    fn plain_text_matches_normalized_display() {
        for text in [
            "93576.00000000",
            "0",
            "-0.50",
            "0.00001",
            "123.4560",
            "1000",
            "-1234567.000000000001",
            "0.000000000001",
            "79228162514264337593543950335",
        ] {
            let d: Decimal = text.parse().unwrap();
            let mut out = String::new();
            write_plain(&mut out, d);
            assert_eq!(out, d.normalize().to_string(), "{text}");
        }
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
