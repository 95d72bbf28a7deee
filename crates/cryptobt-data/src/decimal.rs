//! Reading CSV: the one reader setup every file uses, and exact decimal parsing of its fields,
//! fast on the plain `123.45` shape the data uses.

use rust_decimal::Decimal;

/// A CSV reader over `bytes` as every file here is read: no header handling (each caller checks
/// its own), rows of any length (reported, not rejected by the reader), fields trimmed.
pub(crate) fn csv_rows(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes)
}

/// Parses a plain decimal (`-12.345`, `93576`, `0.00001`) exactly; falls back to `Decimal`'s own
/// parser for anything else it accepts (`1e-5`, more than 28 digits, which it rounds).
/// `None` for text that is not a finite decimal number (`NaN`, `inf`, `1,5`, empty).
#[must_use]
pub fn parse_decimal(text: &[u8]) -> Option<Decimal> {
    fast(text).or_else(|| slow(text))
}

/// Parses a plain decimal only (`-12.345`, `93576`, `0.00001`): an optional minus sign, digits
/// and at most one dot, up to 28 digits. What the data folder's files hold (docs/data.md): no
/// `+`, no exponent, no spaces inside.
#[must_use]
pub(crate) fn parse_plain_decimal(text: &[u8]) -> Option<Decimal> {
    fast(text)
}

/// Parses a plain integer (`1735689600000`, `-5`): an optional minus sign and digits only.
#[must_use]
pub(crate) fn parse_plain_i64(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn fast(text: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    let mut mantissa: i128 = 0;
    let mut scale = 0u32;
    let mut count = 0u32;
    let mut dot = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + i128::from(b - b'0');
                count += 1;
                scale += u32::from(dot);
                if count > 28 {
                    return None;
                }
            }
            b'.' if !dot => dot = true,
            _ => return None,
        }
    }
    if count == 0 {
        return None;
    }
    Decimal::try_from_i128_with_scale(if negative { -mantissa } else { mantissa }, scale).ok()
}

fn slow(text: &[u8]) -> Option<Decimal> {
    let text = std::str::from_utf8(text).ok()?.trim();
    if text.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
        return None;
    }
    if text.contains(['e', 'E']) {
        return Decimal::from_scientific(text).ok();
    }
    text.parse::<Decimal>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn plain_numbers_are_exact() {
        let cases = [
            ("94230.2", dec!(94230.2)),
            ("93576.00000000", dec!(93576.00000000)),
            ("0", dec!(0)),
            ("-0.5", dec!(-0.5)),
            ("465.598", dec!(465.598)),
            ("0.00001", dec!(0.00001)),
            (".5", dec!(0.5)),
            ("5.", dec!(5)),
            ("1e-5", dec!(0.00001)),
            (" 7 ", dec!(7)),
        ];
        for (text, expect) in cases {
            assert_eq!(parse_decimal(text.as_bytes()), Some(expect), "{text}");
        }
    }

    #[test]
    fn non_numbers_are_refused() {
        for text in ["", "-", ".", "NaN", "nan", "inf", "-inf", "1,5", "1.2.3", "abc", "0x10", "1e"]
        {
            assert_eq!(parse_decimal(text.as_bytes()), None, "{text:?}");
        }
    }
}
