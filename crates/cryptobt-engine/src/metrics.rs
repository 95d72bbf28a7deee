//! The metrics of DESIGN §7, accumulated bar by bar (so snapshots need not be kept) and finished
//! with the fills. Money stays `Decimal`; returns, ratios and percentages are display statistics
//! in f64. Undefined values are `None`, never NaN or infinity.

use cryptobt_domain::{
    money::{decimal_to_f64, round_ledger},
    ActionType, Bar, FundingPayment, Metrics, Snapshot, Trade,
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

        let closing: Vec<&Trade> = trades.iter().filter(|t| t.is_closing()).collect();
        let leverages: Vec<Decimal> =
            trades.iter().filter(|t| !t.is_closing()).map(|t| t.leverage).collect();
        let wins: Vec<Decimal> =
            closing.iter().map(|t| t.pnl).filter(|p| *p > Decimal::ZERO).collect();
        let losses: Vec<Decimal> =
            closing.iter().map(|t| t.pnl).filter(|p| *p < Decimal::ZERO).collect();
        let sum = |v: &[Decimal]| v.iter().copied().sum::<Decimal>();
        let avg =
            |v: &[Decimal]| (!v.is_empty()).then(|| round_ledger(sum(v) / Decimal::from(v.len())));
        let liquidations: Vec<&Trade> =
            trades.iter().filter(|t| t.action == ActionType::Liquidation).collect();

        Metrics {
            total_return,
            final_equity,
            annualized_return,
            volatility,
            sharpe_ratio,
            sortino_ratio,
            max_drawdown: self.worst_drawdown.map(|w| w * 100.0),
            total_trades: trades.len() as u64,
            win_rate: (!closing.is_empty())
                .then(|| wins.len() as f64 / closing.len() as f64 * 100.0),
            profit_factor: (!losses.is_empty())
                .then(|| decimal_to_f64(sum(&wins) / sum(&losses).abs())),
            avg_win: avg(&wins),
            avg_loss: avg(&losses),
            avg_leverage: avg(&leverages),
            max_leverage: leverages.iter().copied().max(),
            liquidations: liquidations.len() as u64,
            liquidation_losses: liquidations.iter().map(|t| t.pnl.abs()).sum(),
            total_fees: trades.iter().map(|t| t.fee).sum(),
            total_funding: funding.iter().map(|f| f.amount).sum(),
            benchmark_return: bars
                .and_then(|(first, last)| percent_change(last.close, first.close)),
            exposure: (self.count > 0).then(|| self.exposed as f64 / self.count as f64 * 100.0),
            ambiguous_bars: 0,
        }
    }
}
