//! Building higher timeframes from lower ones: open first, high max, low min, close last,
//! volume sum, each bucket opening on a multiple of its duration since the epoch.

use cryptobt_domain::{Bar, Timeframe};

/// Aggregates time-ordered `bars` into buckets of `to`. A bucket is built from the bars present
/// (a bucket with missing bars is still emitted; callers report gaps, nothing is invented).
#[must_use]
pub fn resample(bars: &[Bar], to: Timeframe) -> Vec<Bar> {
    let step = to.duration_ms();
    let mut out: Vec<Bar> = Vec::with_capacity(bars.len() / 2 + 1);
    for bar in bars {
        let bucket = bar.timestamp - bar.timestamp.rem_euclid(step);
        match out.last_mut() {
            Some(last) if last.timestamp == bucket => {
                last.high = last.high.max(bar.high);
                last.low = last.low.min(bar.low);
                last.close = bar.close;
                last.volume += bar.volume;
            }
            _ => out.push(Bar { timestamp: bucket, ..*bar }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptobt_domain::testkit::bar;
    use rust_decimal_macros::dec;

    #[test]
    fn five_minutes_from_one_minute() {
        // 00:03 and 00:04 in the first bucket, 00:05..00:06 in the second.
        let bars = [
            bar(180_000, dec!(10), dec!(12), dec!(9), dec!(11)),
            bar(240_000, dec!(11), dec!(15), dec!(10), dec!(14)),
            bar(300_000, dec!(14), dec!(14.5), dec!(8), dec!(9)),
            bar(360_000, dec!(9), dec!(10), dec!(8.5), dec!(10)),
        ];
        let out = resample(&bars, Timeframe::M5);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0],
            cryptobt_domain::Bar {
                volume: dec!(2),
                ..bar(0, dec!(10), dec!(15), dec!(9), dec!(14))
            }
        );
        assert_eq!(
            out[1],
            cryptobt_domain::Bar {
                volume: dec!(2),
                ..bar(300_000, dec!(14), dec!(14.5), dec!(8), dec!(10))
            }
        );
    }
}
