//! The strategy ports: a strategy, the context it trades through, and the factory that builds it.

use std::{
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use rust_decimal::Decimal;
use thiserror::Error;

use crate::{
    Bar, ErrorCode, ExitKind, OrderRequest, OrderSide, Params, PendingOrder, PortfolioRules,
    Rejection, RunError, Symbol,
};

/// A flag a run polls to stop early; clones share it.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks every holder to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether [`cancel`](Self::cancel) was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Per-run limits of a strategy.
#[derive(Debug, Clone)]
pub struct StrategyLimits {
    /// Memory cap of the strategy's VM, in bytes (default 64 MiB).
    pub memory_bytes: usize,
    /// Wall-clock budget of the whole run (default 3600 s).
    pub max_duration: Duration,
    /// Orders accepted per bar; further ones are refused (default 100).
    pub max_orders_per_bar: u32,
    /// Log bytes kept; the rest is dropped with a marker (default 64 KiB).
    pub max_log_bytes: usize,
    /// Fills a run may make (default 1,000,000); one more fails the run with
    /// `fill_limit_exceeded`, so that no run's results outgrow what can be stored and shown.
    pub max_fills: usize,
    /// Stops the run from outside.
    pub cancel: CancelToken,
}

impl Default for StrategyLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            max_duration: Duration::from_secs(3_600),
            max_orders_per_bar: 100,
            max_log_bytes: 64 << 10,
            max_fills: 1_000_000,
            cancel: CancelToken::new(),
        }
    }
}

/// What a strategy factory needs to build one run's strategy.
#[derive(Debug, Clone)]
pub struct StrategySpec {
    /// The strategy's source code.
    pub source: String,
    /// The primary symbol (the `symbol` global).
    pub symbol: Symbol,
    /// Every symbol of the run, the primary first.
    pub symbols: Vec<Symbol>,
    /// Parameters (the `params` table).
    pub params: Params,
    /// The run's limits.
    pub limits: StrategyLimits,
}

/// A strategy that cannot go on, with the stable code of docs/strategy-api.md.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{code}: {message}")]
pub struct StrategyError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong (≤ 1 KiB, no server paths).
    pub message: String,
    /// The strategy line, when known.
    pub line: Option<u32>,
}

impl From<StrategyError> for RunError {
    fn from(e: StrategyError) -> Self {
        Self { code: e.code, message: e.message, line: e.line }
    }
}

/// The most bars one `history` call returns.
pub const MAX_HISTORY: usize = 1_000;

/// Why a `history` call was refused (the strategy gets it as an error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HistoryRefusal {
    /// `n` is outside `1..=1000` or not an integer.
    #[error("history: n must be an integer from 1 to {MAX_HISTORY}, got {0}")]
    Count(String),
    /// A timeframe shorter than the run's (or not a multiple of it).
    #[error("history: timeframe {asked} is not a multiple of the run's {run}")]
    Timeframe {
        /// The timeframe asked for.
        asked: crate::Timeframe,
        /// The run's timeframe.
        run: crate::Timeframe,
    },
    /// A symbol the run does not trade.
    #[error("{0} is not a symbol of this run")]
    Symbol(Symbol),
}

/// What a strategy may see and do while it runs: each symbol's bar and history, the
/// portfolio's figures, orders and the log.
///
/// A run trades one or several symbols (docs/design.md#several-symbols); the first is the
/// primary, [`symbol`](Self::symbol). Calls about a position or an order name the symbol;
/// cash, equity and the pending orders are the portfolio's.
///
/// The engine hands one context to a run's strategy, shared ([`SharedContext`]), so that a
/// strategy can keep it (a Lua VM's host functions capture it once instead of being rebuilt per
/// bar). Every method takes `&self`; implementations use interior mutability and are called on
/// the run's own thread only.
pub trait StrategyContext {
    /// The primary symbol.
    fn symbol(&self) -> Symbol;
    /// Every symbol of the run, the primary first.
    fn symbols(&self) -> Vec<Symbol> {
        vec![self.symbol()]
    }
    /// Open time of the current step; `None` in `initialize`.
    fn timestamp(&self) -> Option<i64>;
    /// This step's bar of `symbol`; `None` in `initialize` or for a symbol not in the run.
    fn bar(&self, symbol: Symbol) -> Option<Bar>;
    /// The last `n` closed bars of `symbol` in `timeframe` (the run's when `None`), oldest
    /// first, this step's bar included (docs/design.md#history); fewer near the run's start.
    ///
    /// # Errors
    /// A bad `n`, a timeframe that is not a multiple of the run's, a symbol not in the run.
    fn history(
        &self,
        symbol: Symbol,
        n: usize,
        timeframe: Option<crate::Timeframe>,
    ) -> Result<Vec<Bar>, HistoryRefusal> {
        let _ = (symbol, n, timeframe);
        Ok(Vec::new())
    }
    /// The rules orders are checked against (for converting a strategy's numbers).
    fn rules(&self) -> PortfolioRules;
    /// Signed size of the position in `symbol` (0 when flat).
    fn position_size(&self, symbol: Symbol) -> Decimal;
    /// Free cash.
    fn cash(&self) -> Decimal;
    /// `cash + Σ margin_used + Σ unrealized_pnl` at the last closes.
    fn equity(&self) -> Decimal;
    /// Unrealized PnL of the position in `symbol` at its last close.
    fn unrealized_pnl(&self, symbol: Symbol) -> Decimal;
    /// Average entry price of the position in `symbol`; `None` when flat.
    fn entry_price(&self, symbol: Symbol) -> Option<Decimal>;
    /// Effective leverage `|size| × entry / margin` of the position in `symbol` (0 when flat).
    fn leverage(&self, symbol: Symbol) -> Decimal;
    /// The portfolio's equity / the margin of the position in `symbol`; `None` when flat.
    fn margin_ratio(&self, symbol: Symbol) -> Option<Decimal>;
    /// A market order in `symbol` (or, with `fill = next_open`, queues one).
    ///
    /// # Errors
    /// The [`Rejection`]; nothing changed.
    fn submit(
        &self,
        symbol: Symbol,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
    ) -> Result<(), Rejection>;
    /// Closes `percentage` of the position in `symbol`.
    ///
    /// # Errors
    /// The [`Rejection`]; nothing changed.
    fn close_position(&self, symbol: Symbol, percentage: Decimal) -> Result<(), Rejection>;
    /// Places a limit or stop order in `symbol` (docs/design.md#pending-orders-and-exits),
    /// armed from the next step's path; its id (1, 2, ... per run, over every symbol).
    ///
    /// # Errors
    /// The [`Rejection`] of the placement checks (counted); nothing changed.
    fn place_order(&self, symbol: Symbol, request: OrderRequest) -> Result<u64, Rejection>;
    /// Cancels the pending order `id`; `false` when no such order is pending.
    fn cancel_order(&self, id: u64) -> bool;
    /// Cancels every pending order of every symbol; how many there were.
    fn cancel_all_orders(&self) -> usize;
    /// The pending orders of every symbol, in id order.
    fn open_orders(&self) -> Vec<PendingOrder>;
    /// Sets (`Some`) or clears (`None`) one of the exits of the position in `symbol`: a
    /// stop-loss or take-profit level, or a trailing distance (`0 < d < 1`). Clearing while flat
    /// succeeds.
    ///
    /// # Errors
    /// Flat, a level on the wrong side of the last close, a bad distance (not counted as
    /// rejections).
    fn set_exit(
        &self,
        symbol: Symbol,
        kind: ExitKind,
        value: Option<Decimal>,
    ) -> Result<(), Rejection>;
    /// Counts an order the strategy's side refused before it reached the portfolio (an amount
    /// that is not a number, the orders-per-bar cap), like any other rejection.
    fn record_rejection(&self, rejection: &Rejection);
    /// Appends a line to the run's log.
    fn log(&self, line: &str);
    /// Records `value` for the strategy's series `name` at the current bar (drawn over the price
    /// or in a pane of its own), and with `levels` (`Some`) sets its guide lines.
    ///
    /// # Errors
    /// The [`PlotRefusal`](crate::PlotRefusal) (bad name, value or levels, too many series or
    /// points, before the first bar); the run goes on.
    fn plot(
        &self,
        name: &str,
        value: f64,
        pane: crate::PlotPane,
        levels: Option<&[f64]>,
    ) -> Result<(), crate::PlotRefusal> {
        let _ = (name, value, pane, levels);
        Ok(())
    }
}

/// The context of one run, shared between the engine and its strategy.
pub type SharedContext = Rc<dyn StrategyContext>;

/// A trading strategy driven once per bar, on the run's own thread.
pub trait Strategy {
    /// Called once before the first bar; orders are refused here (no price yet).
    ///
    /// # Errors
    /// A [`StrategyError`] stops the run.
    fn initialize(&mut self, ctx: &SharedContext) -> Result<(), StrategyError> {
        let _ = ctx;
        Ok(())
    }

    /// Called with every closed bar.
    ///
    /// # Errors
    /// A [`StrategyError`] stops the run.
    fn on_bar(&mut self, bar: &Bar, ctx: &SharedContext) -> Result<(), StrategyError>;

    /// The names among `params` that the strategy has read so far, when it can tell (a Lua
    /// strategy can; a native one says `None`, and no param is then reported unused).
    fn params_read(&self) -> Option<std::collections::BTreeSet<String>> {
        None
    }
}

/// Builds strategies from source code (one fresh instance per run).
pub trait StrategyFactory: Send + Sync {
    /// Builds the strategy of one run.
    ///
    /// # Errors
    /// `syntax_error`, `invalid_strategy`, or a limit tripped while loading.
    fn create(&self, spec: &StrategySpec) -> Result<Box<dyn Strategy>, StrategyError>;

    /// Checks source code without running a bar.
    ///
    /// # Errors
    /// `syntax_error` or `invalid_strategy` with the line.
    fn validate(&self, source: &str) -> Result<(), StrategyError>;
}
