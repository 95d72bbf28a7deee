//! Building blocks of sweeps (docs/design.md#sweeps): the members of a grid, numbered from 0 with the first
//! parameter varying slowest, and the two overfitting diagnostics — the probability of backtest
//! overfitting by combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado and
//! Zhu, 2017) and the deflated Sharpe ratio (Bailey and López de Prado, 2014).

use cryptobt_domain::{ParamValue, Params, WalkForward};
use rust_decimal::Decimal;
use statrs::distribution::{ContinuousCDF, Normal};

/// The Euler–Mascheroni constant as docs/design.md#sweeps writes it.
const EULER_GAMMA: f64 = 0.577_215_664_9;

/// Every combination of the grid's values as the params of a member, in member order: member 0
/// first, the first parameter varying slowest.
#[must_use]
pub fn grid_members(grid: &[(String, Vec<ParamValue>)]) -> Vec<Params> {
    let total: usize = grid.iter().map(|(_, v)| v.len()).product();
    if grid.is_empty() || total == 0 {
        return Vec::new();
    }
    (0..total)
        .map(|mut index| {
            let mut params = Params::new();
            for (name, values) in grid.iter().rev() {
                params.insert(name.clone(), values[index % values.len()].clone());
                index /= values.len();
            }
            params
        })
        .collect()
}

fn normal() -> Normal {
    Normal::standard()
}

/// The probabilistic Sharpe ratio: the probability that the true per-period Sharpe ratio exceeds
/// `sr0`, given an estimate `sr` over `t` returns with skewness `skew` and kurtosis `kurt` (not
/// excess). `None` when undefined.
#[must_use]
pub fn psr(sr: f64, sr0: f64, t: f64, skew: f64, kurt: f64) -> Option<f64> {
    let denominator = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr;
    if t < 2.0 || denominator <= 0.0 {
        return None;
    }
    let z = (sr - sr0) * (t - 1.0).sqrt() / denominator.sqrt();
    z.is_finite().then(|| normal().cdf(z))
}

/// The expected maximum Sharpe ratio of `sharpes.len()` trials with those Sharpe ratios' variance
/// (docs/design.md#sweeps's `SR0`). `None` with fewer than two.
#[must_use]
pub fn expected_max_sharpe(sharpes: &[f64]) -> Option<f64> {
    let n = sharpes.len();
    if n < 2 {
        return None;
    }
    let mean = sharpes.iter().sum::<f64>() / n as f64;
    let variance = sharpes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n as f64;
    let n = n as f64;
    let inv = |p: f64| normal().inverse_cdf(p);
    Some(
        variance.sqrt()
            * ((1.0 - EULER_GAMMA) * inv(1.0 - 1.0 / n)
                + EULER_GAMMA * inv(1.0 - 1.0 / (n * std::f64::consts::E))),
    )
}

/// The deflated Sharpe ratio of the best member: its PSR against the expected maximum Sharpe
/// ratio of all `sharpes` (every member's per-day Sharpe ratio).
#[must_use]
pub fn dsr(sr: f64, t: f64, skew: f64, kurt: f64, sharpes: &[f64]) -> Option<f64> {
    psr(sr, expected_max_sharpe(sharpes)?, t, skew, kurt)
}

/// Mean over sample standard deviation of `xs`; `-inf` when the deviation is 0 (it ranks lowest)
/// or there are fewer than two values.
#[must_use]
pub fn sharpe(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return f64::NEG_INFINITY;
    }
    let mean = xs.iter().sum::<f64>() / n;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if sd == 0.0 {
        f64::NEG_INFINITY
    } else {
        mean / sd
    }
}

/// Moves `pick` (a choice of `pick.len()` of `0..n`, ascending) to the next choice in
/// lexicographic order; `false` after the last.
fn next_combination(pick: &mut [usize], n: usize) -> bool {
    let k = pick.len();
    let Some(i) = (0..k).rev().find(|&i| pick[i] != i + n - k) else { return false };
    pick[i] += 1;
    for j in i + 1..k {
        pick[j] = pick[j - 1] + 1;
    }
    true
}

/// The probability of backtest overfitting by CSCV over `rows` (T days × N members of daily
/// returns) in `blocks` blocks, with `performance` of a member's returns in a half (mean /
/// sample standard deviation for sweeps). The C(S, S/2) splits are made one at a time and never
/// stored: `visit` sees each split's λ and may stop the computation (a cancelled sweep), which
/// then gives `None`. `None` also with fewer than 2 members, fewer days than blocks, or an odd or
/// zero number of blocks.
pub fn pbo(
    rows: &[Vec<f64>],
    blocks: usize,
    performance: impl Fn(&[f64]) -> f64,
    mut visit: impl FnMut(f64) -> std::ops::ControlFlow<()>,
) -> Option<f64> {
    let members = rows.first().map_or(0, Vec::len);
    if members < 2 || blocks == 0 || blocks % 2 == 1 || rows.len() < blocks {
        return None;
    }
    let rows = &rows[rows.len() % blocks..];
    let size = rows.len() / blocks;
    let (mut splits, mut overfit) = (0u64, 0u64);
    let mut in_sample: Vec<usize> = (0..blocks / 2).collect();
    let mut half = Vec::with_capacity(rows.len());
    let mut is = vec![0.0; members];
    let mut oos = vec![0.0; members];
    loop {
        for m in 0..members {
            for (inside, out) in [(true, &mut is), (false, &mut oos)] {
                half.clear();
                for b in (0..blocks).filter(|b| in_sample.contains(b) == inside) {
                    half.extend(rows[b * size..(b + 1) * size].iter().map(|r| r[m]));
                }
                out[m] = performance(&half);
            }
        }
        let mut best = 0;
        for m in 1..members {
            if is[m] > is[best] {
                best = m;
            }
        }
        let rank = 1 + oos.iter().filter(|v| **v < oos[best]).count();
        let omega = rank as f64 / (members as f64 + 1.0);
        let lambda = (omega / (1.0 - omega)).ln();
        splits += 1;
        overfit += u64::from(lambda <= 0.0);
        if visit(lambda).is_break() {
            return None;
        }
        if !next_combination(&mut in_sample, blocks) {
            break;
        }
    }
    Some(overfit as f64 / splits as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, places: i32) {
        assert!((got - want).abs() < 0.5 * 10f64.powi(-places), "got {got}, want {want}");
    }

    #[test]
    fn grids_are_numbered_with_the_first_parameter_slowest() {
        let fast = [5.0, 10.0, 15.0].map(ParamValue::Number).to_vec();
        let slow = [20.0, 30.0].map(ParamValue::Number).to_vec();
        let members = grid_members(&[("fast".into(), fast), ("slow".into(), slow)]);
        let shown: Vec<(f64, f64)> = members
            .iter()
            .map(|p| match (&p["fast"], &p["slow"]) {
                (ParamValue::Number(f), ParamValue::Number(s)) => (*f, *s),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            shown,
            [(5.0, 20.0), (5.0, 30.0), (10.0, 20.0), (10.0, 30.0), (15.0, 20.0), (15.0, 30.0)]
        );
    }

    #[test]
    fn windows_past_the_last_date_end_the_list_instead_of_overflowing() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let w = |train_days, test_days, anchored| WalkForward { train_days, test_days, anchored };
        assert!(windows(d(2025, 1, 1), d(2025, 1, 31), w(4_000_000_000, 7, false)).is_empty());
        assert!(windows(d(2025, 1, 1), d(2025, 1, 31), w(10, u32::MAX, true)).is_empty());
        assert_eq!(windows(d(2025, 1, 1), d(2025, 1, 31), w(1, 30, false)).len(), 1);
    }

    #[test]
    fn psr_and_dsr_reproduce_the_published_values() {
        // docs/design.md#sweeps: PSR with SR0 = 1, SR = 1.14, T = 250, skew 0, kurtosis 3 is 0.957278.
        close(psr(1.14, 1.0, 250.0, 0.0, 3.0).unwrap(), 0.957_278, 6);
        // Trials [3.5, 1.01, 1.02]: SR0 = 0.999016, DSR 0.958366.
        let trials = [3.5, 1.01, 1.02];
        close(expected_max_sharpe(&trials).unwrap(), 0.999_016, 6);
        close(dsr(1.14, 250.0, 0.0, 3.0, &trials).unwrap(), 0.958_366, 6);
        assert_eq!(dsr(1.0, 250.0, 0.0, 3.0, &[1.0]), None, "fewer than two members");
    }

    #[test]
    fn cscv_gives_the_worked_pbo() {
        // docs/design.md#sweeps's worked case: the mean as performance, S = 4, N = 4.
        let rows: Vec<Vec<f64>> = [
            [2, 5, 0, 5],
            [-4, 5, -4, 1],
            [-2, 2, -3, 1],
            [5, 0, -4, 1],
            [2, 1, -4, -3],
            [-3, -3, -5, -3],
            [4, 2, 5, -3],
            [4, 4, 2, 5],
        ]
        .iter()
        .map(|r| r.iter().map(|x| f64::from(*x)).collect())
        .collect();
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let mut lambdas = Vec::new();
        let value = pbo(&rows, 4, mean, |l| {
            lambdas.push(l);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(lambdas.len(), 6);
        for l in &lambdas {
            close(l.abs(), 0.405_465, 6);
        }
        assert_eq!(lambdas.iter().filter(|l| **l > 0.0).count(), 3);
        close(value, 0.5, 9);
        let go = |_| std::ops::ControlFlow::Continue(());
        assert_eq!(pbo(&rows[..3], 4, mean, go), None, "fewer days than blocks");
        assert_eq!(pbo(&[vec![1.0], vec![2.0]], 2, mean, go), None, "one member");
        // Stopped after the second split (a cancel): no value.
        let mut seen = 0;
        let stop = pbo(&rows, 4, mean, |_| {
            seen += 1;
            if seen == 2 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        });
        assert_eq!((stop, seen), (None, 2));
    }

    #[test]
    fn a_flat_member_ranks_lowest() {
        assert_eq!(sharpe(&[1.0, 1.0, 1.0]), f64::NEG_INFINITY);
        close(sharpe(&[1.0, 2.0, 3.0]), 2.0, 9);
    }
}

/// What a sweep's members share: the base settings, the bars (loaded once, read by every
/// worker), the funding rates, the strategy and its limits.
pub struct SweepInput<'a> {
    /// The settings every member starts from (its params are added to these).
    pub config: &'a cryptobt_domain::BacktestConfig,
    /// The market every member replays (bars, 1m bars for `intrabar = 1m`, funding), prepared
    /// once as a plain run prepares it.
    pub market: &'a crate::Prepared,
    /// Builds each member's strategy.
    pub strategies: &'a dyn cryptobt_domain::ports::StrategyFactory,
    /// The strategy's source.
    pub source: &'a str,
    /// Each member's limits (the cancel token stops the whole sweep).
    pub limits: cryptobt_domain::ports::StrategyLimits,
}

/// One member's outcome: its metrics (none when it failed before its first bar) and daily
/// returns (for the overfitting diagnostics).
#[derive(Debug, Clone)]
pub struct MemberResult {
    /// Its index.
    pub index: usize,
    /// Its params.
    pub params: Params,
    /// Completed, failed or cancelled.
    pub status: cryptobt_domain::RunStatus,
    /// Why it did not complete.
    pub error_code: Option<cryptobt_domain::ErrorCode>,
    /// The error's message.
    pub error_message: Option<String>,
    /// Its params that the strategy never read.
    pub unused_params: Vec<String>,
    /// Every name the strategy read from `params`.
    pub params_read: Vec<String>,
    /// Its metrics.
    pub metrics: cryptobt_domain::Metrics,
    /// Each UTC day's return (the day's last equity over the previous day's; the first day's over
    /// the initial capital).
    pub daily_returns: Vec<f64>,
}

/// Runs one member.
#[must_use]
pub fn run_member(input: &SweepInput<'_>, index: usize, params: &Params) -> MemberResult {
    use cryptobt_domain::RunStatus;
    let failed = |code: cryptobt_domain::ErrorCode, message: String| MemberResult {
        index,
        params: params.clone(),
        status: RunStatus::Failed,
        error_code: Some(code),
        error_message: Some(message),
        unused_params: Vec::new(),
        params_read: Vec::new(),
        metrics: cryptobt_domain::Metrics::default(),
        daily_returns: Vec::new(),
    };
    let config = match input.config.with_params(params) {
        Ok(config) => config,
        Err(e) => return failed(cryptobt_domain::ErrorCode::InvalidStrategy, e.to_string()),
    };
    let report = match input.market.run(
        &config,
        input.strategies,
        input.source,
        &input.limits,
        &(),
        &mut (),
    ) {
        Ok(report) => report,
        Err(e) => return failed(e.code, e.message),
    };
    MemberResult {
        index,
        params: params.clone(),
        status: report.status,
        error_code: report.error.as_ref().map(|e| e.code),
        error_message: report.error.map(|e| e.message),
        unused_params: report.unused_params,
        params_read: report.params_read,
        metrics: report.metrics,
        daily_returns: report.daily_returns,
    }
}

/// Runs `members` (index, params) on `threads` workers, each with its own strategy per member;
/// `progress(done)` after each. The results come back in index order, whatever the threads.
pub fn run_members(
    input: &SweepInput<'_>,
    members: &[(usize, Params)],
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<MemberResult> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(members.len()));
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((index, params)) = members.get(k) else { break };
                if input.limits.cancel.is_cancelled() {
                    break;
                }
                let result = run_member(input, *index, params);
                results.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(result);
                progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|r| r.index);
    results
}

/// The value of metric `key` of `metrics` (null when undefined).
#[must_use]
pub fn objective(metrics: &cryptobt_domain::Metrics, key: &str) -> Option<f64> {
    metrics.get(key)
}

/// The best of `candidates` — `(index, objective)` of the completed members with a value, in
/// index order — the highest, or the lowest with `minimize`; ties go to the lower index.
#[must_use]
pub fn pick_best(
    candidates: impl IntoIterator<Item = (usize, f64)>,
    minimize: bool,
) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (index, v) in candidates {
        let better = best.is_none_or(|(_, b)| if minimize { v < b } else { v > b });
        if better {
            best = Some((index, v));
        }
    }
    best
}

/// The best completed member of `results` by `key` ([`pick_best`]); failed members and null
/// objectives never win.
#[must_use]
pub fn best<'a>(
    results: &'a [MemberResult],
    key: &str,
    minimize: bool,
) -> Option<(&'a MemberResult, f64)> {
    let candidates = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == cryptobt_domain::RunStatus::Completed)
        .filter_map(|(k, r)| Some((k, objective(&r.metrics, key)?)));
    pick_best(candidates, minimize).map(|(k, v)| (&results[k], v))
}

/// Skewness and kurtosis (not excess) of `xs`, from population moments.
#[must_use]
pub fn moments(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let m2 = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let m3 = xs.iter().map(|x| (x - mean).powi(3)).sum::<f64>() / n;
    let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
    if m2 == 0.0 {
        return (0.0, 3.0);
    }
    (m3 / m2.powf(1.5), m4 / (m2 * m2))
}

/// PBO and DSR over the completed members' daily returns (`(index, returns)`; the days they all
/// share) with `best_index` the best member.
#[must_use]
pub fn diagnostics(
    done: &[(usize, &[f64])],
    best_index: Option<usize>,
    blocks: usize,
    cancelled: &dyn Fn() -> bool,
) -> (Option<f64>, Option<f64>) {
    let days = done.iter().map(|r| r.1.len()).min().unwrap_or(0);
    let rows: Vec<Vec<f64>> = (0..days).map(|d| done.iter().map(|r| r.1[d]).collect()).collect();
    let pbo_value = pbo(&rows, blocks, sharpe, |_| {
        if cancelled() {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    });
    let sharpes: Vec<f64> =
        done.iter().map(|r| sharpe(&r.1[..days])).filter(|s| s.is_finite()).collect();
    let dsr_value = best_index.and_then(|i| done.iter().find(|r| r.0 == i)).and_then(|b| {
        let xs = &b.1[..days];
        let sr = sharpe(xs);
        let (skew, kurt) = moments(xs);
        sr.is_finite().then(|| dsr(sr, xs.len() as f64, skew, kurt, &sharpes)).flatten()
    });
    (pbo_value, dsr_value)
}

/// One walk-forward window: the train days and the test days after them (inclusive UTC days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First and last train day.
    pub train: (chrono::NaiveDate, chrono::NaiveDate),
    /// First and last test day.
    pub test: (chrono::NaiveDate, chrono::NaiveDate),
}

/// The walk-forward windows over `start..=end` (docs/design.md#sweeps): `train` days then `test` days,
/// stepping by `test`; rolling keeps `train` days, `anchored` grows the train window from `start`.
/// Only windows whose test days all lie in the range.
#[must_use]
pub fn windows(start: chrono::NaiveDate, end: chrono::NaiveDate, spec: WalkForward) -> Vec<Window> {
    let WalkForward { train_days: train, test_days: test, anchored } = spec;
    let mut out = Vec::new();
    if train == 0 || test == 0 {
        return out;
    }
    // Checked date arithmetic: a window past the last representable date ends the list.
    let after = |day: chrono::NaiveDate, n: u64| day.checked_add_days(chrono::Days::new(n));
    for k in 0u64.. {
        let Some(offset) = k.checked_mul(u64::from(test)) else { break };
        let window = (|| {
            let train_start = if anchored { start } else { after(start, offset)? };
            let test_start = after(start, offset.checked_add(u64::from(train))?)?;
            let train_end = test_start.pred_opt()?;
            let test_end = after(test_start, u64::from(test) - 1)?;
            Some(Window { train: (train_start, train_end), test: (test_start, test_end) })
        })();
        match window {
            Some(w) if w.test.1 <= end => out.push(w),
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod walk_forward_tests {
    use chrono::NaiveDate;

    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).unwrap()
    }

    #[test]
    fn rolling_and_anchored_windows_step_by_the_test_days() {
        // January 1–31, train 10 days, test 7: tests Jan 11–17, 18–24, 25–31; rolling trains
        // Jan 1–10, 8–17, 15–24; anchored trains Jan 1–10, 1–17, 1–24.
        let w = |anchored| WalkForward { train_days: 10, test_days: 7, anchored };
        let rolling = windows(d(1, 1), d(1, 31), w(false));
        assert_eq!(
            rolling,
            [
                Window { train: (d(1, 1), d(1, 10)), test: (d(1, 11), d(1, 17)) },
                Window { train: (d(1, 8), d(1, 17)), test: (d(1, 18), d(1, 24)) },
                Window { train: (d(1, 15), d(1, 24)), test: (d(1, 25), d(1, 31)) },
            ]
        );
        let anchored = windows(d(1, 1), d(1, 31), w(true));
        assert_eq!(
            anchored.iter().map(|w| w.train).collect::<Vec<_>>(),
            [(d(1, 1), d(1, 10)), (d(1, 1), d(1, 17)), (d(1, 1), d(1, 24))]
        );
        assert!(windows(d(1, 1), d(1, 12), w(false)).is_empty(), "no whole test window");
    }
}

/// What one walk-forward window chose and how it did.
#[derive(Debug, Clone)]
pub struct WindowResult {
    /// The window.
    pub window: Window,
    /// The best member on the train days and its objective there.
    pub best: Option<(usize, Params, f64)>,
    /// The objective of that member on the test days.
    pub test_objective: Option<f64>,
    /// The test run's daily returns (the first against the window's starting equity).
    pub daily_returns: Vec<f64>,
    /// The test run's metrics (its `final_equity` is what the next window starts from).
    pub metrics: cryptobt_domain::Metrics,
}

/// `run` over the days `days` (inclusive) of `input`, starting with `capital`; `None` when the
/// settings refuse that window.
fn on_days<R>(
    input: &SweepInput<'_>,
    days: (chrono::NaiveDate, chrono::NaiveDate),
    capital: Decimal,
    run: impl FnOnce(&SweepInput<'_>) -> R,
) -> Option<R> {
    let config = input.config.with_window(days.0, days.1, capital).ok()?;
    let market = input.market.days(days.0, days.1);
    Some(run(&SweepInput {
        config: &config,
        market: &market,
        limits: input.limits.clone(),
        ..*input
    }))
}

/// Walk-forward (docs/design.md#sweeps): on each window the best member of the train days (by `key`, as
/// [`best`] picks it) runs on the test days, starting from the previous window's final equity.
pub fn walk_forward(
    input: &SweepInput<'_>,
    members: &[(usize, Params)],
    threads: usize,
    windows: &[Window],
    key: &str,
    minimize: bool,
) -> Vec<WindowResult> {
    let mut capital = input.config.initial_capital();
    let mut out = Vec::new();
    for window in windows {
        let mut result = WindowResult {
            window: *window,
            best: None,
            test_objective: None,
            daily_returns: Vec::new(),
            metrics: cryptobt_domain::Metrics::default(),
        };
        let Some(results) = on_days(input, window.train, capital, |train| {
            run_members(train, members, threads, &|_| {})
        }) else {
            break;
        };
        if let Some((winner, value)) = best(&results, key, minimize) {
            result.best = Some((winner.index, winner.params.clone(), value));
            let tested = on_days(input, window.test, capital, |test| {
                run_member(test, winner.index, &winner.params)
            });
            if let Some(run) = tested {
                result.test_objective = objective(&run.metrics, key);
                result.daily_returns = run.daily_returns;
                result.metrics = run.metrics;
            }
        }
        let next = result.metrics.final_equity;
        out.push(result);
        match next {
            Some(equity) if equity > Decimal::ZERO => capital = equity,
            _ => break,
        }
    }
    out
}

/// Mean test objective over mean train objective of the windows that have both; `None` when the
/// mean train objective is ≤ 0 or the objective is minimised (a ratio of two losses is no score).
#[must_use]
pub fn efficiency(windows: &[WindowResult], minimize: bool) -> Option<f64> {
    if minimize {
        return None;
    }
    let pairs: Vec<(f64, f64)> =
        windows.iter().filter_map(|w| Some((w.best.as_ref()?.2, w.test_objective?))).collect();
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let train = pairs.iter().map(|p| p.0).sum::<f64>() / n;
    let test = pairs.iter().map(|p| p.1).sum::<f64>() / n;
    (train > 0.0).then(|| test / train).filter(|e| e.is_finite())
}
