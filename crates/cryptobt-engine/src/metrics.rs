//! The metrics of docs/metrics.md, accumulated bar by bar (so snapshots need not be kept) and finished
//! with the fills. Money stays `Decimal`; returns, ratios and percentages are display statistics
//! in f64. Undefined values are `None`, never NaN or infinity.

use cryptobt_domain::{
    money::decimal_to_f64, ActionType, Bar, BySymbol, FundingPayment, Metrics, RoundTrip, Symbol,
    SymbolMetrics, Trade,
};
use rust_decimal::Decimal;

const DAY_MS: i64 = 86_400_000;

/// `(a / b − 1) × 100` in Decimal, as f64; `None` when `b` is zero.
fn percent_change(a: Decimal, b: Decimal) -> Option<f64> {
    if b.is_zero() {
        return None;
    }
    a.checked_div(b).map(|q| decimal_to_f64((q - Decimal::ONE) * Decimal::ONE_HUNDRED))
}

/// Finite values only: anything else is undefined.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `volatility`, `sharpe_ratio` and `sortino_ratio` of daily `returns` (docs/metrics.md): all `None`
/// with fewer than two returns, each `None` where undefined.
#[must_use]
pub fn return_statistics(returns: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if returns.len() < 2 {
        return (None, None, None);
    }
    let n = returns.len() as f64;
    let m = returns.iter().sum::<f64>() / n;
    let sd = (returns.iter().map(|r| (r - m) * (r - m)).sum::<f64>() / (n - 1.0)).sqrt();
    let downside = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
    let annual = 365f64.sqrt();
    (
        finite(sd * 100.0),
        (sd != 0.0).then(|| m / sd * annual).and_then(finite),
        (downside != 0.0).then(|| m / downside * annual).and_then(finite),
    )
}

/// What the metrics need from the snapshots, gathered one snapshot at a time.
#[derive(Debug)]
pub(crate) struct Accumulator {
    initial: Decimal,
    count: u64,
    exposed: u64,
    first_time: Option<i64>,
    last: Option<(i64, Decimal)>,
    /// Equity at the last snapshot of each UTC day before the current one.
    day_closes: Vec<f64>,
    current_day: Option<i64>,
    worst_drawdown: Option<f64>,
    /// The lowest equity below `high_water` since it was last reached (those snapshots'
    /// drawdowns, all against that peak, are at their worst there: the f64 conversion and
    /// division are monotonic, so only this one is converted — at the next peak or the end).
    low_since_peak: Option<Decimal>,
    /// Whether a snapshot stood at the high-water mark (a drawdown of exactly 0).
    at_peak_seen: bool,
    /// The last snapshot's equity, bit for bit, and whether it stood at the high-water mark:
    /// a flat stretch repeats it, and needs no `Decimal` comparison.
    previous: Option<([u8; 16], bool)>,
    /// The running maximum of equity (from the initial capital), exact.
    high_water: Decimal,
    /// Time of the last snapshot at or above `high_water` (or the first snapshot, when it is
    /// already below the initial capital).
    high_water_time: Option<i64>,
    /// The longest drawdown so far, in ms.
    longest_drawdown_ms: i64,
}

impl Accumulator {
    pub(crate) fn new(initial: Decimal) -> Self {
        Self {
            initial,
            count: 0,
            exposed: 0,
            first_time: None,
            last: None,
            day_closes: Vec::new(),
            current_day: None,
            worst_drawdown: None,
            low_since_peak: None,
            at_peak_seen: false,
            previous: None,
            high_water: initial,
            high_water_time: None,
            longest_drawdown_ms: 0,
        }
    }

    /// Adds a snapshot: its time, its `portfolio_value`, and whether a position was open at it.
    pub(crate) fn add(&mut self, timestamp: i64, equity: Decimal, exposed: bool) {
        self.count += 1;
        self.exposed += u64::from(exposed);
        self.first_time.get_or_insert(timestamp);
        let day = timestamp.div_euclid(DAY_MS);
        if self.current_day != Some(day) {
            // The day before ended with the previous snapshot.
            if let Some((_, close)) = self.last {
                self.day_closes.push(decimal_to_f64(close));
            }
            self.current_day = Some(day);
        }
        self.last = Some((timestamp, equity));
        let bits = equity.serialize();
        let was_under = self.under_water();
        let repeated = self.previous.filter(|p| p.0 == bits);
        // Unchanged equity stands where it stood: at the mark (which it then equals) or below
        // it (and not below the low it already set).
        let at_peak = repeated.map_or_else(|| equity >= self.high_water, |p| p.1);
        self.previous = Some((bits, at_peak));
        if at_peak {
            if was_under {
                let since = self.high_water_time.unwrap_or(timestamp);
                self.longest_drawdown_ms = self.longest_drawdown_ms.max(timestamp - since);
            }
            if repeated.is_none() {
                self.close_drawdown();
                self.high_water = equity;
                self.at_peak_seen |= equity > Decimal::ZERO;
            }
            self.high_water_time = Some(timestamp);
        } else {
            if !was_under {
                self.high_water_time.get_or_insert(timestamp);
            }
            if repeated.is_none() && self.low_since_peak.is_none_or(|low| equity < low) {
                self.low_since_peak = Some(equity);
            }
        }
    }

    /// Whether the last snapshot stood below the high-water mark.
    fn under_water(&self) -> bool {
        self.previous.is_some_and(|p| !p.1)
    }

    /// After the last snapshot: the last day's close and the last peak's drawdown (a snapshot
    /// at the mark counts as a drawdown of 0, as `x / x − 1` is).
    fn end_series(&mut self) {
        self.close_drawdown();
        if self.at_peak_seen {
            self.worst_drawdown = Some(self.worst_drawdown.map_or(0.0, |w| w.min(0.0)));
        }
        if let (Some(_), Some((_, close))) = (self.current_day.take(), self.last) {
            self.day_closes.push(decimal_to_f64(close));
        }
    }

    /// Folds the worst drawdown against the current peak (`low / peak − 1` in f64, as docs/design.md
    /// docs/metrics.md computes it at every snapshot) into `worst_drawdown`.
    fn close_drawdown(&mut self) {
        let Some(low) = self.low_since_peak.take() else { return };
        let peak = decimal_to_f64(self.high_water);
        if peak > 0.0 {
            let dd = decimal_to_f64(low) / peak - 1.0;
            self.worst_drawdown = Some(self.worst_drawdown.map_or(dd, |w| w.min(dd)));
        }
    }

    /// Every metric, from the snapshots seen, the fills, the funding payments and the first and
    /// last bar processed; and the daily returns they were computed from (docs/metrics.md).
    pub(crate) fn finish(
        mut self,
        trades: &[Trade],
        funding: &[FundingPayment],
        trips: &[RoundTrip],
        bars: &[(Bar, Bar)],
    ) -> (Metrics, Vec<f64>) {
        self.end_series();
        let initial = self.initial;
        let final_equity = self.last.map(|(_, equity)| equity);
        let total_return = final_equity.and_then(|f| percent_change(f, initial));
        let annualized_return = match (self.first_time, self.last) {
            (Some(first), Some((last, f))) if last > first && f > Decimal::ZERO => {
                let days = (last - first) as f64 / DAY_MS as f64;
                let growth = decimal_to_f64(f) / decimal_to_f64(initial);
                finite((growth.powf(365.0 / days) - 1.0) * 100.0)
            }
            _ => None,
        };

        // Daily returns: each day's last equity against the previous day's, the first day
        // against the initial capital.
        let mut previous = decimal_to_f64(initial);
        let returns: Vec<f64> = self
            .day_closes
            .iter()
            .map(|equity| {
                let r = equity / previous - 1.0;
                previous = *equity;
                r
            })
            .collect();
        let (volatility, sharpe_ratio, sortino_ratio) = return_statistics(&returns);

        let leverages: Vec<Decimal> =
            trades.iter().filter(|t| !t.is_closing()).map(|t| t.leverage).collect();
        let pnls: Vec<Decimal> = trips.iter().map(|t| t.pnl).collect();
        let wins: Vec<Decimal> = pnls.iter().copied().filter(|p| *p > Decimal::ZERO).collect();
        let losses: Vec<Decimal> = pnls.iter().copied().filter(|p| *p < Decimal::ZERO).collect();
        let sum = |v: &[Decimal]| v.iter().copied().sum::<Decimal>();
        let avg = |v: &[Decimal]| (!v.is_empty()).then(|| sum(v) / Decimal::from(v.len()));
        let liquidations: Vec<&Trade> =
            trades.iter().filter(|t| t.action == ActionType::Liquidation).collect();
        let mut streak = 0u64;
        let mut max_consecutive_losses = 0u64;
        for pnl in &pnls {
            streak = if *pnl <= Decimal::ZERO { streak + 1 } else { 0 };
            max_consecutive_losses = max_consecutive_losses.max(streak);
        }
        let max_drawdown = self.worst_drawdown.map(|w| w * 100.0);
        let longest_ms = match (self.under_water(), self.high_water_time, self.last) {
            (true, Some(since), Some((last, _))) => self.longest_drawdown_ms.max(last - since),
            _ => self.longest_drawdown_ms,
        };
        let annualized_volatility = volatility.map(|v| v * 365f64.sqrt()).and_then(finite);
        let calmar_ratio = match (annualized_return, max_drawdown) {
            (Some(r), Some(dd)) if dd != 0.0 => finite(r / dd.abs()),
            _ => None,
        };

        let metrics = Metrics {
            total_return,
            final_equity,
            annualized_return,
            volatility,
            sharpe_ratio,
            sortino_ratio,
            max_drawdown,
            annualized_volatility,
            calmar_ratio,
            max_drawdown_duration_days: (self.count > 0).then(|| longest_ms as f64 / DAY_MS as f64),
            total_trades: trades.len() as u64,
            round_trips: trips.len() as u64,
            win_rate: (!pnls.is_empty()).then(|| wins.len() as f64 / pnls.len() as f64 * 100.0),
            profit_factor: (!losses.is_empty())
                .then(|| decimal_to_f64(sum(&wins) / sum(&losses).abs())),
            expectancy: avg(&pnls),
            avg_win: avg(&wins),
            avg_loss: avg(&losses),
            largest_win: pnls.iter().copied().max().filter(|p| *p > Decimal::ZERO),
            largest_loss: pnls.iter().copied().min().filter(|p| *p < Decimal::ZERO),
            avg_bars_held: (!trips.is_empty()).then(|| {
                trips.iter().map(|t| t.bars_held as f64).sum::<f64>() / trips.len() as f64
            }),
            max_consecutive_losses,
            avg_leverage: avg(&leverages),
            max_leverage: leverages.iter().copied().max(),
            liquidations: liquidations.len() as u64,
            liquidation_losses: liquidations.iter().map(|t| t.pnl.abs()).sum(),
            total_fees: trades
                .iter()
                .filter(|t| t.action != ActionType::Liquidation)
                .map(|t| t.fee)
                .sum(),
            total_funding: funding.iter().map(|f| f.amount).sum(),
            benchmark_return: benchmark(bars),
            exposure: (self.count > 0).then(|| self.exposed as f64 / self.count as f64 * 100.0),
            ambiguous_bars: 0,
            by_symbol: None,
        };
        (metrics, returns)
    }
}

/// Buy and hold: the mean over the symbols of `(last close / first close − 1) × 100`, from each
/// symbol's first and last bar processed; `None` before the first bar.
fn benchmark(bars: &[(Bar, Bar)]) -> Option<f64> {
    if bars.is_empty() {
        return None;
    }
    let changes: Option<Vec<f64>> =
        bars.iter().map(|(first, last)| percent_change(last.close, first.close)).collect();
    changes.map(|c| c.iter().sum::<f64>() / c.len() as f64)
}

/// The figures of each symbol of a run of several (docs/metrics.md#by-symbol).
pub(crate) fn by_symbol(
    symbols: &[Symbol],
    trades: &[Trade],
    funding: &[FundingPayment],
    trips: &[RoundTrip],
    ambiguous: &[u64],
) -> BySymbol {
    let entries = symbols
        .iter()
        .zip(ambiguous)
        .map(|(symbol, ambiguous_bars)| {
            let pnls: Vec<Decimal> =
                trips.iter().filter(|t| t.symbol == Some(*symbol)).map(|t| t.pnl).collect();
            let wins: Decimal = pnls.iter().filter(|p| **p > Decimal::ZERO).copied().sum();
            let losses: Vec<Decimal> =
                pnls.iter().filter(|p| **p < Decimal::ZERO).copied().collect();
            let won = pnls.iter().filter(|p| **p > Decimal::ZERO).count();
            let metrics = SymbolMetrics {
                round_trips: pnls.len() as u64,
                win_rate: (!pnls.is_empty()).then(|| won as f64 / pnls.len() as f64 * 100.0),
                profit_factor: (!losses.is_empty())
                    .then(|| decimal_to_f64(wins / losses.iter().copied().sum::<Decimal>().abs())),
                net_pnl: pnls.iter().copied().sum(),
                total_fees: trades
                    .iter()
                    .filter(|t| t.symbol == *symbol && t.action != ActionType::Liquidation)
                    .map(|t| t.fee)
                    .sum(),
                funding: funding.iter().filter(|f| f.symbol == *symbol).map(|f| f.amount).sum(),
                ambiguous_bars: *ambiguous_bars,
            };
            (*symbol, metrics)
        })
        .collect();
    BySymbol(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/metrics.md as written: every snapshot's equity in f64, its drawdown against the running
    /// maximum, each day's last equity.
    fn naive(initial: Decimal, equity: &[(i64, Decimal)]) -> (Option<f64>, Vec<f64>) {
        let mut peak = decimal_to_f64(initial);
        let mut worst: Option<f64> = None;
        let mut closes: Vec<(i64, f64)> = Vec::new();
        for (t, e) in equity {
            let x = decimal_to_f64(*e);
            peak = peak.max(x);
            if peak > 0.0 {
                let dd = x / peak - 1.0;
                worst = Some(worst.map_or(dd, |w| w.min(dd)));
            }
            let day = t.div_euclid(DAY_MS);
            match closes.last_mut() {
                Some((d, c)) if *d == day => *c = x,
                _ => closes.push((day, x)),
            }
        }
        (worst, closes.into_iter().map(|c| c.1).collect())
    }

    #[test]
    fn drawdown_and_day_closes_equal_the_per_snapshot_rule() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for run in 0..200 {
            let initial = Decimal::new(10_000, 0);
            let mut e = initial;
            let mut t = 1_735_689_600_000_i64;
            let mut equity = Vec::new();
            for _ in 0..(50 + run * 7) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Steps with long scales (as fees and marks leave them), ties, and new highs.
                let step = Decimal::new((state % 2_001) as i64 - 1_000, 2)
                    + Decimal::new((state >> 20) as i64 % 1_000_000, 12);
                e = if state.is_multiple_of(17) { e } else { (e + step).max(Decimal::new(1, 3)) };
                t += 60_000 * (1 + (state % 900) as i64);
                equity.push((t, e));
            }
            let mut acc = Accumulator::new(initial);
            for (t, e) in &equity {
                acc.add(*t, *e, false);
            }
            let (worst, closes) = naive(initial, &equity);
            acc.end_series();
            assert_eq!(acc.worst_drawdown.map(f64::to_bits), worst.map(f64::to_bits), "run {run}");
            assert_eq!(acc.day_closes, closes, "run {run}");
        }
    }
}
