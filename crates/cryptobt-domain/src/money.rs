//! Money rules shared by every ledger computation: the f64 conversions and the plain text form.
//!
//! Ledger amounts are never rounded to a number of places (docs/design.md, "Money"): margins,
//! fees, gross PnL, entries and cash keep whatever `Decimal` arithmetic gives, whose own
//! 28-digit limit is the only rounding.

use rust_decimal::Decimal;

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
    // `Display` for f64 prints the shortest round-trip representation without an exponent;
    // written into a stack buffer (this runs for every price a strategy hands over).
    let mut buffer = StackText::default();
    if std::fmt::Write::write_fmt(&mut buffer, format_args!("{value}")).is_err() {
        // Longer than the buffer (|x| ≥ 1e40 or a tiny number with many zeros): no `Decimal`
        // holds more than 28 decimal digits and 7.9e28, so nothing is lost by the heap path.
        return Decimal::from_str_exact(&value.to_string()).ok().map(|d| d.normalize());
    }
    let parsed = Decimal::from_str_exact(buffer.as_str()).ok()?;
    Some(parsed.normalize())
}

/// Serde for an optional `Decimal` written as a JSON number: the nearest f64 of the exact value
/// ([`decimal_to_f64`], correctly rounded, unlike `rust_decimal`'s own float conversion for long
/// mantissas); read back as the shortest decimal of that f64.
pub mod f64_option {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `value` as the nearest f64, or null.
    ///
    /// # Errors
    /// The serializer's.
    #[allow(clippy::ref_option, reason = "the signature serde's `with` calls")]
    pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_f64(super::decimal_to_f64(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads a number (or null) back.
    ///
    /// # Errors
    /// A number no `Decimal` holds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|x| {
                super::decimal_from_f64(x)
                    .ok_or_else(|| serde::de::Error::custom(format!("{x} is not a decimal")))
            })
            .transpose()
    }
}

/// Serde for a `Decimal` written as a JSON number, as [`f64_option`] does.
pub mod f64_number {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `value` as the nearest f64.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(super::decimal_to_f64(*value))
    }

    /// Reads a number back.
    ///
    /// # Errors
    /// A number no `Decimal` holds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let x = f64::deserialize(d)?;
        super::decimal_from_f64(x)
            .ok_or_else(|| serde::de::Error::custom(format!("{x} is not a decimal")))
    }
}

/// A fixed buffer for short number text.
struct StackText {
    bytes: [u8; 48],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self { bytes: [0; 48], len: 0 }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        // Only `write_str` fills it, with whole `&str`s.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Exact powers of ten as f64 (every one up to 10²² is representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `value` as the nearest f64 (what a strategy sees of a price or an amount, and what display
/// statistics use), correctly rounded for every `Decimal`.
///
/// With a mantissa below 2⁵³ (after dropping trailing zeros) and at most 22 decimals — every
/// price in the data and most ledger amounts — one exact integer-to-float step and one correctly
/// rounded division by an exact power of ten give the nearest f64. Anything else is written out
/// as decimal text and parsed, which the standard library rounds correctly: a longer mantissa
/// converted in two rounded steps can land one unit in the last place off.
#[must_use]
pub fn decimal_to_f64(value: Decimal) -> f64 {
    const EXACT: u128 = 1 << 53;
    let mut mantissa = value.mantissa();
    let mut scale = value.scale() as usize;
    if mantissa.unsigned_abs() >= EXACT && scale > 0 {
        // Trailing zeros dropped by `normalize` (32-bit limb arithmetic): one 128-bit `% 10` per
        // zero was the cost of every ledger amount a multiplication had left with a long scale.
        let normal = value.normalize();
        mantissa = normal.mantissa();
        scale = normal.scale() as usize;
    }
    if mantissa.unsigned_abs() < EXACT && scale < POW10.len() {
        // Below 2⁵³ the i64 → f64 step is exact (and one instruction, unlike i128 → f64).
        return mantissa as i64 as f64 / POW10[scale];
    }
    let mut text = String::with_capacity(48);
    write_plain(&mut text, value);
    text.parse().unwrap_or(f64::NAN)
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
    }

    /// Mantissas beyond 2⁵³ (ledger amounts with 12 decimals, 17-digit sizes, 28-digit
    /// quotients): every one converts to exactly the f64 that the standard library's correctly
    /// rounded parser gives for its decimal text. Two rounded steps (i128 → f64, then ÷ 10ˢ)
    /// miss about a third of them by one unit in the last place.
    #[test]
    fn long_mantissas_become_the_nearest_f64() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut checked = 0;
        for _ in 0..20_000 {
            let hi = u128::from(next() % (1 << 32));
            let mantissa = (hi << 64 | u128::from(next())) % 10u128.pow(28);
            if mantissa < 1 << 53 {
                continue;
            }
            let scale = (next() % 29) as u32;
            let negative = next() % 2 == 0;
            let d = Decimal::from_i128_with_scale(
                if negative { -(mantissa as i128) } else { mantissa as i128 },
                scale,
            );
            let want: f64 = d.to_string().parse().unwrap();
            assert_eq!(decimal_to_f64(d).to_bits(), want.to_bits(), "{d}");
            checked += 1;
        }
        assert!(checked > 10_000);
        // Hand-picked: a 12-place cash figure and a 17-digit position size.
        for text in
            ["10000.000000000001", "521.893182821000", "0.12345678901234567", "94686.381790000000"]
        {
            let d: Decimal = text.parse().unwrap();
            assert_eq!(decimal_to_f64(d), text.parse::<f64>().unwrap(), "{text}");
        }
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
}
