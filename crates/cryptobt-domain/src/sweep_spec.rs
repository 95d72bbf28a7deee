//! `SweepSpec`: a parameter sweep as typed values (docs/design.md, "Sweeps"), parsed once from
//! the text the CLI's flags and the API's fields carry. Every spec is checked here, before any
//! member list is built: the member count is computed from the spaces alone, arithmetic is
//! checked (a range whose width overflows a decimal, a random range too wide to draw from, a
//! walk-forward length past the last date are refused), and each error names its field.

use rust_decimal::Decimal;

use crate::{metric, money::decimal_to_f64, ports::PlanError, MetricDef, ParamValue};

/// What is wrong with one `--grid` or `--walk-forward` spec, in words that name the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

impl From<String> for SpecError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for SpecError {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

/// Most members a sweep may have (the product of its grids, or its random draws).
pub const MAX_SWEEP_MEMBERS: usize = 100_000;
/// Most members × days of the range a sweep may have.
pub const MAX_SWEEP_MEMBER_DAYS: u64 = 20_000_000;
/// The blocks of the PBO's cross-validation: an even number in this range.
pub const SWEEP_BLOCKS: std::ops::RangeInclusive<usize> = 2..=20;

/// The order of two members by an objective: the better value first (the higher, or the lower
/// with `minimize`), ties to the lower index. The one ranking of sweeps: the best member, a
/// heatmap cell, a table sorted by a column and the CLI's top ten all use it.
#[must_use]
pub fn rank(a: (f64, usize), b: (f64, usize), minimize: bool) -> std::cmp::Ordering {
    let by = a.0.total_cmp(&b.0);
    (if minimize { by } else { by.reverse() }).then(a.1.cmp(&b.1))
}

/// The values one parameter takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamSpace {
    /// `a:b:step`: `a`, `a + step`, ... up to `b` inclusive, in exact decimal steps.
    Range {
        /// First value.
        start: Decimal,
        /// Last value (inclusive).
        end: Decimal,
        /// Step (> 0).
        step: Decimal,
    },
    /// `v1,v2,...`: numbers or text, each once.
    List(Vec<ParamValue>),
    /// `a:b` of a random sweep: uniform draws in `[a, b]`, whole numbers when both ends are.
    Uniform {
        /// Low end.
        low: f64,
        /// High end.
        high: f64,
        /// Both ends written without a decimal point: draws are whole numbers.
        integers: bool,
    },
}

/// One parameter of a sweep: its name, its space and the `NAME=SPEC` text it was given as (what
/// `sweep.json` records).
#[derive(Debug, Clone, PartialEq)]
pub struct SweepParam {
    /// The parameter's name, as the strategy reads it from `params`.
    pub name: String,
    /// Its values.
    pub space: ParamSpace,
    /// `NAME=SPEC` as given.
    pub text: String,
}

/// Walk-forward windows: `train` days then `test` days, rolling or anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkForward {
    /// Train days of a window.
    pub train_days: u32,
    /// Test days of a window (and the step between windows).
    pub test_days: u32,
    /// The train window grows from the start instead of rolling.
    pub anchored: bool,
}

/// How the members are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draws {
    /// Every combination of the grids, the first parameter varying slowest.
    Grid,
    /// `count` random draws from a generator seeded by `seed`.
    Random {
        /// Members drawn.
        count: usize,
        /// The generator's seed.
        seed: u64,
    },
}

/// A checked sweep: its parameters, how members are drawn, the objective and its direction, the
/// PBO's blocks and the optional walk-forward.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// The parameters, in the order given (the first varies slowest).
    pub params: Vec<SweepParam>,
    /// Grid or random draws.
    pub draws: Draws,
    /// The metric the best member is chosen by.
    pub objective: &'static MetricDef,
    /// The best member has the least of the objective.
    pub minimize: bool,
    /// Blocks of the PBO's cross-validation.
    pub blocks: usize,
    /// Walk-forward windows, if any.
    pub walk_forward: Option<WalkForward>,
}

/// The text of a sweep as the CLI's flags and the API's fields give it.
#[derive(Debug, Clone, Copy)]
pub struct SweepText<'a> {
    /// `NAME=SPEC` per parameter.
    pub grid: &'a [String],
    /// `--random N`.
    pub random: Option<usize>,
    /// `--seed`.
    pub seed: u64,
    /// `--objective`.
    pub objective: &'a str,
    /// `--minimize`.
    pub minimize: bool,
    /// `--blocks`.
    pub blocks: usize,
    /// `--walk-forward train=Nd,test=Nd[,anchored]`.
    pub walk_forward: Option<&'a str>,
}

impl SweepSpec {
    /// Parses and checks `text` for a range of `days` days (the member × days cap and the
    /// walk-forward's whole windows need it).
    ///
    /// # Errors
    /// A [`PlanError`] naming the field (`grid`, `random`, `objective`, `blocks`,
    /// `walk_forward`) and the bad value.
    pub fn parse(text: &SweepText<'_>, days: u64) -> Result<Self, PlanError> {
        let objective = metric(text.objective).ok_or_else(|| {
            PlanError::new(
                "objective",
                format!(
                    "objective {:?} is not a metric (docs/metrics.md lists them)",
                    text.objective
                ),
            )
        })?;
        let bad_grid = |message: String| PlanError::new("grid", message);
        if let Some(count) = text.random {
            // The draws are counted before any range is read.
            let member_days = (count as u64).saturating_mul(days.max(1));
            if count == 0 || count > MAX_SWEEP_MEMBERS || member_days > MAX_SWEEP_MEMBER_DAYS {
                return Err(PlanError::new(
                    "random",
                    format!(
                        "random {count}: the sweep has {count} members over {days} days; it needs \
                         1 to {MAX_SWEEP_MEMBERS} members and at most {MAX_SWEEP_MEMBER_DAYS} \
                         members × days"
                    ),
                ));
            }
        }
        if text.grid.is_empty() {
            return Err(bad_grid("a sweep needs at least one --grid NAME=SPEC".to_owned()));
        }
        let mut params: Vec<SweepParam> = Vec::new();
        for raw in text.grid {
            let (name, spec) = raw
                .split_once('=')
                .ok_or_else(|| bad_grid(format!("--grid {raw:?} is not NAME=SPEC")))?;
            let (name, spec) = (name.trim(), spec.trim());
            if name.is_empty() {
                return Err(bad_grid(format!("--grid {raw:?} has no parameter name")));
            }
            if params.iter().any(|p| p.name == name) {
                return Err(bad_grid(format!("parameter {name:?} is in the grid twice")));
            }
            let space = match text.random {
                Some(_) => uniform(spec),
                None => grid_space(spec),
            }
            .map_err(|e| bad_grid(format!("--grid {name}={spec}: {e}")))?;
            params.push(SweepParam { name: name.to_owned(), space, text: raw.clone() });
        }
        let draws = match text.random {
            Some(count) => Draws::Random { count, seed: text.seed },
            None => Draws::Grid,
        };
        if !SWEEP_BLOCKS.contains(&text.blocks) || text.blocks % 2 == 1 {
            return Err(PlanError::new(
                "blocks",
                format!("blocks {} must be an even number from 2 to 20", text.blocks),
            ));
        }
        let walk_forward = text
            .walk_forward
            .map(parse_walk_forward)
            .transpose()
            .map_err(|e| PlanError::new("walk_forward", format!("walk_forward: {e}")))?;
        let spec = Self {
            params,
            draws,
            objective,
            minimize: text.minimize,
            blocks: text.blocks,
            walk_forward,
        };
        let count = spec.member_count();
        let member_days = (count as u64).saturating_mul(days.max(1));
        if count > MAX_SWEEP_MEMBERS || member_days > MAX_SWEEP_MEMBER_DAYS {
            let field = if text.random.is_some() { "random" } else { "grid" };
            return Err(PlanError::new(
                field,
                format!(
                    "the sweep has {count} members over {days} days; at most \
                     {MAX_SWEEP_MEMBERS} members and {MAX_SWEEP_MEMBER_DAYS} members × days"
                ),
            ));
        }
        // Duplicates are refused once the count is known to be small enough to list.
        for p in &spec.params {
            if let ParamSpace::Range { .. } | ParamSpace::List(_) = p.space {
                values_of(&p.space)
                    .map_err(|e| bad_grid(format!("--grid {}: {e}", p.text.trim())))?;
            }
        }
        Ok(spec)
    }

    /// How many members the spec has, from the spaces alone (saturating; nothing is listed).
    #[must_use]
    pub fn member_count(&self) -> usize {
        match self.draws {
            Draws::Random { count, .. } => count,
            Draws::Grid => self
                .params
                .iter()
                .map(|p| space_count(&p.space))
                .fold(1usize, usize::saturating_mul),
        }
    }

    /// The parameter names, in order.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        self.params.iter().map(|p| p.name.clone()).collect()
    }

    /// `NAME=SPEC` of each parameter, as given.
    #[must_use]
    pub fn grid_text(&self) -> Vec<String> {
        self.params.iter().map(|p| p.text.clone()).collect()
    }

    /// The values of each grid parameter, in order (`None` for a random sweep).
    ///
    /// # Errors
    /// Never for a parsed spec (it was checked); a message otherwise.
    pub fn grid(&self) -> Option<Vec<(String, Vec<ParamValue>)>> {
        if self.draws != Draws::Grid {
            return None;
        }
        self.params.iter().map(|p| values_of(&p.space).ok().map(|v| (p.name.clone(), v))).collect()
    }
}

/// The count of a grid space (saturating).
fn space_count(space: &ParamSpace) -> usize {
    match space {
        ParamSpace::Range { start, end, step } => end
            .checked_sub(*start)
            .and_then(|w| w.checked_div(*step))
            .map(|n| n.floor())
            .and_then(|n| u64::try_from(n).ok())
            .and_then(|n| usize::try_from(n).ok())
            .map_or(usize::MAX, |n| n.saturating_add(1)),
        ParamSpace::List(values) => values.len(),
        ParamSpace::Uniform { .. } => 1,
    }
}

/// `a:b:step` or `v1,v2,...`.
fn grid_space(spec: &str) -> Result<ParamSpace, SpecError> {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.len() {
        3 => {
            let number = |s: &str| {
                s.trim()
                    .parse::<Decimal>()
                    .map_err(|_| format!("{s:?} in {spec:?} is not a decimal number"))
            };
            let (start, end, step) = (number(parts[0])?, number(parts[1])?, number(parts[2])?);
            if step <= Decimal::ZERO {
                return Err(format!("the step of {spec:?} must be greater than 0").into());
            }
            if end < start {
                return Err(format!("{spec:?} ends before it starts").into());
            }
            end.checked_sub(start)
                .and_then(|w| w.checked_div(step))
                .ok_or_else(|| format!("{spec:?}: the range overflows a decimal"))?;
            Ok(ParamSpace::Range { start, end, step })
        }
        1 => {
            let values: Vec<ParamValue> = spec
                .split(',')
                .map(str::trim)
                .map(|v| match v.parse::<f64>() {
                    Ok(x) if x.is_finite() => ParamValue::Number(x),
                    _ => ParamValue::Text(v.to_owned()),
                })
                .collect();
            if values.iter().any(|v| matches!(v, ParamValue::Text(t) if t.is_empty())) {
                return Err(format!("{spec:?} has an empty value").into());
            }
            Ok(ParamSpace::List(values))
        }
        _ => Err(format!("{spec:?} is neither a:b:step nor v1,v2,...").into()),
    }
}

/// `a:b` of a random sweep.
fn uniform(spec: &str) -> Result<ParamSpace, SpecError> {
    let (a, b) = spec.split_once(':').ok_or("with --random a SPEC is a:b")?;
    let (a, b) = (a.trim(), b.trim());
    let integers = !a.contains('.') && !b.contains('.');
    let (low, high): (f64, f64) = (
        a.parse().map_err(|_| format!("{a:?} is not a number"))?,
        b.parse().map_err(|_| format!("{b:?} is not a number"))?,
    );
    if !(low.is_finite() && high.is_finite()) || high < low {
        return Err("ends before it starts".into());
    }
    if !(high - low + 1.0).is_finite() {
        return Err("the range is too wide to draw from".into());
    }
    Ok(ParamSpace::Uniform { low, high, integers })
}

/// The values of a grid space, in order; a value that repeats (as the strategy sees it: two
/// decimals with the same f64 are one value) is refused.
///
/// # Errors
/// The first value that repeats; a random space has no list.
pub fn values_of(space: &ParamSpace) -> Result<Vec<ParamValue>, SpecError> {
    let values: Vec<ParamValue> = match space {
        ParamSpace::Range { start, end, step } => {
            let mut out = Vec::with_capacity(space_count(space).min(MAX_SWEEP_MEMBERS));
            let mut v = *start;
            while v <= *end && out.len() <= MAX_SWEEP_MEMBERS {
                out.push(ParamValue::Number(decimal_to_f64(v)));
                match v.checked_add(*step) {
                    Some(next) => v = next,
                    None => break,
                }
            }
            out
        }
        ParamSpace::List(values) => values.clone(),
        ParamSpace::Uniform { .. } => return Err("a random range has no list".into()),
    };
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    for v in &values {
        let key = match v {
            ParamValue::Number(x) => (x.to_bits(), ""),
            ParamValue::Text(t) => (0, t.as_str()),
        };
        if !seen.insert(key) {
            return Err(format!("the value {v:?} is there twice").into());
        }
    }
    Ok(values)
}

/// Parses `train=30d,test=7d[,anchored]`.
///
/// # Errors
/// A message naming the bad part.
pub fn parse_walk_forward(spec: &str) -> Result<WalkForward, SpecError> {
    let (mut train, mut test, mut anchored) = (None, None, false);
    for part in spec.split(',').map(str::trim) {
        let days = |v: &str| {
            v.strip_suffix('d')
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{v:?} in {spec:?} is not a number of days like 30d"))
        };
        match part.split_once('=') {
            Some(("train", v)) => train = Some(days(v)?),
            Some(("test", v)) => test = Some(days(v)?),
            None if part == "anchored" => anchored = true,
            _ => {
                return Err(format!(
                    "{part:?} in --walk-forward {spec:?} is not train=Nd, test=Nd or anchored"
                )
                .into())
            }
        }
    }
    match (train, test) {
        (Some(train_days), Some(test_days)) => Ok(WalkForward { train_days, test_days, anchored }),
        _ => Err(format!("--walk-forward {spec:?} needs train=Nd and test=Nd").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(grid: &[&str], random: Option<usize>, blocks: usize) -> Result<SweepSpec, PlanError> {
        let grid: Vec<String> = grid.iter().map(|g| (*g).to_owned()).collect();
        let text = SweepText {
            grid: &grid,
            random,
            seed: 0,
            objective: "sharpe_ratio",
            minimize: false,
            blocks,
            walk_forward: None,
        };
        SweepSpec::parse(&text, 10)
    }

    #[test]
    fn specs_are_counted_from_their_spaces_and_refused_by_field() {
        let spec = parse(&["fast=5:15:5", "slow=20,30"], None, 4).unwrap();
        assert_eq!(spec.member_count(), 6);
        assert_eq!(spec.names(), ["fast", "slow"]);
        let grid = spec.grid().unwrap();
        assert_eq!(grid[0].1, [5.0, 10.0, 15.0].map(ParamValue::Number));
        // Decimal steps are exact: 0.1 + 0.2 is 0.3 here.
        assert_eq!(parse(&["a=0.1:0.3:0.1"], None, 4).unwrap().member_count(), 3);
        let field = |r: Result<SweepSpec, PlanError>| r.unwrap_err().field;
        assert_eq!(field(parse(&["a=1:1000000:1"], None, 4)), "grid");
        assert_eq!(field(parse(&["a=1:2"], Some(200_000), 4)), "random");
        assert_eq!(field(parse(&["a=1"], None, 22)), "blocks");
        assert_eq!(field(parse(&["a=1"], None, 3)), "blocks");
        let huge = "a=-79228162514264337593543950335:79228162514264337593543950335:1";
        assert!(parse(&[huge], None, 4).unwrap_err().message.contains("overflows a decimal"));
        assert!(parse(&["a=1,2,1"], None, 4).unwrap_err().message.contains("twice"));
        let wide = parse(&["a=-1e308:1e308"], Some(3), 4).unwrap_err();
        assert!(wide.message.contains("too wide"), "{wide}");
        // 19 two-value params: 524,288 members, refused before any list is built.
        let many: Vec<String> = (0..19).map(|k| format!("p{k:0>60}=1,2")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(parse(&many, None, 4).unwrap_err().message.contains("524288 members"));
    }

    #[test]
    fn walk_forward_specs_parse() {
        assert_eq!(
            parse_walk_forward("train=30d,test=7d,anchored"),
            Ok(WalkForward { train_days: 30, test_days: 7, anchored: true })
        );
        assert!(parse_walk_forward("train=30,test=7d").unwrap_err().0.contains("30"));
        assert!(parse_walk_forward("test=7d").unwrap_err().0.contains("needs"));
    }
}
