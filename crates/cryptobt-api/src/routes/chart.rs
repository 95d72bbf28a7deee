//! `GET /api/backtest/{id}/chart?from=&to=&points=`: one view of a run's charts, whatever its
//! length — candles aggregated server-side to the finest bucket that keeps at most `points` of
//! them in the view, the equity and drawdown curves thinned so that every bucket keeps its
//! minimum and maximum (the drawdown's lowest point is the `max_drawdown` metric), the fills and
//! round trips of the view, and the strategy's `plot` series thinned the same way.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use cryptobt_domain::{
    money::decimal_to_f64,
    ports::{BarQuery, StoredRun},
    views::{aggregate, bucket_for, drawdown, spread, thin, MAX_FILL_MARKS},
    BacktestId, Bar,
};
use serde::Deserialize;

use super::{blocking, parse_id, store_error};
use crate::{
    error::ApiError,
    views::{ChartView, EmptyChart, PlotView},
    AppState,
};

/// Candles a view holds by default, and at most.
const DEFAULT_POINTS: usize = 1_500;
const MAX_POINTS: usize = 5_000;
/// Fills and round trips sent with one view, at most (evenly picked; the view says how many
/// there are: zoomed in, a view has them all). Keeps one view's payload under a megabyte.
const MAX_FILLS: usize = MAX_FILL_MARKS;
const MAX_TRIPS: usize = 500;

/// The query of a chart view.
#[derive(Debug, Deserialize)]
pub(crate) struct ChartQuery {
    from: Option<i64>,
    to: Option<i64>,
    points: Option<usize>,
    /// The symbol whose candles, fills and round trips the view shows (the primary by default).
    symbol: Option<String>,
}

/// A run's full equity curve and drawdown, as the charts draw them (f64, computed exactly as the
/// `max_drawdown` metric is: equity / running max − 1, the running max from the initial capital).
#[derive(Debug)]
pub(crate) struct Series {
    times: Vec<i64>,
    equity: Vec<f64>,
    drawdown: Vec<f64>,
    /// The strategy's `plot` series, their points split into times and values for thinning.
    plots: Vec<PlotLine>,
    /// Files of the run that could not be read (`plots.csv: ...`): left out, the rest shown.
    damaged: Vec<String>,
}

/// One `plot` series as the views thin it.
#[derive(Debug)]
struct PlotLine {
    name: String,
    pane: cryptobt_domain::PlotPane,
    times: Vec<i64>,
    values: Vec<f64>,
    levels: Vec<f64>,
}

impl Series {
    fn new(points: &[(i64, rust_decimal::Decimal)], initial: f64) -> Self {
        let times = points.iter().map(|p| p.0).collect();
        let equity: Vec<f64> = points.iter().map(|p| decimal_to_f64(p.1)).collect();
        let drawdown = drawdown(&equity, initial);
        Self { times, equity, drawdown, plots: Vec::new(), damaged: Vec::new() }
    }

    /// Bytes held, about (the cache weighs by it).
    pub(crate) fn weight(&self) -> usize {
        self.times.len() * 24
            + self.plots.iter().map(|p| p.times.len() * 16 + 64).sum::<usize>()
            + 64
    }
}

/// `GET /api/backtest/{id}/chart`.
pub(crate) async fn chart(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<ChartQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let points = query.points.unwrap_or(DEFAULT_POINTS).clamp(10, MAX_POINTS);
    let (from, to) = (query.from, query.to);
    let symbol = query.symbol.clone();
    let st = state.clone();
    let id2 = id.clone();
    let body = blocking(move || view(&st, &id2, from, to, points, symbol.as_deref())).await??;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

fn view(
    state: &AppState,
    id: &BacktestId,
    from: Option<i64>,
    to: Option<i64>,
    points: usize,
    symbol: Option<&str>,
) -> Result<Vec<u8>, ApiError> {
    let store = &state.services.store;
    let run: Arc<StoredRun> = match state.finished.get(id) {
        Some(run) => run,
        None => Arc::new(store.load(id, 2).map_err(|e| store_error(id, e))?),
    };
    let series = match state.series.get(id) {
        Some(series) => series,
        None => {
            let points = store.equity(id).map_err(|e| store_error(id, e))?;
            let initial = decimal_to_f64(run.record.config.initial_capital());
            let mut series = Series::new(&points, initial);
            // A damaged plots.csv leaves the plots out and is named; the chart still answers.
            match store.plots(id) {
                Ok(plots) => {
                    series.plots = plots
                        .into_iter()
                        .map(|p| {
                            let (times, values) = p.points.into_iter().unzip();
                            PlotLine { name: p.name, pane: p.pane, times, values, levels: p.levels }
                        })
                        .collect();
                }
                Err(e) => {
                    tracing::warn!(run = %id, error = %e, "plots.csv cannot be read");
                    series.damaged.push(e.to_string());
                }
            }
            let series = Arc::new(series);
            state.series.insert(id.clone(), Arc::clone(&series));
            series
        }
    };
    let (Some(&first), Some(&last)) = (series.times.first(), series.times.last()) else {
        return Ok(serde_json::to_vec(&EmptyChart { empty: true }).unwrap_or_default());
    };
    let c = &run.record.config;
    let symbol = match symbol {
        None => c.symbol(),
        Some(name) => {
            c.symbols().iter().copied().find(|s| s.as_str() == name).ok_or_else(|| {
                let known: Vec<&str> = c.symbols().iter().map(|s| s.as_str()).collect();
                let shown: String = name.chars().take(40).collect();
                ApiError::field(
                    "symbol",
                    format!(
                        "{shown:?} is not a symbol of this run (its symbols: {})",
                        known.join(", ")
                    ),
                )
            })?
        }
    };
    let bar_ms = c.timeframe().duration_ms();
    let from = from.unwrap_or(first).clamp(first, last);
    let to = to.unwrap_or(last).clamp(from, last);
    let (ms, label) = bucket_for(to - from, bar_ms, points);
    // The view is whole buckets: from the start of the bucket holding `from` to the end
    // (exclusive) of the bucket holding `to`. Candles, curves and fills are those of exactly that
    // range, so the fills counted are the fills the candles show.
    let (start, end) = (from.div_euclid(ms) * ms, to.div_euclid(ms) * ms + ms);
    let query = BarQuery::of_symbol(c, symbol);
    let bars = state.services.market.bars(&query).map_err(ApiError::internal)?;
    let candles = aggregate(bars.iter(), start, end - 1, ms);
    let equity = thin(&series.times, &series.equity, start, end - 1, ms);
    let drawdown = thin(&series.times, &series.drawdown, start, end - 1, ms);
    let fills: Vec<_> = run
        .trades
        .iter()
        .filter(|t| t.symbol == symbol && t.timestamp >= start && t.timestamp < end)
        .collect();
    // A one-symbol run's round_trips.csv has no symbol column: every trip is the run's symbol.
    let trips: Vec<_> = run
        .round_trips
        .iter()
        .filter(|r| r.symbol.is_none_or(|s| s == symbol))
        .filter(|r| r.exit_time >= start && r.entry_time < end)
        .collect();
    let first_close = bars.iter().next().map(|b| decimal_to_f64(b.close));
    // Several symbols: the equal-weight buy and hold over all of them, as the headline's.
    let benchmark = if c.symbols().len() > 1 {
        let mut markets = Vec::with_capacity(c.symbols().len());
        for s in c.symbols() {
            let series = if *s == symbol {
                bars.clone()
            } else {
                state
                    .services
                    .market
                    .bars(&BarQuery::of_symbol(c, *s))
                    .map_err(ApiError::internal)?
            };
            markets.push((*s, series.iter().copied().collect::<Vec<Bar>>()));
        }
        let initial = decimal_to_f64(c.initial_capital());
        Some(cryptobt_domain::views::buy_and_hold(&markets, initial, (start, end - 1), ms))
    } else {
        None
    };
    let plots: Vec<PlotView> = series
        .plots
        .iter()
        .map(|p| PlotView {
            name: &p.name,
            pane: p.pane,
            levels: &p.levels,
            points: thin(&p.times, &p.values, start, end - 1, ms),
        })
        .collect();
    let body = ChartView {
        backtest_id: id.as_str(),
        symbol,
        symbols: c.symbols(),
        from,
        to,
        first_bar: first,
        last_bar: last,
        range_from: start,
        range_to: end,
        bucket_ms: ms,
        bucket: label,
        timeframe: c.timeframe(),
        aggregated: ms > bar_ms,
        candles,
        equity,
        drawdown,
        benchmark_base: first_close,
        benchmark,
        fills_total: fills.len(),
        fills: spread(&fills, MAX_FILLS).into_iter().copied().collect(),
        round_trips_total: trips.len(),
        round_trips: spread(&trips, MAX_TRIPS).into_iter().copied().collect(),
        plots,
        damaged: &series.damaged,
    };
    Ok(serde_json::to_vec(&body).unwrap_or_default())
}

/// `GET /api/backtest/{id}/report`: the run's self-contained HTML report, as a download.
pub(crate) async fn report(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let st = state.clone();
    let id2 = id.clone();
    let html = blocking(move || -> Result<String, ApiError> {
        let store = &st.services.store;
        let run = store.load(&id2, 2).map_err(|e| store_error(&id2, e))?;
        let equity = store.equity(&id2).map_err(|e| store_error(&id2, e))?;
        let c = &run.record.config;
        let markets: Vec<(cryptobt_domain::Symbol, Vec<Bar>)> = c
            .symbols()
            .iter()
            .map(|symbol| {
                let bars = st
                    .services
                    .market
                    .bars(&BarQuery::of_symbol(c, *symbol))
                    .map(|b| b.iter().copied().collect())
                    .unwrap_or_default();
                (*symbol, bars)
            })
            .collect();
        // A damaged plots.csv leaves the plots out of the report, as it does of the chart.
        let plots = store.plots(&id2).unwrap_or_default();
        Ok(cryptobt_report::render(&run, &equity, &markets, &plots))
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"report-{id}.html\""),
        ))
        .body(html))
}
