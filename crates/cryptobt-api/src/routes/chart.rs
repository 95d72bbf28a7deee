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
    BacktestId, Bar,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{blocking, parse_id, store_error};
use crate::{error::ApiError, AppState};

/// Buckets a view may use, in ms, with their labels: the run's own timeframe or coarser.
const BUCKETS: [(i64, &str); 12] = [
    (60_000, "1m"),
    (300_000, "5m"),
    (900_000, "15m"),
    (1_800_000, "30m"),
    (3_600_000, "1h"),
    (7_200_000, "2h"),
    (14_400_000, "4h"),
    (43_200_000, "12h"),
    (86_400_000, "1d"),
    (259_200_000, "3d"),
    (604_800_000, "1w"),
    (2_592_000_000, "30d"),
];

/// Candles a view holds by default, and at most.
const DEFAULT_POINTS: usize = 1_500;
const MAX_POINTS: usize = 5_000;
/// Fills and round trips sent with one view, at most (evenly picked; the view says how many
/// there are: zoomed in, a view has them all). Keeps one view's payload under a megabyte.
pub(crate) const MAX_FILLS: usize = 1_000;
const MAX_TRIPS: usize = 500;

/// At most `max` of `items`, evenly spread (the first and the last kept).
pub(crate) fn spread<T>(items: &[T], max: usize) -> Vec<&T> {
    if items.len() <= max {
        return items.iter().collect();
    }
    let step = (items.len() - 1) as f64 / (max - 1).max(1) as f64;
    (0..max).map(|k| &items[((k as f64 * step).round() as usize).min(items.len() - 1)]).collect()
}

/// The query of a chart view.
#[derive(Debug, Deserialize)]
pub(crate) struct ChartQuery {
    from: Option<i64>,
    to: Option<i64>,
    points: Option<usize>,
}

/// A run's full equity curve and drawdown, as the charts draw them (f64, computed exactly as the
/// `max_drawdown` metric is: equity / running max − 1, the running max from the initial capital).
#[derive(Debug)]
pub(crate) struct Series {
    times: Vec<i64>,
    equity: Vec<f64>,
    drawdown: Vec<f64>,
    /// The strategy's `plot` series: name, pane, times, values.
    plots: Vec<(String, cryptobt_domain::PlotPane, Vec<i64>, Vec<f64>)>,
    /// Files of the run that could not be read (`plots.csv: ...`): left out, the rest shown.
    damaged: Vec<String>,
}

impl Series {
    fn new(points: &[(i64, rust_decimal::Decimal)], initial: f64) -> Self {
        let mut peak = initial;
        let mut series = Self {
            times: Vec::with_capacity(points.len()),
            equity: Vec::with_capacity(points.len()),
            drawdown: Vec::with_capacity(points.len()),
            plots: Vec::new(),
            damaged: Vec::new(),
        };
        for (t, v) in points {
            let e = decimal_to_f64(*v);
            peak = peak.max(e);
            series.times.push(*t);
            series.equity.push(e);
            series.drawdown.push(if peak > 0.0 { (e / peak - 1.0) * 100.0 } else { 0.0 });
        }
        series
    }

    /// Bytes held, about (the cache weighs by it).
    pub(crate) fn weight(&self) -> usize {
        self.times.len() * 24 + self.plots.iter().map(|p| p.2.len() * 16 + 64).sum::<usize>() + 64
    }
}

/// The bucket for a view of `span` ms: the finest at least `bar_ms` that keeps at most `points`
/// buckets.
pub(crate) fn bucket_for(span: i64, bar_ms: i64, points: usize) -> (i64, &'static str) {
    let points = i64::try_from(points.max(1)).unwrap_or(i64::MAX);
    BUCKETS
        .iter()
        .copied()
        .filter(|(ms, _)| *ms >= bar_ms)
        .find(|(ms, _)| span / ms < points)
        .unwrap_or(BUCKETS[BUCKETS.len() - 1])
}

/// One candle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Candle {
    pub(crate) t: i64,
    pub(crate) o: f64,
    pub(crate) h: f64,
    pub(crate) l: f64,
    pub(crate) c: f64,
}

/// The bars in `[from, to]` aggregated into buckets of `ms` (aligned to the epoch): first open,
/// highest high, lowest low, last close.
pub(crate) fn aggregate<'a>(
    bars: impl Iterator<Item = &'a Bar>,
    from: i64,
    to: i64,
    ms: i64,
) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for b in bars.filter(|b| b.timestamp >= from && b.timestamp <= to) {
        let t = b.timestamp.div_euclid(ms) * ms;
        let (o, h, l, c) = (
            decimal_to_f64(b.open),
            decimal_to_f64(b.high),
            decimal_to_f64(b.low),
            decimal_to_f64(b.close),
        );
        match out.last_mut() {
            Some(last) if last.t == t => {
                last.h = last.h.max(h);
                last.l = last.l.min(l);
                last.c = c;
            }
            _ => out.push(Candle { t, o, h, l, c }),
        }
    }
    out
}

/// The points of `values` (at `times`) in `[from, to]`, thinned to each bucket of `ms`'s first,
/// minimum, maximum and last point, in time order: every extreme survives.
pub(crate) fn thin(times: &[i64], values: &[f64], from: i64, to: i64, ms: i64) -> Vec<(i64, f64)> {
    let start = times.partition_point(|t| *t < from);
    let end = times.partition_point(|t| *t <= to);
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        let bucket = times[i].div_euclid(ms);
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < end && times[j].div_euclid(ms) == bucket {
            if values[j] < values[lo] {
                lo = j;
            }
            if values[j] > values[hi] {
                hi = j;
            }
            j += 1;
        }
        let mut keep = [i, lo, hi, j - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for k in keep {
            if k != last {
                out.push((times[k], values[k]));
                last = k;
            }
        }
        i = j;
    }
    out
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
    let st = state.clone();
    let id2 = id.clone();
    let body = blocking(move || view(&st, &id2, from, to, points)).await??;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

fn view(
    state: &AppState,
    id: &BacktestId,
    from: Option<i64>,
    to: Option<i64>,
    points: usize,
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
                            (p.name, p.pane, times, values)
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
        return Ok(serde_json::to_vec(&json!({"empty": true})).unwrap_or_default());
    };
    let c = &run.record.config;
    let bar_ms = c.timeframe().duration_ms();
    let from = from.unwrap_or(first).clamp(first, last);
    let to = to.unwrap_or(last).clamp(from, last);
    let (ms, label) = bucket_for(to - from, bar_ms, points);
    let query = BarQuery::of(c);
    let bars = state.services.market.bars(&query).map_err(ApiError::internal)?;
    let candles = aggregate(bars.iter(), from, to, ms);
    let equity = thin(&series.times, &series.equity, from, to, ms);
    let drawdown = thin(&series.times, &series.drawdown, from, to, ms);
    let fills: Vec<_> =
        run.trades.iter().filter(|t| t.timestamp >= from && t.timestamp <= to).collect();
    let trips: Vec<_> =
        run.round_trips.iter().filter(|r| r.exit_time >= from && r.entry_time <= to).collect();
    let first_close = bars.iter().next().map(|b| decimal_to_f64(b.close));
    let plots: Vec<_> = series
        .plots
        .iter()
        .map(|(name, pane, times, values)| {
            json!({"name": name, "pane": pane, "points": thin(times, values, from, to, ms)})
        })
        .collect();
    let body = json!({
        "backtest_id": id.as_str(),
        "from": from, "to": to, "first_bar": first, "last_bar": last,
        "bucket_ms": ms, "bucket": label,
        "timeframe": c.timeframe(),
        "aggregated": ms > bar_ms,
        "candles": candles,
        "equity": equity,
        "drawdown": drawdown,
        "benchmark_base": first_close,
        "fills": spread(&fills, MAX_FILLS),
        "fills_total": fills.len(),
        "round_trips": spread(&trips, MAX_TRIPS),
        "round_trips_total": trips.len(),
        "plots": plots,
        "damaged": series.damaged,
    });
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
        let query = BarQuery::of(c);
        let bars: Vec<Bar> = st
            .services
            .market
            .bars(&query)
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        Ok(crate::report::render(&run, &equity, &bars))
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

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn the_bucket_is_the_finest_that_fits() {
        let day = 86_400_000;
        assert_eq!(bucket_for(50 * day, 60_000, 1_500), (3_600_000, "1h"));
        assert_eq!(bucket_for(day, 60_000, 1_500), (60_000, "1m"));
        assert_eq!(bucket_for(730 * day, 60_000, 1_500), (43_200_000, "12h"));
        assert_eq!(bucket_for(2 * day, 3_600_000, 1_500), (3_600_000, "1h"), "never below the bar");
    }

    #[test]
    fn buckets_keep_the_extremes_and_candles_their_ohlc() {
        let times: Vec<i64> = (0..10).map(|i| i * 60_000).collect();
        let values = [5.0, 3.0, 9.0, 4.0, 6.0, 1.0, 2.0, 8.0, 7.0, 7.5];
        let thinned = thin(&times, &values, 0, 9 * 60_000, 300_000);
        // Bucket 1 (minutes 0–4): first 5, min 3, max 9, last 6; bucket 2: first 1 (= min), max 8, last 7.5.
        let got: Vec<f64> = thinned.iter().map(|p| p.1).collect();
        assert_eq!(got, [5.0, 3.0, 9.0, 6.0, 1.0, 8.0, 7.5]);
        let d = |x: i64| Decimal::from(x);
        let bars: Vec<Bar> = (0..10)
            .map(|i| Bar {
                timestamp: i * 60_000,
                open: d(10 + i),
                high: d(20 + i),
                low: d(i),
                close: d(11 + i),
                volume: Decimal::ONE,
            })
            .collect();
        let candles = aggregate(bars.iter(), 0, 9 * 60_000, 300_000);
        assert_eq!(
            candles,
            [
                Candle { t: 0, o: 10.0, h: 24.0, l: 0.0, c: 15.0 },
                Candle { t: 300_000, o: 15.0, h: 29.0, l: 5.0, c: 20.0 }
            ]
        );
    }
}
