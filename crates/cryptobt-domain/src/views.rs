//! Pure views of a run for charts and reports: the bucket of a view, candles aggregated into it,
//! series thinned keeping every bucket's extremes, items spread evenly, and the drawdown. Written
//! once here; the API's chart view, the HTML report and the page all draw from them.

use serde::Serialize;

use crate::{money::decimal_to_f64, Bar};

/// Buckets a view may use, in ms, with their labels: the run's own timeframe or coarser.
pub const BUCKETS: [(i64, &str); 12] = [
    (60_000, "1m"),
    (300_000, "5m"),
    (900_000, "15m"),
    (1_800_000, "30m"),
    (3_600_000, "1h"),
    (7_200_000, "2h"),
    (14_400_000, "4h"),
    (43_200_000, "12h"),
    (86_400_000, "1d"),
    (259_200_000, "3d"),
    (604_800_000, "1w"),
    (2_592_000_000, "30d"),
];

/// Fill markers a view or a report draws at most (evenly picked; the count of all is shown).
pub const MAX_FILL_MARKS: usize = 1_000;

/// At most `max` of `items`, evenly spread (the first and the last kept).
#[must_use]
pub fn spread<T>(items: &[T], max: usize) -> Vec<&T> {
    if items.len() <= max {
        return items.iter().collect();
    }
    let step = (items.len() - 1) as f64 / (max - 1).max(1) as f64;
    (0..max).map(|k| &items[((k as f64 * step).round() as usize).min(items.len() - 1)]).collect()
}

/// The bucket for a view of `span` ms: the finest at least `bar_ms` that keeps at most `points`
/// buckets.
#[must_use]
pub fn bucket_for(span: i64, bar_ms: i64, points: usize) -> (i64, &'static str) {
    let points = i64::try_from(points.max(1)).unwrap_or(i64::MAX);
    BUCKETS
        .iter()
        .copied()
        .filter(|(ms, _)| *ms >= bar_ms)
        .find(|(ms, _)| span / ms < points)
        .unwrap_or(BUCKETS[BUCKETS.len() - 1])
}

/// One candle of a view.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candle {
    /// The bucket's start (ms).
    pub t: i64,
    /// First open.
    pub o: f64,
    /// Highest high.
    pub h: f64,
    /// Lowest low.
    pub l: f64,
    /// Last close.
    pub c: f64,
}

/// The bars in `[from, to]` aggregated into buckets of `ms` (aligned to the epoch): first open,
/// highest high, lowest low, last close.
pub fn aggregate<'a>(
    bars: impl Iterator<Item = &'a Bar>,
    from: i64,
    to: i64,
    ms: i64,
) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for b in bars.filter(|b| b.timestamp >= from && b.timestamp <= to) {
        let t = b.timestamp.div_euclid(ms) * ms;
        let (o, h, l, c) = (
            decimal_to_f64(b.open),
            decimal_to_f64(b.high),
            decimal_to_f64(b.low),
            decimal_to_f64(b.close),
        );
        match out.last_mut() {
            Some(last) if last.t == t => {
                last.h = last.h.max(h);
                last.l = last.l.min(l);
                last.c = c;
            }
            _ => out.push(Candle { t, o, h, l, c }),
        }
    }
    out
}

/// The points of `values` (at `times`) in `[from, to]`, thinned to each bucket of `ms`'s first,
/// minimum, maximum and last point, in time order: every extreme survives.
#[must_use]
pub fn thin(times: &[i64], values: &[f64], from: i64, to: i64, ms: i64) -> Vec<(i64, f64)> {
    let start = times.partition_point(|t| *t < from);
    let end = times.partition_point(|t| *t <= to);
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        let bucket = times[i].div_euclid(ms);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < end && times[j].div_euclid(ms) == bucket {
            if values[j] < values[lo] {
                lo = j;
            }
            if values[j] > values[hi] {
                hi = j;
            }
            j += 1;
        }
        let mut keep = [i, lo, hi, j - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push((times[k], values[k]));
                last = k;
            }
        }
        i = j;
    }
    out
}

/// Buy and hold of every symbol of a run with equal weight, per bucket of `ms` over
/// `[first, last]`: the initial capital times the mean
/// over the symbols of `close / first close` (the `benchmark_return` of `metrics.json` at the end).
#[must_use]
pub fn buy_and_hold(
    markets: &[(crate::Symbol, Vec<Bar>)],
    initial: f64,
    (first, last): (i64, i64),
    ms: i64,
) -> Vec<(i64, f64)> {
    let curves: Vec<Vec<(i64, f64)>> = markets
        .iter()
        .filter_map(|(_, bars)| {
            let base = decimal_to_f64(bars.first()?.close);
            (base > 0.0).then(|| {
                aggregate(bars.iter(), first, last, ms).iter().map(|k| (k.t, k.c / base)).collect()
            })
        })
        .collect();
    let Some(reference) = curves.first() else { return Vec::new() };
    if curves.len() != markets.len() || curves.iter().any(|c| c.len() != reference.len()) {
        return Vec::new(); // a symbol without bars: no line rather than a wrong one
    }
    (0..reference.len())
        .map(|i| {
            let mean = curves.iter().map(|c| c[i].1).sum::<f64>() / curves.len() as f64;
            (reference[i].0, initial * mean)
        })
        .collect()
}

/// The drawdown of `equity` in percent, `(e / running max − 1) × 100`, the running max starting
/// at `initial` (as the `max_drawdown` metric computes it); 0 where the max is not positive.
#[must_use]
pub fn drawdown(equity: &[f64], initial: f64) -> Vec<f64> {
    let mut peak = initial;
    equity
        .iter()
        .map(|e| {
            peak = peak.max(*e);
            if peak > 0.0 {
                (e / peak - 1.0) * 100.0
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_every_buckets_extremes_and_spread_keeps_the_ends() {
        let times = [0, 1, 2, 3, 10, 11];
        let values = [5.0, 1.0, 9.0, 4.0, 2.0, 3.0];
        assert_eq!(
            thin(&times, &values, 0, 11, 10),
            [(0, 5.0), (1, 1.0), (2, 9.0), (3, 4.0), (10, 2.0), (11, 3.0)]
        );
        let items: Vec<u32> = (0..10).collect();
        assert_eq!(spread(&items, 3), [&0, &5, &9]);
        assert_eq!(drawdown(&[100.0, 120.0, 90.0], 100.0), [0.0, 0.0, -25.0]);
        assert_eq!(bucket_for(86_400_000, 60_000, 1_500), (60_000, "1m"));
    }
}

#[cfg(test)]
mod chart_tests {
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn the_bucket_is_the_finest_that_fits() {
        let day = 86_400_000;
        assert_eq!(bucket_for(50 * day, 60_000, 1_500), (3_600_000, "1h"));
        assert_eq!(bucket_for(day, 60_000, 1_500), (60_000, "1m"));
        assert_eq!(bucket_for(730 * day, 60_000, 1_500), (43_200_000, "12h"));
        assert_eq!(bucket_for(2 * day, 3_600_000, 1_500), (3_600_000, "1h"), "never below the bar");
    }

    #[test]
    fn buckets_keep_the_extremes_and_candles_their_ohlc() {
        let times: Vec<i64> = (0..10).map(|i| i * 60_000).collect();
        let values = [5.0, 3.0, 9.0, 4.0, 6.0, 1.0, 2.0, 8.0, 7.0, 7.5];
        let thinned = thin(&times, &values, 0, 9 * 60_000, 300_000);
        // Bucket 1 (minutes 0–4): first 5, min 3, max 9, last 6; bucket 2: first 1 (= min), max 8, last 7.5.
        let got: Vec<f64> = thinned.iter().map(|p| p.1).collect();
        assert_eq!(got, [5.0, 3.0, 9.0, 6.0, 1.0, 8.0, 7.5]);
        let d = |x: i64| Decimal::from(x);
        let bars: Vec<Bar> = (0..10)
            .map(|i| Bar {
                timestamp: i * 60_000,
                open: d(10 + i),
                high: d(20 + i),
                low: d(i),
                close: d(11 + i),
                volume: Decimal::ONE,
            })
            .collect();
        let candles = aggregate(bars.iter(), 0, 9 * 60_000, 300_000);
        assert_eq!(
            candles,
            [
                Candle { t: 0, o: 10.0, h: 24.0, l: 0.0, c: 15.0 },
                Candle { t: 300_000, o: 15.0, h: 29.0, l: 5.0, c: 20.0 }
            ]
        );
    }
}

#[cfg(test)]
mod buy_and_hold_tests {
    use super::*;
    use crate::Symbol;
    use rust_decimal::Decimal;

    fn bars(closes: &[i64]) -> Vec<Bar> {
        (0i64..)
            .zip(closes)
            .map(|(i, c)| {
                let p = Decimal::from(*c);
                Bar { timestamp: i * 3_600_000, open: p, high: p, low: p, close: p, volume: p }
            })
            .collect()
    }

    /// One symbol: capital × close / first close. Two: the mean of both — BTC +10 % and ETH
    /// −10 % hold the capital at 1000 at the end, and the middle hour is (1.05 + 0.98) / 2.
    #[test]
    fn buy_and_hold_is_the_equal_weight_mean_over_the_symbols() {
        let (btc, eth) = (Symbol::new("BTCUSDT").unwrap(), Symbol::new("ETHUSDT").unwrap());
        let one = [(btc, bars(&[100, 105, 110]))];
        let line = buy_and_hold(&one, 1000.0, (0, 7_200_000), 3_600_000);
        assert_eq!(line, [(0, 1000.0), (3_600_000, 1050.0), (7_200_000, 1100.0)]);
        let two = [(btc, bars(&[100, 105, 110])), (eth, bars(&[50, 49, 45]))];
        let line = buy_and_hold(&two, 1000.0, (0, 7_200_000), 3_600_000);
        assert_eq!(line.len(), 3);
        assert!((line[1].1 - 1000.0 * (1.05 + 0.98) / 2.0).abs() < 1e-9, "{line:?}");
        assert!((line[2].1 - 1000.0).abs() < 1e-9, "{line:?}");
        let missing = [(btc, bars(&[100, 105, 110])), (eth, Vec::new())];
        assert!(buy_and_hold(&missing, 1000.0, (0, 7_200_000), 3_600_000).is_empty());
    }
}
