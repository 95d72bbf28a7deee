//! The metrics of DESIGN §7, accumulated bar by bar (so snapshots need not be kept) and finished
//! with the fills. Money stays `Decimal`; returns, ratios and percentages are display statistics
//! in f64. Undefined values are `None`, never NaN or infinity.

use cryptobt_domain::{
    money::{decimal_to_f64, round_ledger},
    ActionType, Bar, FundingPayment, Metrics, RoundTrip, Snapshot, Trade,
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

/// What the metrics need from the snapshots, gathered one snapshot at a time.
#[derive(Debug)]
pub(crate) struct Accumulator {
    initial: Decimal,
    count: u64,
    exposed: u64,
    first_time: Option<i64>,
    last: Option<(i64, Decimal)>,
    /// Equity at the last snapshot of each UTC day so far.
    day_closes: Vec<f64>,
    current_day: Option<i64>,
    peak: f64,
    worst_drawdown: Option<f64>,
    /// The running maximum of equity (from the initial capital), exact.
    high_water: Decimal,
    /// Time of the last snapshot at or above `high_water` (or the first snapshot, when it is
    /// already below the initial capital).
    high_water_time: Option<i64>,
    /// Whether equity is below `high_water` now.
    under_water: bool,
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
            peak: decimal_to_f64(initial),
            worst_drawdown: None,
            high_water: initial,
            high_water_time: None,
            under_water: false,
            longest_drawdown_ms: 0,
        }
    }

    /// Adds a snapshot; `exposed` says whether a position was open at it.
    pub(crate) fn add(&mut self, s: &Snapshot, exposed: bool) {
        self.count += 1;
        self.exposed += u64::from(exposed);
        self.first_time.get_or_insert(s.timestamp);
        self.last = Some((s.timestamp, s.portfolio_value));
        let equity = decimal_to_f64(s.portfolio_value);
        let day = s.timestamp.div_euclid(DAY_MS);
        if self.current_day == Some(day) {
            if let Some(close) = self.day_closes.last_mut() {
                *close = equity;
            }
        } else {
            self.day_closes.push(equity);
            self.current_day = Some(day);
        }
        if s.portfolio_value >= self.high_water {
            if self.under_water {
                let since = self.high_water_time.unwrap_or(s.timestamp);
                self.longest_drawdown_ms = self.longest_drawdown_ms.max(s.timestamp - since);
                self.under_water = false;
            }
            self.high_water = s.portfolio_value;
            self.high_water_time = Some(s.timestamp);
        } else if !self.under_water {
            self.under_water = true;
            self.high_water_time.get_or_insert(s.timestamp);
        }
        self.peak = self.peak.max(equity);
        if self.peak > 0.0 {
            let dd = equity / self.peak - 1.0;
            self.worst_drawdown = Some(self.worst_drawdown.map_or(dd, |w| w.min(dd)));
        }
    }

    /// Every metric, from the snapshots seen, the fills, the funding payments and the first and
    /// last bar processed.
    pub(crate) fn finish(
        self,
        trades: &[Trade],
        funding: &[FundingPayment],
        trips: &[RoundTrip],
        bars: Option<(&Bar, &Bar)>,
    ) -> Metrics {
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
        let (volatility, sharpe_ratio, sortino_ratio) = if returns.len() < 2 {
            (None, None, None)
        } else {
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
        };

        let leverages: Vec<Decimal> =
            trades.iter().filter(|t| !t.is_closing()).map(|t| t.leverage).collect();
        let pnls: Vec<Decimal> = trips.iter().map(|t| t.pnl).collect();
        let wins: Vec<Decimal> = pnls.iter().copied().filter(|p| *p > Decimal::ZERO).collect();
        let losses: Vec<Decimal> = pnls.iter().copied().filter(|p| *p < Decimal::ZERO).collect();
        let sum = |v: &[Decimal]| v.iter().copied().sum::<Decimal>();
        let avg =
            |v: &[Decimal]| (!v.is_empty()).then(|| round_ledger(sum(v) / Decimal::from(v.len())));
        let liquidations: Vec<&Trade> =
            trades.iter().filter(|t| t.action == ActionType::Liquidation).collect();
        let mut streak = 0u64;
        let mut max_consecutive_losses = 0u64;
        for pnl in &pnls {
            streak = if *pnl <= Decimal::ZERO { streak + 1 } else { 0 };
            max_consecutive_losses = max_consecutive_losses.max(streak);
        }
        let max_drawdown = self.worst_drawdown.map(|w| w * 100.0);
        let longest_ms = match (self.under_water, self.high_water_time, self.last) {
            (true, Some(since), Some((last, _))) => self.longest_drawdown_ms.max(last - since),
            _ => self.longest_drawdown_ms,
        };
        let annualized_volatility = volatility.map(|v| v * 365f64.sqrt()).and_then(finite);
        let calmar_ratio = match (annualized_return, max_drawdown) {
            (Some(r), Some(dd)) if dd != 0.0 => finite(r / dd.abs()),
            _ => None,
        };

        Metrics {
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
            benchmark_return: bars
                .and_then(|(first, last)| percent_change(last.close, first.close)),
            exposure: (self.count > 0).then(|| self.exposed as f64 / self.count as f64 * 100.0),
            ambiguous_bars: 0,
        }
    }
}
