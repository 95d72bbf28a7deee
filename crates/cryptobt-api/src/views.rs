//! The API's answers as typed wire shapes: the handlers build these and serde writes them;
//! `openapi.rs` derives the document from the same types.

use std::collections::BTreeMap;

use cryptobt_domain::{
    ports::PortfolioRow, ConfigFile, ErrorCode, FundingPayment, MetricDef, Metrics, OpenPosition,
    ParamValue, Params, RunStatus, Symbol, Timeframe, Trade, TradingMode,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The answer to a submission (`202`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubmitResponse {
    pub(crate) backtest_id: String,
    /// `queued`.
    pub(crate) status: String,
    pub(crate) message: String,
}

/// How far a run or sweep is: `done` of `total`, and the percentage to one decimal.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub(crate) struct Progress {
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) percent: f64,
}

impl Progress {
    pub(crate) fn new(done: u64, total: u64) -> Self {
        let percent =
            if total == 0 { 0.0 } else { (done as f64 / total as f64 * 1_000.0).round() / 10.0 };
        Self { done, total, percent }
    }
}

/// What a run's metrics and charts cover.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CoveredView {
    /// The first bar processed (open time, ms).
    pub(crate) first_bar: i64,
    /// The last bar processed (open time, ms).
    pub(crate) last_bar: i64,
    /// Bars processed.
    pub(crate) bars: u64,
    /// Whether every bar of the range was processed.
    pub(crate) complete: bool,
}

/// A run: status, progress, config, metrics, one page of its fills and round trips, its thinned
/// portfolio history, what was left at the end, its log and its error. A run in flight has the
/// same shape with empty lists.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BacktestView<'a> {
    pub(crate) backtest_id: &'a str,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub(crate) status: RunStatus,
    pub(crate) progress: Progress,
    pub(crate) created_at: String,
    #[schema(value_type = Object)]
    pub(crate) config: ConfigFile,
    /// Null while the run is queued or running, or when it failed before its first bar.
    #[schema(value_type = Option<MetricsView>)]
    pub(crate) metrics: Option<&'a Metrics>,
    /// One page of the fills (`?page=&page_size=`, 5,000 by default), in time order.
    #[schema(value_type = Vec<Object>)]
    pub(crate) trades: &'a [Trade],
    /// Every fill of the run (the pages add up to it).
    pub(crate) trades_total: u64,
    pub(crate) trades_page: u64,
    pub(crate) trades_page_size: u64,
    /// What the metrics and charts cover; null before the first bar.
    pub(crate) covered: Option<CoveredView>,
    /// One page of the round trips (`?trips_page=&trips_page_size=`), in exit order, each with
    /// its opening fill's `tag` and an `ambiguous` flag.
    #[schema(value_type = Vec<Object>)]
    pub(crate) round_trips: Vec<Value>,
    pub(crate) round_trips_total: u64,
    pub(crate) round_trips_page: u64,
    pub(crate) round_trips_page_size: u64,
    #[schema(value_type = Vec<Object>)]
    pub(crate) funding: &'a [FundingPayment],
    /// At most 5,000 points; the full history is `portfolio.csv`.
    #[schema(value_type = Vec<Object>)]
    pub(crate) portfolio_history: &'a [PortfolioRow],
    pub(crate) portfolio_rows: u64,
    /// Refused order calls by reason.
    pub(crate) rejections: &'a BTreeMap<String, u64>,
    /// Bars whose outcome rested on which extreme came first.
    pub(crate) ambiguous_bars: u64,
    /// Limit and stop orders still pending after the last bar (dropped).
    pub(crate) pending_at_end: u64,
    /// Market orders still queued (`fill = next_open`) after the last bar (dropped).
    pub(crate) queued_at_end: u64,
    /// Whether a position was open after the last bar.
    pub(crate) open_at_end: bool,
    pub(crate) funding_fallbacks: u64,
    pub(crate) unused_params: &'a [String],
    #[schema(value_type = Vec<Object>)]
    pub(crate) open_positions: &'a [OpenPosition],
    pub(crate) log: &'a [String],
    #[schema(value_type = Option<String>)]
    pub(crate) error_code: Option<ErrorCode>,
    pub(crate) error_message: Option<String>,
    pub(crate) error_line: Option<u32>,
    /// Files of the run that could not be read (the rest is shown).
    pub(crate) damaged: &'a [String],
}

/// The answer to a cancellation (`202`).
#[derive(Debug, Serialize)]
pub(crate) struct RunCancelling<'a> {
    pub(crate) backtest_id: &'a str,
    pub(crate) status: RunStatus,
    pub(crate) message: &'static str,
}

/// The answer to a deletion.
#[derive(Debug, Serialize)]
pub(crate) struct Deleted<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) backtest_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sweep_id: Option<&'a str>,
    pub(crate) deleted: bool,
}

/// A run as the history lists it.
#[derive(Debug, Serialize)]
pub(crate) struct RunListItem<'a> {
    pub(crate) backtest_id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) status: RunStatus,
    pub(crate) created_at: String,
    pub(crate) symbol: Symbol,
    pub(crate) symbols: &'a [Symbol],
    pub(crate) timeframe: Timeframe,
    pub(crate) trading_mode: TradingMode,
    pub(crate) start_date: String,
    pub(crate) end_date: String,
    pub(crate) initial_capital: rust_decimal::Decimal,
    pub(crate) max_leverage: rust_decimal::Decimal,
    pub(crate) params: &'a Params,
    pub(crate) total_return: Option<f64>,
    pub(crate) sharpe_ratio: Option<f64>,
    pub(crate) error_code: Option<ErrorCode>,
}

/// A run whose `config.json` cannot be read, named with the file.
#[derive(Debug, Serialize)]
pub(crate) struct DamagedRun<'a> {
    pub(crate) backtest_id: &'a str,
    pub(crate) status: &'static str,
    pub(crate) damaged: String,
}

/// One page of the history.
#[derive(Debug, Serialize)]
pub(crate) struct RunsPage<'a> {
    pub(crate) items: Vec<RunListItem<'a>>,
    pub(crate) total: usize,
    pub(crate) page: usize,
    pub(crate) page_size: usize,
    pub(crate) damaged: Vec<DamagedRun<'a>>,
}

/// `metrics.json`: every metric of docs/metrics.md (null where undefined; money as numbers).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code, reason = "the schema of `metrics.json` for the OpenAPI document")]
pub(crate) struct MetricsView {
    /// Total return (docs/metrics.md).
    total_return: Option<f64>,
    /// Final equity (docs/metrics.md).
    final_equity: Option<f64>,
    /// Annualized return (docs/metrics.md).
    annualized_return: Option<f64>,
    /// Buy & hold (docs/metrics.md).
    benchmark_return: Option<f64>,
    /// Expectancy (docs/metrics.md).
    expectancy: Option<f64>,
    /// Max drawdown (docs/metrics.md).
    max_drawdown: Option<f64>,
    /// Longest drawdown (docs/metrics.md).
    max_drawdown_duration_days: Option<f64>,
    /// Volatility (daily) (docs/metrics.md).
    volatility: Option<f64>,
    /// Volatility (annual) (docs/metrics.md).
    annualized_volatility: Option<f64>,
    /// Sharpe (docs/metrics.md).
    sharpe_ratio: Option<f64>,
    /// Sortino (docs/metrics.md).
    sortino_ratio: Option<f64>,
    /// Calmar (docs/metrics.md).
    calmar_ratio: Option<f64>,
    /// Exposure (docs/metrics.md).
    exposure: Option<f64>,
    /// Avg leverage (docs/metrics.md).
    avg_leverage: Option<f64>,
    /// Max leverage (docs/metrics.md).
    max_leverage: Option<f64>,
    /// Round trips (docs/metrics.md).
    round_trips: u64,
    /// Win rate (docs/metrics.md).
    win_rate: Option<f64>,
    /// Profit factor (docs/metrics.md).
    profit_factor: Option<f64>,
    /// Avg win (docs/metrics.md).
    avg_win: Option<f64>,
    /// Avg loss (docs/metrics.md).
    avg_loss: Option<f64>,
    /// Largest win (docs/metrics.md).
    largest_win: Option<f64>,
    /// Largest loss (docs/metrics.md).
    largest_loss: Option<f64>,
    /// Avg bars held (docs/metrics.md).
    avg_bars_held: Option<f64>,
    /// Losing streak (docs/metrics.md).
    max_consecutive_losses: u64,
    /// Fills (docs/metrics.md).
    total_trades: u64,
    /// Ambiguous bars (docs/metrics.md).
    ambiguous_bars: u64,
    /// Fees paid (docs/metrics.md).
    total_fees: f64,
    /// Funding (docs/metrics.md).
    total_funding: f64,
    /// Liquidations (docs/metrics.md).
    liquidations: u64,
    /// Liquidation losses (docs/metrics.md).
    liquidation_losses: f64,
}

/// The result of a validation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValidateResponse {
    pub(crate) valid: bool,
    /// `syntax_error`, `invalid_strategy`, ...
    #[schema(value_type = Option<String>)]
    pub(crate) error_code: Option<ErrorCode>,
    pub(crate) message: Option<String>,
    pub(crate) line: Option<u32>,
}

/// `GET /api/metrics`.
#[derive(Debug, Serialize)]
pub(crate) struct MetricList {
    pub(crate) metrics: &'static [MetricDef],
}

/// A shipped example strategy with its header text.
#[derive(Debug, Serialize)]
pub(crate) struct Example {
    pub(crate) name: String,
    pub(crate) file: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) code: String,
}

/// `GET /api/strategies/examples`.
#[derive(Debug, Serialize)]
pub(crate) struct Examples {
    pub(crate) examples: Vec<Example>,
}

/// `GET /api/health`.
#[derive(Debug, Serialize)]
pub(crate) struct Health {
    pub(crate) status: &'static str,
    pub(crate) version: &'static str,
    pub(crate) workers: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) queued: usize,
    pub(crate) running: usize,
}

/// A data set as `GET /api/data/symbols` lists it.
#[derive(Debug, Serialize)]
pub(crate) struct DatasetView {
    pub(crate) trading_mode: TradingMode,
    pub(crate) symbol: Symbol,
    pub(crate) timeframe: Timeframe,
    pub(crate) first_day: String,
    pub(crate) last_day: String,
    pub(crate) days: usize,
}

/// `GET /api/data/symbols`.
#[derive(Debug, Serialize)]
pub(crate) struct SymbolsView<'a> {
    pub(crate) symbols: Vec<&'a str>,
    pub(crate) trading_modes: [&'static str; 2],
    pub(crate) timeframes: Vec<&'static str>,
    pub(crate) max_leverage: rust_decimal::Decimal,
    pub(crate) limits: cryptobt_domain::ConfigRanges,
    pub(crate) max_strategy_bytes: usize,
    pub(crate) datasets: Vec<DatasetView>,
}

/// `GET /api/data/history`.
#[derive(Debug, Serialize)]
pub(crate) struct PriceHistory<'a, B: Serialize> {
    pub(crate) symbol: Symbol,
    pub(crate) timeframe: Timeframe,
    pub(crate) trading_mode: TradingMode,
    pub(crate) start_date: String,
    pub(crate) end_date: String,
    pub(crate) truncated: bool,
    pub(crate) data: &'a [B],
}

/// One `plot` series in a chart view.
#[derive(Debug, Serialize)]
pub(crate) struct PlotView<'a> {
    pub(crate) name: &'a str,
    pub(crate) pane: cryptobt_domain::PlotPane,
    pub(crate) levels: &'a [f64],
    pub(crate) points: Vec<(i64, f64)>,
}

/// `GET /api/backtest/{id}/chart`: one view of a run's charts — the candles of one symbol, the
/// portfolio's equity and drawdown, that symbol's fills and round trips, the plots — over whole
/// buckets `[range_from, range_to)`.
#[derive(Debug, Serialize)]
pub(crate) struct ChartView<'a> {
    pub(crate) backtest_id: &'a str,
    pub(crate) symbol: Symbol,
    pub(crate) symbols: &'a [Symbol],
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) first_bar: i64,
    pub(crate) last_bar: i64,
    pub(crate) range_from: i64,
    pub(crate) range_to: i64,
    pub(crate) bucket_ms: i64,
    pub(crate) bucket: &'static str,
    pub(crate) timeframe: Timeframe,
    pub(crate) aggregated: bool,
    pub(crate) candles: Vec<cryptobt_domain::views::Candle>,
    pub(crate) equity: Vec<(i64, f64)>,
    pub(crate) drawdown: Vec<(i64, f64)>,
    pub(crate) benchmark_base: Option<f64>,
    /// A run of several symbols: buy and hold of all of them with equal weight, per bucket (the
    /// page draws it instead of the shown symbol's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) benchmark: Option<Vec<(i64, f64)>>,
    pub(crate) fills: Vec<&'a Trade>,
    pub(crate) fills_total: usize,
    pub(crate) round_trips: Vec<&'a cryptobt_domain::RoundTrip>,
    pub(crate) round_trips_total: usize,
    pub(crate) plots: Vec<PlotView<'a>>,
    pub(crate) damaged: &'a [String],
}

/// A chart view of a run without bars.
#[derive(Debug, Serialize)]
pub(crate) struct EmptyChart {
    pub(crate) empty: bool,
}

/// The answer to a sweep submission (`202`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SweepSubmitResponse {
    pub(crate) sweep_id: String,
    /// `queued`.
    pub(crate) status: String,
    pub(crate) members: u64,
    pub(crate) message: String,
}

/// `GET /api/sweeps`.
#[derive(Debug, Serialize)]
pub(crate) struct SweepList {
    pub(crate) sweeps: Vec<Value>,
    pub(crate) total: usize,
    pub(crate) queue: usize,
}

/// One member of a sweep in its table.
#[derive(Debug, Serialize)]
pub(crate) struct SweepRowView<'a> {
    pub(crate) index: usize,
    pub(crate) params: &'a Params,
    pub(crate) metrics: BTreeMap<&'static str, Option<f64>>,
    pub(crate) status: RunStatus,
    pub(crate) error_code: Option<ErrorCode>,
}

/// The answer to a sweep's cancellation (`202`).
#[derive(Debug, Serialize)]
pub(crate) struct SweepCancelling<'a> {
    pub(crate) sweep_id: &'a str,
    pub(crate) status: &'static str,
}

/// `GET /api/sweeps/{id}/heatmap`: the metric over two parameters, the best member of each
/// cell, and the bins when the axes were cut.
#[derive(Debug, Serialize)]
pub(crate) struct HeatmapView<'a> {
    pub(crate) x: &'a str,
    pub(crate) y: &'a str,
    pub(crate) metric: String,
    pub(crate) minimize: bool,
    pub(crate) xs: &'a [ParamValue],
    pub(crate) ys: &'a [ParamValue],
    pub(crate) values: Vec<Vec<Option<f64>>>,
    pub(crate) members: Vec<Vec<Option<usize>>>,
    pub(crate) binned: bool,
    pub(crate) x_bins: &'a [[ParamValue; 2]],
    pub(crate) y_bins: &'a [[ParamValue; 2]],
}

/// A page of a sweep's table, added to its listing by `GET /api/sweeps/{id}`.
#[derive(Debug, Serialize)]
pub(crate) struct SweepTablePage<'a> {
    pub(crate) summary: Value,
    pub(crate) names: &'a [String],
    pub(crate) rows: Vec<SweepRowView<'a>>,
    pub(crate) total_rows: usize,
    pub(crate) page: u64,
    pub(crate) page_size: u64,
    pub(crate) sort: String,
    pub(crate) order: &'static str,
}

/// A sweep member opened as a run (`202`).
#[derive(Debug, Serialize)]
pub(crate) struct MemberRun<'a> {
    pub(crate) backtest_id: &'a str,
    pub(crate) status: &'static str,
    pub(crate) sweep_id: &'a str,
    pub(crate) index: usize,
    pub(crate) params: &'a Params,
}
