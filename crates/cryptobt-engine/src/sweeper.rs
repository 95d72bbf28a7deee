//! [`SweepEngine`]: the `SweepService` port over `MarketData` and `StrategyFactory`
//! (docs/design.md, "Sweeps"). Every member is a plain run over one prepared market (the
//! engine's one run path); the first member runs alone first, the rest on worker threads; then
//! the diagnostics and the walk-forward. It returns rows and a typed `sweep.json`, and writes no
//! file: the sweep store does that.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use cryptobt_domain::{
    money::decimal_to_f64,
    ports::{
        BestMember, MarketData, PlanError, RunObserver, ServiceError, Shard, Stitched,
        StitchedMetrics, StrategyFactory, SweepMember, SweepOutcome, SweepRequest, SweepRow,
        SweepService, SweepSummary, WalkForwardReport, WindowBest, WindowReport,
    },
    BacktestConfig, Draws, ErrorCode, Metrics, ParamSpace, ParamValue, Params, RunStatus,
    SweepSpec, METRICS,
};

use crate::{
    sweep::{self, MemberResult, SweepInput},
    Prepared,
};

/// The members of a request: `(index, params)` in index order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every member to run.
    pub members: Vec<(usize, Params)>,
}

/// A small deterministic generator (SplitMix64) for random draws: the same seed draws the same
/// members on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The members of `spec`, checked against `config`: the walk-forward must hold a whole window
/// of the range, and the names must be parameter names.
///
/// # Errors
/// A [`PlanError`] naming the field and the bad value.
pub fn plan(spec: &SweepSpec, config: &BacktestConfig) -> Result<Plan, PlanError> {
    let members: Vec<(usize, Params)> = match spec.draws {
        Draws::Random { count, seed } => {
            let mut rng = SplitMix(seed);
            (0..count)
                .map(|i| {
                    let mut params = Params::new();
                    for p in &spec.params {
                        if let ParamSpace::Uniform { low, high, integers } = p.space {
                            let u = rng.unit();
                            let v = if integers {
                                (low + (u * (high - low + 1.0)).floor()).min(high)
                            } else {
                                low + u * (high - low)
                            };
                            params.insert(p.name.clone(), ParamValue::Number(v));
                        }
                    }
                    (i, params)
                })
                .collect()
        }
        Draws::Grid => {
            let grid = spec.grid().ok_or_else(|| PlanError::new("grid", "no grid"))?;
            sweep::grid_members(&grid).into_iter().enumerate().collect()
        }
    };
    if let Some((_, first)) = members.first() {
        // The names must be parameter names (checked once here, not as every member failing).
        config.with_params(first).map_err(|e| PlanError::new("grid", format!("--grid: {e}")))?;
    }
    if let Some(walk) = spec.walk_forward {
        let (start, end) = (config.start_date(), config.end_date());
        if sweep::windows(start, end, walk).is_empty() {
            return Err(PlanError::new(
                "walk_forward",
                format!(
                    "walk_forward: train={}d,test={}d holds no whole window in {start}..{end} \
                     ({} days needed)",
                    walk.train_days,
                    walk.test_days,
                    u64::from(walk.train_days) + u64::from(walk.test_days)
                ),
            ));
        }
    }
    Ok(Plan { members })
}

/// The values of `metrics` in [`METRICS`] order (the one place a metric is looked up by key).
#[must_use]
pub fn metric_values(metrics: &Metrics) -> Vec<Option<f64>> {
    metrics.values()
}

/// A member's row: its metrics in [`METRICS`] order (all null for a member that failed before
/// its first bar).
fn member_of(result: MemberResult) -> SweepMember {
    let ran = result.status != RunStatus::Failed || result.metrics != Metrics::default();
    let metrics = if ran { metric_values(&result.metrics) } else { vec![None; METRICS.len()] };
    let daily =
        if result.status == RunStatus::Completed { result.daily_returns } else { Vec::new() };
    SweepMember {
        row: SweepRow {
            index: result.index,
            params: result.params,
            metrics,
            status: result.status,
            error_code: result.error_code,
        },
        daily,
        message: result.error_message,
    }
}

pub use cryptobt_domain::rank;

/// The best completed member by metric `key` ([`rank`]); failed members and null objectives
/// never win.
#[must_use]
pub fn best_member<'a>(
    members: &'a [SweepMember],
    key: &str,
    minimize: bool,
) -> Option<(&'a SweepMember, f64)> {
    let k = METRICS.iter().position(|d| d.key == key)?;
    members
        .iter()
        .filter(|m| m.row.status == RunStatus::Completed)
        .filter_map(|m| Some((m, m.row.metrics[k]?)))
        .min_by(|a, b| rank((a.1, a.0.row.index), (b.1, b.0.row.index), minimize))
}

/// The fields of `sweep.json` that say what was swept.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSettings {
    /// The run settings as `config.json` writes them.
    pub config: serde_json::Value,
    /// `NAME=SPEC` as given.
    pub grid: Vec<String>,
    /// `--random`.
    pub random: Option<usize>,
    /// `--seed`.
    pub seed: u64,
    /// The objective's metric key.
    pub objective: String,
    /// `--minimize`.
    pub minimize: bool,
    /// `--blocks`.
    pub blocks: usize,
    /// `--shard` (`I/N`).
    pub shard: Option<String>,
}

impl SweepSettings {
    /// The settings of `request` (its shard as `I/N`).
    #[must_use]
    pub fn of(request: &SweepRequest, shard: Option<Shard>) -> Self {
        let record = cryptobt_domain::ports::RunRecord {
            backtest_id: cryptobt_domain::BacktestId::with_seed(
                chrono::NaiveDate::default().and_hms_opt(0, 0, 0).unwrap_or_default(),
                0,
            ),
            created_at: chrono::DateTime::<chrono::Utc>::default(),
            strategy_code: request.strategy_code.clone(),
            config: request.config.clone(),
            status: RunStatus::Completed,
            error: None,
        };
        let mut config = serde_json::to_value(cryptobt_domain::ConfigFile::from_record(&record))
            .unwrap_or_default();
        // A sweep is not a run: the record's identity fields say nothing here.
        if let Some(map) = config.as_object_mut() {
            for key in ["backtest_id", "created_at", "status", "error_message", "error_code"] {
                map.remove(key);
            }
        }
        let spec = &request.spec;
        let (random, seed) = match spec.draws {
            Draws::Random { count, seed } => (Some(count), seed),
            Draws::Grid => (None, 0),
        };
        Self {
            config,
            grid: spec.grid_text(),
            random,
            seed,
            objective: spec.objective.key.to_owned(),
            minimize: spec.minimize,
            blocks: spec.blocks,
            shard: shard.map(|s| format!("{}/{}", s.part, s.count)),
        }
    }

    /// The settings a `sweep.json` records.
    #[must_use]
    pub fn from_summary(summary: &SweepSummary) -> Self {
        Self {
            config: summary.settings.clone(),
            grid: summary.grid.clone(),
            random: summary.random,
            seed: summary.seed,
            objective: summary.objective.clone(),
            minimize: summary.minimize,
            blocks: summary.blocks,
            shard: summary.shard.clone(),
        }
    }
}

/// `sweep.json`: the settings, the counts, the best member, PBO and DSR over `members` (the
/// PBO's splits stop when `cancelled` says so), and the walk-forward report.
#[must_use]
pub fn summary(
    settings: &SweepSettings,
    members: &[SweepMember],
    walk_forward: Option<WalkForwardReport>,
    cancelled: &dyn Fn() -> bool,
) -> SweepSummary {
    let best = best_member(members, &settings.objective, settings.minimize);
    let done: Vec<(usize, &[f64])> = members
        .iter()
        .filter(|m| m.row.status == RunStatus::Completed)
        .map(|m| (m.row.index, m.daily.as_slice()))
        .collect();
    let (pbo, dsr) =
        sweep::diagnostics(&done, best.map(|b| b.0.row.index), settings.blocks, cancelled);
    SweepSummary {
        best: best.map(|(m, objective)| BestMember {
            index: m.row.index,
            objective,
            params: m.row.params.clone(),
        }),
        blocks: settings.blocks,
        completed: done.len(),
        dsr,
        grid: settings.grid.clone(),
        members: members.len(),
        minimize: settings.minimize,
        objective: settings.objective.clone(),
        pbo,
        random: settings.random,
        seed: settings.seed,
        settings: settings.config.clone(),
        shard: settings.shard.clone(),
        walk_forward,
    }
}

/// The walk-forward report of `done` windows.
fn walk_forward_report(
    spec: cryptobt_domain::WalkForward,
    done: &[sweep::WindowResult],
    initial: f64,
    minimize: bool,
) -> WalkForwardReport {
    WalkForwardReport {
        anchored: spec.anchored,
        efficiency: sweep::efficiency(done, minimize),
        stitched: stitched(done, initial),
        test_days: spec.test_days,
        train_days: spec.train_days,
        windows: done
            .iter()
            .map(|w| WindowReport {
                best: w.best.as_ref().map(|(index, params, value)| WindowBest {
                    index: *index,
                    params: params.clone(),
                    train_objective: *value,
                }),
                final_equity: w.metrics.final_equity.map(decimal_to_f64),
                test: [w.window.test.0.to_string(), w.window.test.1.to_string()],
                test_objective: w.test_objective,
                train: [w.window.train.0.to_string(), w.window.train.1.to_string()],
            })
            .collect(),
    }
}

/// The stitched out-of-sample equity, one point per test day (starting with the first test
/// day's opening equity), and its metrics: those of the run metrics that a daily series has.
fn stitched(done: &[sweep::WindowResult], initial: f64) -> Stitched {
    let mut points = Vec::new();
    let mut returns = Vec::new();
    let mut equity = initial;
    let (mut peak, mut drawdown) = (initial, 0.0f64);
    if let Some(first) = done.first() {
        let before = first.window.test.0 - chrono::Duration::days(1);
        points.push((before.to_string(), equity));
    }
    for w in done {
        for (k, r) in w.daily_returns.iter().enumerate() {
            equity *= 1.0 + r;
            returns.push(*r);
            peak = peak.max(equity);
            drawdown = drawdown.min((equity / peak - 1.0) * 100.0);
            let day = w.window.test.0 + chrono::Duration::days(k as i64);
            points.push((day.to_string(), equity));
        }
    }
    let last =
        done.iter().rev().find_map(|w| w.metrics.final_equity).map_or(equity, decimal_to_f64);
    let (volatility, sharpe_ratio, sortino_ratio) = crate::return_statistics(&returns);
    let sum = |f: fn(&Metrics) -> f64| done.iter().map(|w| f(&w.metrics)).sum::<f64>();
    let total_return = (last / initial - 1.0) * 100.0;
    Stitched {
        equity: points,
        final_equity: last,
        metrics: StitchedMetrics {
            days: returns.len(),
            final_equity: last,
            max_drawdown: drawdown,
            round_trips: sum(|m| m.round_trips as f64),
            sharpe_ratio,
            sortino_ratio,
            total_fees: sum(|m| decimal_to_f64(m.total_fees)),
            total_return,
            total_trades: sum(|m| m.total_trades as f64),
            volatility,
        },
        total_return,
    }
}

/// A sweep whose members all failed is failed itself, with the error of its lowest index.
fn all_failed(members: &[SweepMember]) -> Option<ServiceError> {
    if members.is_empty() || members.iter().any(|m| m.row.status != RunStatus::Failed) {
        return None;
    }
    let first = &members[0];
    let code = first.row.error_code.unwrap_or(ErrorCode::RuntimeError);
    let message = first.message.clone().unwrap_or_else(|| code.to_string());
    Some(ServiceError {
        source: None,
        code,
        message: format!("every member failed; member {} (the first): {message}", first.row.index),
    })
}

/// Sweeps: each member a plain run over one prepared market, built by the strategy factory.
#[derive(Clone)]
pub struct SweepEngine {
    market: Arc<dyn MarketData>,
    strategies: Arc<dyn StrategyFactory>,
}

impl std::fmt::Debug for SweepEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepEngine").finish_non_exhaustive()
    }
}

impl SweepEngine {
    /// A sweep engine over these ports.
    #[must_use]
    pub fn new(market: Arc<dyn MarketData>, strategies: Arc<dyn StrategyFactory>) -> Self {
        Self { market, strategies }
    }

    /// Runs the `members` of `request` (a subset of its plan: a shard, or a Ray task's part)
    /// over the prepared `market`, then (with `walk_forward`, which needs every member) its
    /// walk-forward; `progress(done)` after each member.
    ///
    /// # Errors
    /// `invalid_argument` when the first member completes without reading a grid name.
    pub fn run_members(
        &self,
        request: &SweepRequest,
        market: &Prepared,
        members: &[(usize, Params)],
        shard: Option<Shard>,
        walk_forward: bool,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<SweepOutcome, ServiceError> {
        let config: &BacktestConfig = &request.config;
        let input = SweepInput {
            config,
            market,
            strategies: self.strategies.as_ref(),
            source: &request.strategy_code,
            limits: request.limits.clone(),
        };
        let threads = request.threads.max(1);
        let spec = &request.spec;
        let (timed_out, finished) = (AtomicBool::new(false), AtomicBool::new(false));
        let (members, walk_forward) = std::thread::scope(|scope| {
            // The sweep-wide limit reaches the engine as its cancel flag (no clock in the bar
            // loop).
            scope.spawn(|| {
                let deadline = std::time::Instant::now() + request.max_duration;
                while !finished.load(Ordering::Relaxed) {
                    if std::time::Instant::now() >= deadline {
                        timed_out.store(true, Ordering::Relaxed);
                        request.limits.cancel.cancel();
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            });
            let names = spec.names();
            let result = self.run_each(&input, &names, members, threads, progress).map(|done| {
                let windows = if walk_forward {
                    walk_forward_of(self, request, market, members)
                } else {
                    None
                };
                (done, windows)
            });
            finished.store(true, Ordering::Relaxed);
            result
        })?;
        let settings = SweepSettings::of(request, shard);
        let cancelled = || request.limits.cancel.is_cancelled();
        let summary = summary(&settings, &members, walk_forward, &cancelled);
        let failure = if timed_out.load(Ordering::Relaxed) {
            Some(ServiceError {
                source: None,
                code: ErrorCode::TimeLimitExceeded,
                message: format!(
                    "the sweep ran past its limit of {} s (max_sweep_duration); the files hold \
                     the {} members begun before it",
                    request.max_duration.as_secs(),
                    members.len()
                ),
            })
        } else {
            all_failed(&members)
        };
        Ok(SweepOutcome { names: spec.names(), members, summary, bars: market.steps(), failure })
    }

    /// The members, the first alone first.
    fn run_each(
        &self,
        input: &SweepInput<'_>,
        spec_names: &[String],
        members: &[(usize, Params)],
        threads: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<SweepMember>, ServiceError> {
        // The first member runs alone first: a grid name it never reads fails the sweep before
        // the others run (a typo would otherwise sweep identical members).
        let Some(((index, params), rest)) = members.split_first() else {
            return Ok(Vec::new());
        };
        let first = sweep::run_member(input, *index, params);
        progress(1);
        if first.status == RunStatus::Completed {
            let unused: Vec<&str> = spec_names
                .iter()
                .filter(|n| first.unused_params.contains(n))
                .map(String::as_str)
                .collect();
            if !unused.is_empty() {
                let reads = if first.params_read.is_empty() {
                    "no name".to_owned()
                } else {
                    first.params_read.join(", ")
                };
                return Err(ServiceError {
                    source: None,
                    code: ErrorCode::InvalidArgument,
                    message: format!(
                        "--grid {}: the strategy never reads {} through params (it reads {reads})",
                        unused.join(", "),
                        if unused.len() == 1 { "this name" } else { "these names" },
                    ),
                });
            }
        }
        let mut results = vec![first];
        results.extend(sweep::run_members(input, rest, threads, &|done| progress(done + 1)));
        Ok(results.into_iter().map(member_of).collect())
    }
}

/// Runs the walk-forward of `request` over `market` (every member on each train window, the best
/// on its test window).
fn walk_forward_of(
    engine: &SweepEngine,
    request: &SweepRequest,
    market: &Prepared,
    members: &[(usize, Params)],
) -> Option<WalkForwardReport> {
    let walk = request.spec.walk_forward?;
    let config = &request.config;
    let input = SweepInput {
        config,
        market,
        strategies: engine.strategies.as_ref(),
        source: &request.strategy_code,
        limits: request.limits.clone(),
    };
    let windows = sweep::windows(config.start_date(), config.end_date(), walk);
    let done = sweep::walk_forward(
        &input,
        members,
        request.threads.max(1),
        &windows,
        request.spec.objective.key,
        request.spec.minimize,
    );
    let initial = decimal_to_f64(config.initial_capital());
    Some(walk_forward_report(walk, &done, initial, request.spec.minimize))
}

impl SweepService for SweepEngine {
    fn plan(&self, request: &SweepRequest) -> Result<usize, PlanError> {
        plan(&request.spec, &request.config).map(|p| p.members.len())
    }

    fn run(
        &self,
        request: &SweepRequest,
        shard: Option<Shard>,
        observer: &dyn RunObserver,
    ) -> Result<SweepOutcome, ServiceError> {
        let mut plan = plan(&request.spec, &request.config)
            .map_err(|e| ServiceError::new(ErrorCode::InvalidArgument, e.message))?;
        if let Some(Shard { part, count }) = shard {
            plan.members.retain(|(index, _)| index % count == part);
        }
        let market = Prepared::load(self.market.as_ref(), &request.config)?;
        let total = plan.members.len() as u64;
        let progress = |done: usize| observer.on_progress(done as u64, total);
        let walk = request.spec.walk_forward.is_some();
        self.run_members(request, &market, &plan.members, shard, walk, &progress)
    }
}

/// One shard's files, as `sweep merge` joins them.
#[derive(Debug, Clone)]
pub struct ShardFiles {
    /// The shard as the user named it (its folder).
    pub label: String,
    /// The parameter names.
    pub names: Vec<String>,
    /// Its members, with their daily returns.
    pub members: Vec<SweepMember>,
    /// Its `sweep.json`.
    pub summary: SweepSummary,
}

/// Why shards cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No shard given.
    #[error("sweep merge needs at least one shard folder")]
    NoShard,
    /// A shard ran a walk-forward, which needs every member.
    #[error("{0}: a shard with walk-forward cannot be merged; run walk-forward without --shard")]
    WalkForward(String),
    /// A shard of another sweep.
    #[error("{0} is a shard of another sweep")]
    OtherSweep(String),
    /// A member in two shards.
    #[error("member {0} is in more than one shard")]
    Twice(usize),
    /// A member in no shard.
    #[error(
        "member {missing} is in no shard (the next is {next}); merge every shard of the sweep"
    )]
    Missing {
        /// The member missing.
        missing: usize,
        /// The next member there.
        next: usize,
    },
}

/// Joins the shards of one sweep into what one run of the whole sweep gives: the members in
/// index order, each once, and `sweep.json` computed over all of them.
///
/// # Errors
/// A [`MergeError`] naming the shard or member that does not fit.
pub fn merge(shards: Vec<ShardFiles>) -> Result<SweepOutcome, MergeError> {
    let mut names = Vec::new();
    let mut members: Vec<SweepMember> = Vec::new();
    let mut settings: Option<SweepSettings> = None;
    for shard in shards {
        if shard.summary.walk_forward.is_some() {
            return Err(MergeError::WalkForward(shard.label));
        }
        let mut s = SweepSettings::from_summary(&shard.summary);
        s.shard = None;
        match &settings {
            None => {
                settings = Some(s);
                names = shard.names;
            }
            Some(first) if *first != s => return Err(MergeError::OtherSweep(shard.label)),
            Some(_) => {}
        }
        members.extend(shard.members);
    }
    let settings = settings.ok_or(MergeError::NoShard)?;
    members.sort_by_key(|m| m.row.index);
    if let Some(w) = members.windows(2).find(|w| w[0].row.index == w[1].row.index) {
        return Err(MergeError::Twice(w[0].row.index));
    }
    if let Some((k, m)) = members.iter().enumerate().find(|(k, m)| m.row.index != *k) {
        return Err(MergeError::Missing { missing: k, next: m.row.index });
    }
    let summary = summary(&settings, &members, None, &|| false);
    Ok(SweepOutcome { names, members, summary, bars: 0, failure: None })
}

impl SweepEngine {
    /// The members of `request` (its plan, in index order), for cutting into tasks.
    ///
    /// # Errors
    /// The plan's refusal.
    pub fn planned(&self, request: &SweepRequest) -> Result<Vec<(usize, Params)>, PlanError> {
        plan(&request.spec, &request.config).map(|p| p.members)
    }

    /// Runs the members of `request` whose indices are `indices` (a task of a distributed
    /// sweep): the market prepared as every run prepares it, the first of them alone first.
    ///
    /// # Errors
    /// As [`SweepService::run`].
    pub fn run_part(
        &self,
        request: &SweepRequest,
        indices: &[usize],
        observer: &dyn RunObserver,
    ) -> Result<Vec<SweepMember>, ServiceError> {
        let all = self
            .planned(request)
            .map_err(|e| ServiceError::new(ErrorCode::InvalidArgument, e.message))?;
        let members: Vec<(usize, Params)> =
            indices.iter().filter_map(|i| all.get(*i).cloned()).collect();
        let market = Prepared::load(self.market.as_ref(), &request.config)?;
        let total = members.len() as u64;
        let progress = |done: usize| observer.on_progress(done as u64, total);
        let outcome = self.run_members(request, &market, &members, None, false, &progress)?;
        Ok(outcome.members)
    }

    /// Joins the members of every part of `request` into the sweep one process gives: in index
    /// order, `sweep.json` over all of them, the walk-forward (run here: it needs every member)
    /// and the sweep's failure when every member failed.
    ///
    /// # Errors
    /// A member missing or given twice, or the walk-forward's market cannot be loaded.
    pub fn join(
        &self,
        request: &SweepRequest,
        mut members: Vec<SweepMember>,
    ) -> Result<SweepOutcome, ServiceError> {
        members.sort_by_key(|m| m.row.index);
        let planned = self
            .planned(request)
            .map_err(|e| ServiceError::new(ErrorCode::InvalidArgument, e.message))?;
        let complete = members.len() == planned.len()
            && members.iter().enumerate().all(|(k, m)| m.row.index == k);
        if !complete && !request.limits.cancel.is_cancelled() {
            return Err(ServiceError {
                source: None,
                code: ErrorCode::InternalError,
                message: format!(
                    "the parts hold {} members of {}, not each once",
                    members.len(),
                    planned.len()
                ),
            });
        }
        let (walk_forward, bars) = match request.spec.walk_forward {
            Some(_) => {
                let market = Prepared::load(self.market.as_ref(), &request.config)?;
                let bars = market.steps();
                (walk_forward_of(self, request, &market, &planned), bars)
            }
            None => (None, 0),
        };
        let settings = SweepSettings::of(request, None);
        let cancelled = || request.limits.cancel.is_cancelled();
        let summary = summary(&settings, &members, walk_forward, &cancelled);
        let failure = all_failed(&members);
        Ok(SweepOutcome { names: request.spec.names(), members, summary, bars, failure })
    }
}
