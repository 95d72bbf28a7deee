//! A strategy's own series (`plot(name, value [, opts])`): drawn over the price or in a pane of
//! their own, bounded like the log so that no strategy can grow them without limit.

use serde::{Deserialize, Serialize};

/// At most this many series per run.
pub const MAX_PLOT_SERIES: usize = 8;
/// The longest series name, in bytes.
pub const MAX_PLOT_NAME_BYTES: usize = 32;
/// At most this many points per run, all series together (one per series and bar).
pub const MAX_PLOT_POINTS: usize = 2_200_000;
/// At most this many bytes of `plots.csv` per run, counting each point at the longest its row
/// can be written (name, pane, a 13-digit time and a 24-character value): the file's size is
/// bounded whatever values a strategy plots.
pub const MAX_PLOT_BYTES: usize = 128 << 20;

/// The longest `plots.csv` row of a point of series `name` in `pane` (the value written as the
/// shortest text that reads back, at most 24 characters; the time at most 14).
fn row_bytes(name: &str, pane: PlotPane) -> usize {
    name.len() + pane.as_str().len() + 14 + 24 + 4
}

/// Where a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PlotPane {
    /// Over the candles, on the price scale (an SMA, bands).
    #[default]
    Price,
    /// In a pane of its own under the price (an RSI, an oscillator).
    Own,
}

impl PlotPane {
    /// The name used in files, JSON and Lua (`price`, `own`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Own => "own",
        }
    }
}

/// One series: its name, pane and points (bar open time, value), one per bar at most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotSeries {
    /// Its name (≤ 32 bytes).
    pub name: String,
    /// Where it is drawn.
    pub pane: PlotPane,
    /// (bar open time in ms, value), in time order.
    pub points: Vec<(i64, f64)>,
    /// Horizontal guide lines drawn with it (`opts.levels`, at most [`MAX_PLOT_LEVELS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<f64>,
}

/// The most guide lines one series has.
pub const MAX_PLOT_LEVELS: usize = 8;

/// Why a `plot` call was refused (the strategy gets `false, reason`; the run goes on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlotRefusal {
    /// An empty name or one over the byte limit.
    #[error("plot name must be 1 to {MAX_PLOT_NAME_BYTES} bytes, got {0} bytes")]
    Name(usize),
    /// Not a finite number.
    #[error("plot value must be a finite number, got {0}")]
    Value(String),
    /// One series too many.
    #[error("at most {MAX_PLOT_SERIES} plot series per run")]
    TooManySeries,
    /// The run's points are used up.
    #[error(
        "the plot limit of {MAX_PLOT_POINTS} points or {} MiB per run was reached",
        MAX_PLOT_BYTES >> 20
    )]
    TooManyPoints,
    /// Before the first bar.
    #[error("plot needs a bar: none exists before the first bar (in initialize)")]
    NoBar,
    /// The same name again with another pane.
    #[error("plot {0:?} is already drawn in another pane")]
    Pane(String),
    /// `levels` is not a list of at most 8 finite numbers.
    #[error("plot levels must be a list of at most {MAX_PLOT_LEVELS} finite numbers, got {0}")]
    Levels(String),
}

/// A run's plot series as they are recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plots {
    series: Vec<PlotSeries>,
    points: usize,
    bytes: usize,
}

impl Plots {
    /// No series yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` for series `name` at bar `time` (a second value in the same bar replaces
    /// the first).
    ///
    /// # Errors
    /// The [`PlotRefusal`]; nothing is recorded then.
    pub fn record(
        &mut self,
        name: &str,
        value: f64,
        pane: PlotPane,
        time: i64,
    ) -> Result<(), PlotRefusal> {
        if name.is_empty() || name.len() > MAX_PLOT_NAME_BYTES {
            return Err(PlotRefusal::Name(name.len()));
        }
        if !value.is_finite() {
            return Err(PlotRefusal::Value(value.to_string()));
        }
        let index = match self.series.iter().position(|s| s.name == name) {
            Some(i) if self.series[i].pane != pane => {
                return Err(PlotRefusal::Pane(name.to_owned()))
            }
            Some(i) => i,
            None if self.series.len() >= MAX_PLOT_SERIES => return Err(PlotRefusal::TooManySeries),
            None => {
                self.series.push(PlotSeries {
                    name: name.to_owned(),
                    pane,
                    points: Vec::new(),
                    levels: Vec::new(),
                });
                self.series.len() - 1
            }
        };
        let points = &mut self.series[index].points;
        match points.last_mut() {
            Some(last) if last.0 == time => last.1 = value,
            _ => {
                let bytes = self.bytes + row_bytes(name, pane);
                if self.points >= MAX_PLOT_POINTS || bytes > MAX_PLOT_BYTES {
                    return Err(PlotRefusal::TooManyPoints);
                }
                points.push((time, value));
                self.points += 1;
                self.bytes = bytes;
            }
        }
        Ok(())
    }

    /// [`record`](Self::record), then (with `Some`) [`set_levels`](Self::set_levels): the levels
    /// are checked first, and a refusal of either records nothing.
    ///
    /// # Errors
    /// The [`PlotRefusal`].
    pub fn record_with_levels(
        &mut self,
        name: &str,
        value: f64,
        pane: PlotPane,
        time: i64,
        levels: Option<&[f64]>,
    ) -> Result<(), PlotRefusal> {
        if let Some(levels) = levels {
            if levels.len() > MAX_PLOT_LEVELS || levels.iter().any(|l| !l.is_finite()) {
                return Err(PlotRefusal::Levels(format!("{levels:?}")));
            }
        }
        self.record(name, value, pane, time)?;
        match levels {
            Some(levels) => self.set_levels(name, levels),
            None => Ok(()),
        }
    }

    /// Sets the guide lines of the series `name` (one already recorded); a later call replaces
    /// them.
    ///
    /// # Errors
    /// [`PlotRefusal::Levels`] for more than [`MAX_PLOT_LEVELS`] or a value that is not finite.
    pub fn set_levels(&mut self, name: &str, levels: &[f64]) -> Result<(), PlotRefusal> {
        if levels.len() > MAX_PLOT_LEVELS || levels.iter().any(|l| !l.is_finite()) {
            return Err(PlotRefusal::Levels(format!("{levels:?}")));
        }
        if let Some(series) = self.series.iter_mut().find(|s| s.name == name) {
            series.levels = levels.to_vec();
        }
        Ok(())
    }

    /// The series, in the order first plotted.
    #[must_use]
    pub fn into_series(self) -> Vec<PlotSeries> {
        self.series
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_bounded_and_refusals_change_nothing() {
        let mut p = Plots::new();
        assert!(p.record("sma", 1.0, PlotPane::Price, 0).is_ok());
        assert!(p.record("sma", 2.0, PlotPane::Price, 0).is_ok(), "the same bar replaces");
        assert!(p.record("sma", 3.0, PlotPane::Price, 60).is_ok());
        assert_eq!(
            p.record("sma", f64::NAN, PlotPane::Price, 120),
            Err(PlotRefusal::Value("NaN".into()))
        );
        assert_eq!(p.record("", 1.0, PlotPane::Price, 0), Err(PlotRefusal::Name(0)));
        assert_eq!(p.record(&"x".repeat(33), 1.0, PlotPane::Price, 0), Err(PlotRefusal::Name(33)));
        assert_eq!(p.record("sma", 1.0, PlotPane::Own, 180), Err(PlotRefusal::Pane("sma".into())));
        for i in 1..MAX_PLOT_SERIES {
            assert!(p.record(&format!("s{i}"), 1.0, PlotPane::Own, 0).is_ok());
        }
        assert_eq!(p.record("one more", 1.0, PlotPane::Own, 0), Err(PlotRefusal::TooManySeries));
        let series = p.into_series();
        assert_eq!(series[0].points, [(0, 2.0), (60, 3.0)]);
        assert_eq!(series.len(), MAX_PLOT_SERIES);
    }
}
