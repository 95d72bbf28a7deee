//! Building blocks of sweeps (DESIGN §11): the members of a grid, numbered from 0 with the first
//! parameter varying slowest, and the two overfitting diagnostics — the probability of backtest
//! overfitting by combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado and
//! Zhu, 2017) and the deflated Sharpe ratio (Bailey and López de Prado, 2014).

use cryptobt_domain::{ParamValue, Params};
use rust_decimal::Decimal;
use statrs::distribution::{ContinuousCDF, Normal};

/// The Euler–Mascheroni constant as DESIGN §11 writes it.
const EULER_GAMMA: f64 = 0.577_215_664_9;

/// The values of one `--grid` SPEC: `a:b:step` (inclusive, exact decimal steps) or `v1,v2,...`
/// (numbers or strings).
///
/// # Errors
/// A message naming what is wrong with the spec.
pub fn grid_values(spec: &str) -> Result<Vec<ParamValue>, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.len() == 3 {
        let number = |s: &str| {
            s.trim().parse::<Decimal>().map_err(|_| format!("{s:?} in {spec:?} is not a number"))
        };
        let (a, b, step) = (number(parts[0])?, number(parts[1])?, number(parts[2])?);
        if step <= Decimal::ZERO {
            return Err(format!("the step of {spec:?} must be greater than 0"));
        }
        if b < a {
            return Err(format!("{spec:?} ends before it starts"));
        }
        let count = ((b - a) / step).floor() + Decimal::ONE;
        if count > Decimal::from(1_000_000) {
            return Err(format!("{spec:?} has more than 1,000,000 values"));
        }
        let mut out = Vec::new();
        let mut v = a;
        while v <= b {
            out.push(ParamValue::Number(cryptobt_domain::money::decimal_to_f64(v)));
            v += step;
        }
        return Ok(out);
    }
    if parts.len() != 1 {
        return Err(format!("{spec:?} is neither a:b:step nor v1,v2,..."));
    }
    let values: Vec<ParamValue> = spec
        .split(',')
        .map(str::trim)
        .map(|v| match v.parse::<f64>() {
            Ok(x) if x.is_finite() => ParamValue::Number(x),
            _ => ParamValue::Text(v.to_owned()),
        })
        .collect();
    if values.iter().any(|v| matches!(v, ParamValue::Text(t) if t.is_empty())) {
        return Err(format!("{spec:?} has an empty value"));
    }
    Ok(values)
}

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
/// (DESIGN §11's `SR0`). `None` with fewer than two.
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

/// Every way to choose `k` of `0..n`, in lexicographic order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut pick: Vec<usize> = (0..k).collect();
    loop {
        out.push(pick.clone());
        let Some(i) = (0..k).rev().find(|&i| pick[i] != i + n - k) else { return out };
        pick[i] += 1;
        for j in i + 1..k {
            pick[j] = pick[j - 1] + 1;
        }
    }
}

/// The probability of backtest overfitting by CSCV over `rows` (T days × N members of daily
/// returns) in `blocks` blocks, with `performance` of a member's returns in a half (DESIGN §11:
/// mean / sample standard deviation). Also returns the λ of every split. `None` with fewer than 2
/// members, fewer days than blocks, or an odd or zero number of blocks.
#[must_use]
pub fn pbo(
    rows: &[Vec<f64>],
    blocks: usize,
    performance: impl Fn(&[f64]) -> f64,
) -> Option<(f64, Vec<f64>)> {
    let members = rows.first().map_or(0, Vec::len);
    if members < 2 || blocks == 0 || blocks % 2 == 1 || rows.len() < blocks {
        return None;
    }
    let rows = &rows[rows.len() % blocks..];
    let size = rows.len() / blocks;
    let mut lambdas = Vec::new();
    for in_sample in combinations(blocks, blocks / 2) {
        let half = |inside: bool, member: usize| -> Vec<f64> {
            (0..blocks)
                .filter(|b| in_sample.contains(b) == inside)
                .flat_map(|b| rows[b * size..(b + 1) * size].iter().map(move |r| r[member]))
                .collect()
        };
        let is: Vec<f64> = (0..members).map(|m| performance(&half(true, m))).collect();
        let oos: Vec<f64> = (0..members).map(|m| performance(&half(false, m))).collect();
        let mut best = 0;
        for m in 1..members {
            if is[m] > is[best] {
                best = m;
            }
        }
        let rank = 1 + oos.iter().filter(|v| **v < oos[best]).count();
        let omega = rank as f64 / (members as f64 + 1.0);
        lambdas.push((omega / (1.0 - omega)).ln());
    }
    let overfit = lambdas.iter().filter(|l| **l <= 0.0).count();
    Some((overfit as f64 / lambdas.len() as f64, lambdas))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, places: i32) {
        assert!((got - want).abs() < 0.5 * 10f64.powi(-places), "got {got}, want {want}");
    }

    #[test]
    fn grids_are_numbered_with_the_first_parameter_slowest() {
        let fast = grid_values("5:15:5").unwrap();
        assert_eq!(fast, [5.0, 10.0, 15.0].map(ParamValue::Number));
        let slow = grid_values("20,30").unwrap();
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
        // Decimal steps are exact: 0.1 + 0.2 is 0.3 here.
        assert_eq!(grid_values("0.1:0.3:0.1").unwrap().len(), 3);
        assert_eq!(
            grid_values("a,b").unwrap(),
            [ParamValue::Text("a".into()), ParamValue::Text("b".into())]
        );
        assert!(grid_values("5:1:1").unwrap_err().contains("ends before"));
        assert!(grid_values("1:5:0").unwrap_err().contains("step"));
        assert!(grid_values("1:x:1").unwrap_err().contains("not a number"));
    }

    #[test]
    fn psr_and_dsr_reproduce_the_published_values() {
        // DESIGN §11: PSR with SR0 = 1, SR = 1.14, T = 250, skew 0, kurtosis 3 is 0.957278.
        close(psr(1.14, 1.0, 250.0, 0.0, 3.0).unwrap(), 0.957_278, 6);
        // Trials [3.5, 1.01, 1.02]: SR0 = 0.999016, DSR 0.958366.
        let trials = [3.5, 1.01, 1.02];
        close(expected_max_sharpe(&trials).unwrap(), 0.999_016, 6);
        close(dsr(1.14, 250.0, 0.0, 3.0, &trials).unwrap(), 0.958_366, 6);
        assert_eq!(dsr(1.0, 250.0, 0.0, 3.0, &[1.0]), None, "fewer than two members");
    }

    #[test]
    fn cscv_gives_the_worked_pbo() {
        // DESIGN §11's worked case: the mean as performance, S = 4, N = 4.
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
        let (value, lambdas) = pbo(&rows, 4, mean).unwrap();
        assert_eq!(lambdas.len(), 6);
        for l in &lambdas {
            close(l.abs(), 0.405_465, 6);
        }
        assert_eq!(lambdas.iter().filter(|l| **l > 0.0).count(), 3);
        close(value, 0.5, 9);
        assert_eq!(pbo(&rows[..3], 4, mean), None, "fewer days than blocks");
        assert_eq!(pbo(&[vec![1.0], vec![2.0]], 2, mean), None, "one member");
    }

    #[test]
    fn a_flat_member_ranks_lowest() {
        assert_eq!(sharpe(&[1.0, 1.0, 1.0]), f64::NEG_INFINITY);
        close(sharpe(&[1.0, 2.0, 3.0]), 2.0, 9);
    }
}
