//! Streaming technical indicators, one value per `update`, equal to TA-Lib's function of the same
//! name from the first bar where TA-Lib gives a value (`None` before). Indicator maths is f64.

use std::collections::VecDeque;

/// The largest period accepted (TA-Lib's own bound).
pub const MAX_PERIOD: usize = 100_000;

/// A window of the last `n` values.
#[derive(Debug, Clone)]
struct Window {
    values: VecDeque<f64>,
    n: usize,
}

impl Window {
    fn new(n: usize) -> Self {
        Self { values: VecDeque::with_capacity(n), n }
    }
    /// Pushes `x`; returns the value that fell out, if the window was full.
    fn push(&mut self, x: f64) -> Option<f64> {
        let out = if self.values.len() == self.n { self.values.pop_front() } else { None };
        self.values.push_back(x);
        out
    }
    fn full(&self) -> bool {
        self.values.len() == self.n
    }
}

/// TA-Lib `SMA`: the mean of the last `n` values. Like TA-Lib, the running total gains the new
/// value, yields the mean, then loses the oldest value (the order matters in floating point).
#[derive(Debug, Clone)]
pub struct Sma {
    window: Window,
    sum: f64,
}

impl Sma {
    /// An SMA over `n` values.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self { window: Window::new(n), sum: 0.0 }
    }
    /// Adds a value; the mean once `n` values are in.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.values.push_back(x);
        self.sum += x;
        if self.window.values.len() < self.window.n {
            return None;
        }
        let mean = self.sum / self.window.n as f64;
        if let Some(old) = self.window.values.pop_front() {
            self.sum -= old;
        }
        Some(mean)
    }
}

/// TA-Lib `EMA`: seeded with the SMA of the first `n` values, then `k = 2 / (n + 1)`.
#[derive(Debug, Clone)]
pub struct Ema {
    n: usize,
    k: f64,
    seen: usize,
    seed: f64,
    value: Option<f64>,
}

impl Ema {
    /// An EMA over `n` values.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self { n, k: 2.0 / (n as f64 + 1.0), seen: 0, seed: 0.0, value: None }
    }
    /// Adds a value.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        match self.value {
            Some(prev) => self.value = Some((x - prev) * self.k + prev),
            None => {
                self.seen += 1;
                self.seed += x;
                if self.seen == self.n {
                    self.value = Some(self.seed / self.n as f64);
                }
            }
        }
        self.value
    }
}

/// TA-Lib `RSI` (Wilder): simple averages of the first `n` gains and losses, then Wilder's
/// smoothing; 0 when there was no movement at all.
#[derive(Debug, Clone)]
pub struct Rsi {
    n: usize,
    previous: Option<f64>,
    changes: usize,
    gain: f64,
    loss: f64,
}

impl Rsi {
    /// An RSI over `n` changes.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self { n, previous: None, changes: 0, gain: 0.0, loss: 0.0 }
    }
    /// Adds a value.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        let prev = self.previous.replace(x)?;
        let change = x - prev;
        let (up, down) = if change > 0.0 { (change, 0.0) } else { (0.0, -change) };
        let n = self.n as f64;
        self.changes += 1;
        if self.changes <= self.n {
            self.gain += up;
            self.loss += down;
            if self.changes < self.n {
                return None;
            }
            self.gain /= n;
            self.loss /= n;
        } else {
            self.gain = (self.gain * (n - 1.0) + up) / n;
            self.loss = (self.loss * (n - 1.0) + down) / n;
        }
        let total = self.gain + self.loss;
        Some(if total != 0.0 { 100.0 * (self.gain / total) } else { 0.0 })
    }
}

/// TA-Lib `ATR` (Wilder): the mean of the first `n` true ranges (from the second bar), then
/// Wilder's smoothing. With `n = 1` it is the true range itself.
#[derive(Debug, Clone)]
pub struct Atr {
    n: usize,
    previous_close: Option<f64>,
    ranges: usize,
    value: f64,
}

impl Atr {
    /// An ATR over `n` true ranges.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self { n, previous_close: None, ranges: 0, value: 0.0 }
    }
    /// Adds a bar.
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let prev = self.previous_close.replace(close)?;
        let tr = (high - low).max((high - prev).abs()).max((low - prev).abs());
        let n = self.n as f64;
        self.ranges += 1;
        if self.ranges < self.n {
            self.value += tr;
            return None;
        }
        if self.ranges == self.n {
            self.value = (self.value + tr) / n;
        } else {
            self.value = (self.value * (n - 1.0) + tr) / n;
        }
        Some(self.value)
    }
}

/// Values below this variance count as zero, as in TA-Lib (`TA_IS_ZERO_OR_NEG`).
const ZERO_VARIANCE: f64 = 0.000_000_01;

/// TA-Lib `STDDEV` with one deviation: the population standard deviation of the last `n`
/// values, 0 when the variance is below 1e-8. The variance is taken around the window's mean
/// (two passes over the window): the one-pass `mean(x²) − mean(x)²` loses about seven digits on
/// prices near 10⁵, where TA-Lib does not.
#[derive(Debug, Clone)]
pub struct StdDev {
    window: Window,
}

impl StdDev {
    /// A standard deviation over `n` values.
    #[must_use]
    pub fn new(n: usize) -> Self {
        Self { window: Window::new(n) }
    }

    /// Adds a value; `(mean, variance)` of the window once it is full.
    fn moments(&mut self, x: f64) -> Option<(f64, f64)> {
        self.window.push(x);
        if !self.window.full() {
            return None;
        }
        let n = self.window.n as f64;
        let mean = self.window.values.iter().sum::<f64>() / n;
        let variance = self.window.values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        Some((mean, variance))
    }

    /// Adds a value.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.moments(x).map(|(_, variance)| deviation(variance))
    }
}

fn deviation(variance: f64) -> f64 {
    if variance < ZERO_VARIANCE {
        0.0
    } else {
        variance.sqrt()
    }
}

/// TA-Lib `BBANDS` with a simple moving average and `k` deviations both ways:
/// `(middle + k·sd, middle, middle − k·sd)`.
#[derive(Debug, Clone)]
pub struct Bbands {
    sd: StdDev,
    k: f64,
}

impl Bbands {
    /// Bands over `n` values, `k` deviations wide.
    #[must_use]
    pub fn new(n: usize, k: f64) -> Self {
        Self { sd: StdDev::new(n), k }
    }
    /// Adds a value; `(upper, middle, lower)`.
    pub fn update(&mut self, x: f64) -> Option<(f64, f64, f64)> {
        let (mid, variance) = self.sd.moments(x)?;
        let sd = deviation(variance);
        let width = if self.k == 1.0 { sd } else { sd * self.k };
        Some((mid + width, mid, mid - width))
    }
}

/// TA-Lib `MAX` (`highest`) or `MIN` (`lowest`) of the last `n` values.
#[derive(Debug, Clone)]
pub struct Extreme {
    window: Window,
    highest: bool,
}

impl Extreme {
    /// The highest of the last `n` values.
    #[must_use]
    pub fn highest(n: usize) -> Self {
        Self { window: Window::new(n), highest: true }
    }
    /// The lowest of the last `n` values.
    #[must_use]
    pub fn lowest(n: usize) -> Self {
        Self { window: Window::new(n), highest: false }
    }
    /// Adds a value.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push(x);
        if !self.window.full() {
            return None;
        }
        let values = self.window.values.iter().copied();
        Some(if self.highest {
            values.fold(f64::MIN, f64::max)
        } else {
            values.fold(f64::MAX, f64::min)
        })
    }
}

/// TA-Lib `MACD`: fast and slow EMAs aligned the way TA-Lib aligns them (both start at bar
/// `slow − 1`, the fast one seeded with the mean of the `fast` values ending there), their
/// difference, its EMA as the signal, and the histogram.
#[derive(Debug, Clone)]
pub struct Macd {
    fast: usize,
    slow: usize,
    recent: Window,
    seen: usize,
    fast_ema: Option<Ema>,
    slow_ema: Ema,
    signal: Ema,
}

impl Macd {
    /// MACD with the given periods (TA-Lib swaps `fast` and `slow` when `slow < fast`).
    #[must_use]
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        let (fast, slow) = if slow < fast { (slow, fast) } else { (fast, slow) };
        Self {
            fast,
            slow,
            recent: Window::new(fast),
            seen: 0,
            fast_ema: None,
            slow_ema: Ema::new(slow),
            signal: Ema::new(signal),
        }
    }
    /// Adds a value; `(macd, signal, histogram)`.
    pub fn update(&mut self, x: f64) -> Option<(f64, f64, f64)> {
        self.seen += 1;
        let slow = self.slow_ema.update(x);
        let fast = match &mut self.fast_ema {
            Some(ema) => ema.update(x),
            None => {
                self.recent.push(x);
                if self.seen < self.slow {
                    return None;
                }
                // The fast EMA starts at the slow EMA's first bar, seeded from the last `fast` values.
                let mut ema = Ema::new(self.fast);
                let mut value = None;
                for v in &self.recent.values {
                    value = ema.update(*v);
                }
                self.fast_ema = Some(ema);
                value
            }
        };
        let line = fast? - slow?;
        let signal = self.signal.update(line)?;
        Some((line, signal, line - signal))
    }
}

#[cfg(test)]
mod tests;
