//! Submitting, reading, listing, cancelling and deleting runs; their events and files.

use std::time::Duration;

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::SecondsFormat;
use cryptobt_domain::{
    ports::{ResultFile, StrategyLimits},
    BacktestConfig, ConfigFile, Intrabar, RunStatus, Timeframe,
};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use std::sync::Arc;

use cryptobt_domain::{
    ports::{StoreError, StoredRun},
    BacktestId, ErrorCode,
};

use super::{blocking, datasets, parse_id, store_error, stored};
use crate::{
    jobs::SubmitError,
    request,
    views::{
        BacktestView, CoveredView, DamagedRun, Deleted, Progress, RunCancelling, RunListItem,
        RunsPage, SubmitResponse,
    },
    ApiError, AppState,
};

/// Reads the body up to `cap` bytes within the configured time: 413 at once when the declared
/// `Content-Length` is over the cap (or as soon as the bytes are), 408 when the body does not
/// arrive in time (a client that sends headers and part of a body cannot hold a connection).
pub(crate) async fn read_body(
    state: &AppState,
    req: &HttpRequest,
    mut payload: web::Payload,
    cap: usize,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::PayloadTooLarge(format!("the body is larger than {cap} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let read = async {
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::InvalidRequest {
                field: None,
                message: format!("cannot read the body: {e}"),
            })?;
            if body.len() + chunk.len() > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    let limit = state.config.body_timeout;
    tokio::time::timeout(limit, read).await.unwrap_or_else(|_| {
        Err(ApiError::Timeout(format!("the body did not arrive within {} s", limit.as_secs())))
    })
}

/// Answers now, not as a failed run later, when the data does not cover `c`'s range (or its 1m
/// bars, with `intrabar = 1m`).
pub(crate) async fn check_coverage(state: &AppState, c: &BacktestConfig) -> Result<(), ApiError> {
    // The range must be covered by the data (answered now, not as a failed run later).
    let datasets = datasets(state).await?;
    let set = datasets.iter().find(|d| {
        d.mode == c.trading_mode() && d.symbol == c.symbol() && d.timeframe == c.timeframe()
    });
    match set {
        None => {
            let field = if datasets.iter().any(|d| d.symbol == c.symbol()) {
                "timeframe"
            } else {
                "symbol"
            };
            return Err(ApiError::field(
                field,
                format!("no {} data for {} {}", c.trading_mode(), c.symbol(), c.timeframe()),
            ));
        }
        Some(d) if c.start_date() < d.first_day || c.end_date() > d.last_day => {
            return Err(ApiError::NoData(format!(
                "{} {} {} has data from {} to {}; {}..{} is outside it",
                c.trading_mode(),
                c.symbol(),
                c.timeframe(),
                d.first_day,
                d.last_day,
                c.start_date(),
                c.end_date()
            )))
        }
        Some(_) => {}
    }
    if c.intrabar() == Intrabar::OneMinute && c.timeframe() != Timeframe::M1 {
        let minutes = datasets.iter().find(|d| {
            d.mode == c.trading_mode() && d.symbol == c.symbol() && d.timeframe == Timeframe::M1
        });
        let covered =
            minutes.is_some_and(|d| c.start_date() >= d.first_day && c.end_date() <= d.last_day);
        if !covered {
            return Err(ApiError::field(
                "intrabar",
                format!(
                    "intrabar = 1m needs the 1m bars of the range, and {} {} 1m data does not cover {}..{}",
                    c.trading_mode(),
                    c.symbol(),
                    c.start_date(),
                    c.end_date()
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /api/backtest`.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let cfg = &state.config;
    let body = submission_body(&state, &req, payload).await?;
    let submission = request::parse(&body, &cfg.policy, cfg.default_mmr, cfg.max_strategy_bytes)?;
    check_coverage(&state, &submission.config).await?;
    let id = queue(&state, submission).await?;
    Ok(HttpResponse::Accepted().json(SubmitResponse {
        backtest_id: id.to_string(),
        status: "queued".to_owned(),
        message: format!("backtest {id} queued; follow it at /api/backtest/{id}/events"),
    }))
}

/// The body of a submission (a run's or a sweep's): the strategy and 64 KiB of settings at most.
pub(crate) async fn submission_body(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<request::Body, ApiError> {
    let cap = state.config.max_strategy_bytes + (64 << 10);
    request::read(&read_body(state, req, payload, cap).await?)
}

/// A run's limits as this server sets them.
pub(crate) fn run_limits(cfg: &crate::ApiConfig) -> StrategyLimits {
    StrategyLimits {
        max_duration: cfg.max_run_duration,
        memory_bytes: cfg.memory_limit_bytes,
        ..StrategyLimits::default()
    }
}

/// Queues a checked submission as a new run; a full queue is a 429.
pub(crate) async fn queue(
    state: &web::Data<AppState>,
    submission: request::Submission,
) -> Result<cryptobt_domain::BacktestId, ApiError> {
    let id = state.services.store.new_id();
    let limits = run_limits(&state.config);
    let store = state.services.store.clone();
    let state2 = state.clone();
    let id2 = id.clone();
    let submitted = blocking(move || {
        state2
            .jobs
            .submit(id2, submission.config, submission.strategy_code, limits, store.as_ref())
            .map(|_| ())
    })
    .await?;
    match submitted {
        Ok(()) => Ok(id),
        Err(SubmitError::Full) => Err(ApiError::QueueFull { retry_after_secs: 5 }),
        Err(SubmitError::Store(e)) => Err(ApiError::internal(e)),
    }
}

/// `?page=&page_size=` of the fills and `?trips_page=&trips_page_size=` of the round trips in
/// `GET /api/backtest/{id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct TradesPage {
    page: Option<u64>,
    page_size: Option<u64>,
    trips_page: Option<u64>,
    trips_page_size: Option<u64>,
}

/// The bars a stored run's metrics cover: the first and last snapshot (a failed or cancelled run
/// stops before its end date).
fn covered(run: &StoredRun) -> Option<CoveredView> {
    match (run.portfolio.first(), run.portfolio.last()) {
        (Some(first), Some(last)) => Some(CoveredView {
            first_bar: first.timestamp,
            last_bar: last.timestamp,
            bars: run.portfolio_rows,
            complete: run.record.status == RunStatus::Completed,
        }),
        _ => None,
    }
}

/// The pages asked for: (page, size) of the fills and of the round trips.
struct Pages {
    trades: (u64, u64),
    trips: (u64, u64),
}

/// One page of the round trips, each with its opening fill's `tag` and an `ambiguous` flag (any
/// of its fills rested on the path rule): derived from the fills, not stored in the CSV.
fn trip_rows(run: &StoredRun, (page, size): (u64, u64)) -> Vec<Value> {
    let marks = cryptobt_domain::trip_marks(&run.trades);
    let trips = page_of(&run.round_trips, page, size);
    let first = usize::try_from(page.saturating_sub(1).saturating_mul(size)).unwrap_or(usize::MAX);
    trips
        .iter()
        .enumerate()
        .map(|(i, trip)| {
            let mut row = serde_json::to_value(trip).unwrap_or(Value::Null);
            let mark = marks.get(first.saturating_add(i)).cloned().unwrap_or_default();
            if let Value::Object(fields) = &mut row {
                fields.insert("tag".into(), mark.tag.map_or(Value::Null, Value::String));
                fields.insert("ambiguous".into(), Value::Bool(mark.ambiguous));
            }
            row
        })
        .collect()
}

/// One page of `items`: the 1-based `page` of `size`.
fn page_of<T>(items: &[T], page: u64, size: u64) -> &[T] {
    let start = usize::try_from(page.saturating_sub(1).saturating_mul(size)).unwrap_or(usize::MAX);
    let start = start.min(items.len());
    let end = start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX)).min(items.len());
    &items[start..end]
}

/// Fills per page by default and at most: a page of JSON stays around a megabyte.
const TRADES_PAGE: u64 = 5_000;
const MAX_TRADES_PAGE: u64 = 10_000;

/// Bytes a stored run takes in memory, about (the finished-run cache weighs by it).
pub(crate) fn weight(run: &StoredRun) -> usize {
    let text: usize =
        run.log.iter().map(String::len).sum::<usize>() + run.record.strategy_code.len();
    1_024
        + text
        + run.trades.len() * 160
        + run.round_trips.len() * 176
        + run.funding.len() * 128
        + run.portfolio.len() * 192
}

/// The JSON answer for a stored run, with one page of its fills.
fn stored_view<'a>(id: &'a BacktestId, run: &'a StoredRun, pages: &Pages) -> BacktestView<'a> {
    let done = run.portfolio_rows;
    let error = run.record.error.as_ref();
    BacktestView {
        backtest_id: id.as_str(),
        status: run.record.status,
        progress: Progress::new(done, done),
        created_at: run.record.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        config: ConfigFile::from_record(&run.record),
        metrics: run.metrics.as_ref(),
        trades: page_of(&run.trades, pages.trades.0, pages.trades.1),
        trades_total: run.trades.len() as u64,
        trades_page: pages.trades.0,
        trades_page_size: pages.trades.1,
        covered: covered(run),
        round_trips: trip_rows(run, pages.trips),
        round_trips_total: run.round_trips.len() as u64,
        round_trips_page: pages.trips.0,
        round_trips_page_size: pages.trips.1,
        funding: &run.funding,
        portfolio_history: &run.portfolio,
        portfolio_rows: run.portfolio_rows,
        rejections: &run.rejections,
        ambiguous_bars: run.counters.ambiguous_bars,
        pending_at_end: run.counters.pending_at_end,
        queued_at_end: run.counters.queued_at_end,
        open_at_end: run.counters.open_at_end,
        funding_fallbacks: run.funding_fallbacks,
        unused_params: &run.unused_params,
        open_positions: &run.open_positions,
        log: &run.log,
        error_code: error.map(|e| e.code),
        error_message: error.map(|e| e.message.clone()),
        error_line: error.and_then(|e| e.line),
        damaged: &run.damaged,
    }
}

/// `GET /api/backtest/{id}[?page=1&page_size=5000]`: the run, with one page of its fills
/// (`trades_total` says how many there are).
pub(crate) async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<TradesPage>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let pages = Pages {
        trades: (
            query.page.unwrap_or(1).max(1),
            query.page_size.unwrap_or(TRADES_PAGE).clamp(1, MAX_TRADES_PAGE),
        ),
        trips: (
            query.trips_page.unwrap_or(1).max(1),
            query.trips_page_size.unwrap_or(TRADES_PAGE).clamp(1, MAX_TRADES_PAGE),
        ),
    };
    if let Some(job) = state.jobs.get(&id) {
        let s = job.state();
        let record = job.record.lock().clone();
        // A run in flight, or one whose results could not be written (kept in memory).
        if matches!(s.status, RunStatus::Queued | RunStatus::Running)
            || s.error_code == Some(ErrorCode::StorageError)
        {
            let no_rejections = std::collections::BTreeMap::new();
            return Ok(HttpResponse::Ok().json(BacktestView {
                backtest_id: id.as_str(),
                status: s.status,
                progress: Progress::new(s.done, s.total),
                created_at: record.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                config: ConfigFile::from_record(&record),
                metrics: None,
                trades: &[],
                trades_total: 0,
                trades_page: pages.trades.0,
                trades_page_size: pages.trades.1,
                covered: None,
                round_trips: Vec::new(),
                round_trips_total: 0,
                round_trips_page: pages.trips.0,
                round_trips_page_size: pages.trips.1,
                funding: &[],
                portfolio_history: &[],
                portfolio_rows: 0,
                rejections: &no_rejections,
                ambiguous_bars: 0,
                pending_at_end: 0,
                queued_at_end: 0,
                open_at_end: false,
                funding_fallbacks: 0,
                unused_params: &[],
                open_positions: &[],
                log: &[],
                error_code: s.error_code,
                error_message: s.error_message.clone(),
                error_line: None,
                damaged: &[],
            }));
        }
    }
    let points = state.config.max_chart_points;
    let st = state.clone();
    let id2 = id.clone();
    // Reading, caching and serializing all happen off the HTTP workers, under the store lock.
    let bytes = blocking(move || -> Result<Vec<u8>, StoreError> {
        let _read = st.store_lock.read();
        let run = match st.finished.get(&id2) {
            Some(run) => run,
            None => {
                let run = Arc::new(st.services.store.load(&id2, points)?);
                let settled = !matches!(run.record.status, RunStatus::Queued | RunStatus::Running);
                // A damaged run is read afresh each time (a repair shows at once).
                if settled && run.damaged.is_empty() {
                    st.finished.insert(id2.clone(), Arc::clone(&run));
                }
                run
            }
        };
        Ok(serde_json::to_vec(&stored_view(&id2, &run, &pages)).unwrap_or_default())
    })
    .await?
    .map_err(|e| store_error(&id, e))?;
    Ok(HttpResponse::Ok().content_type("application/json").body(bytes))
}

/// `DELETE /api/backtest/{id}`.
pub(crate) async fn delete(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    if state
        .jobs
        .get(&id)
        .is_some_and(|j| matches!(j.state().status, RunStatus::Queued | RunStatus::Running))
    {
        return Err(ApiError::Conflict {
            message: format!(
                "backtest {id} is {}; cancel it first",
                state.jobs.get(&id).map_or(RunStatus::Running, |j| j.state().status)
            ),
            backtest_id: id.to_string(),
        });
    }
    let st = state.clone();
    let id2 = id.clone();
    blocking(move || {
        let _write = st.store_lock.write();
        st.finished.invalidate(&id2);
        st.series.invalidate(&id2);
        let in_memory = st.jobs.forget(&id2);
        match st.services.store.delete(&id2) {
            Err(StoreError::NotFound { .. }) if in_memory => Ok(()),
            other => other,
        }
    })
    .await?
    .map_err(|e| store_error(&id, e))?;
    Ok(HttpResponse::Ok().json(Deleted {
        backtest_id: Some(id.as_str()),
        sweep_id: None,
        deleted: true,
    }))
}

/// `POST /api/backtest/{id}/cancel`.
pub(crate) async fn cancel(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    match state.jobs.get(&id) {
        Some(job) if matches!(job.state().status, RunStatus::Queued | RunStatus::Running) => {
            job.cancel();
            Ok(HttpResponse::Accepted().json(RunCancelling {
                backtest_id: id.as_str(),
                status: job.state().status,
                message: "cancellation requested",
            }))
        }
        _ => {
            let record = stored(&state, &id, |store, id| store.record(id)).await?;
            Err(ApiError::Conflict {
                message: format!("backtest {id} is already {}", record.status),
                backtest_id: id.to_string(),
            })
        }
    }
}

/// `GET /api/backtest/{id}/events`: Server-Sent Events — `progress` while it runs, then one
/// `status` event with the final state.
pub(crate) async fn events(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let frame = super::sse_frame;
    if let Some(job) = state.jobs.get(&id) {
        let rx = job.subscribe();
        let id_text = id.to_string();
        let stream = futures_util::stream::unfold(
            (rx, false, id_text),
            move |(mut rx, ended, id)| async move {
                if ended {
                    return None;
                }
                let s = rx.borrow_and_update().clone();
                let data = json!({
                    "backtest_id": id, "status": s.status, "progress": Progress::new(s.done, s.total),
                    "error_code": s.error_code, "error_message": s.error_message,
                });
                let last = !matches!(s.status, RunStatus::Queued | RunStatus::Running);
                let bytes = frame(if last { "status" } else { "progress" }, &data);
                if !last {
                    // Wait for the next change (or a heartbeat after 15 s).
                    let _ = tokio::time::timeout(Duration::from_secs(15), rx.changed()).await;
                }
                Some((Ok::<_, actix_web::Error>(bytes), (rx, last, id)))
            },
        );
        return Ok(super::sse(stream.boxed_local()));
    }
    let record = stored(&state, &id, |store, id| store.record(id)).await?;
    let data = json!({
        "backtest_id": id.as_str(), "status": record.status, "progress": null,
        "error_code": record.error.as_ref().map(|e| e.code), "error_message": record.error.as_ref().map(|e| e.message.clone()),
    });
    let once =
        futures_util::stream::once(
            async move { Ok::<_, actix_web::Error>(frame("status", &data)) },
        );
    Ok(super::sse(once.boxed_local()))
}

/// `GET /api/backtest/{id}/files/{name}`: one of the result files, for download.
pub(crate) async fn file(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw, name) = path.into_inner();
    let id = parse_id(&raw)?;
    let file = ResultFile::from_name(&name).ok_or_else(|| ApiError::NotFound {
        message: format!(
            "no result file {name:?}; one of {}",
            ResultFile::ALL.map(|f| f.name()).join(", ")
        ),
        backtest_id: Some(id.to_string()),
    })?;
    let bytes = stored(&state, &id, move |store, id| store.read_file(id, file)).await?;
    let content_type = match file {
        ResultFile::Config | ResultFile::Metrics | ResultFile::Run => "application/json",
        ResultFile::Trades
        | ResultFile::Portfolio
        | ResultFile::Funding
        | ResultFile::RoundTrips
        | ResultFile::Plots => "text/csv; charset=utf-8",
        ResultFile::Log => "text/plain; charset=utf-8",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{id}_{}\"", file.name()),
        ))
        .body(bytes))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    page: Option<usize>,
    page_size: Option<usize>,
    /// `created_at` (default), `name`, `symbol`, `status`, `total_return` or `sharpe_ratio`.
    sort: Option<String>,
    /// `desc` (default) or `asc`.
    order: Option<String>,
    /// Words that must all appear in the name, the id, the symbol or the params.
    q: Option<String>,
    symbol: Option<String>,
    status: Option<String>,
    trading_mode: Option<String>,
    timeframe: Option<String>,
}

/// Sortable columns of the history.
const SORTS: [&str; 6] = ["created_at", "name", "symbol", "status", "total_return", "sharpe_ratio"];

/// `GET /api/backtests?page=1&page_size=20&sort=&order=&q=&symbol=&status=&trading_mode=&timeframe=`:
/// the runs, filtered, sorted (newest first by default) and paged.
pub(crate) async fn history(
    state: web::Data<AppState>,
    query: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = q.page.unwrap_or(1).max(1);
    let size = q.page_size.unwrap_or(20).clamp(1, 200);
    let sort = q.sort.clone().unwrap_or_else(|| "created_at".to_owned());
    if !SORTS.contains(&sort.as_str()) {
        return Err(ApiError::field(
            "sort",
            format!("sort {sort:?} is not one of {}", SORTS.join(", ")),
        ));
    }
    let ascending = match q.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return Err(ApiError::field("order", format!("order {other:?} is not asc or desc")))
        }
    };
    let store = state.services.store.clone();
    let (runs, damaged) = blocking(move || store.listing().map(|r| (r, store.list_damaged())))
        .await?
        .map_err(ApiError::internal)?;
    let status_of = |r: &cryptobt_domain::ports::RunRecord| {
        state.jobs.get(&r.backtest_id).map_or(r.status, |j| j.state().status)
    };
    let words: Vec<String> =
        q.q.as_deref().unwrap_or("").split_whitespace().map(str::to_lowercase).collect();
    let params_text = |r: &cryptobt_domain::ports::RunRecord| {
        r.config
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={}", param_text(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut runs: Vec<_> = runs
        .into_iter()
        .filter(|l| {
            let c = &l.record.config;
            let matches =
                |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
            q.symbol.as_deref().is_none_or(|w| c.symbols().iter().any(|s| s.as_str() == w))
                && matches(&q.trading_mode, c.trading_mode().as_str())
                && matches(&q.timeframe, c.timeframe().as_str())
                && (q.status.is_none() || matches(&q.status, status_of(&l.record).as_str()))
                && (words.is_empty() || {
                    let symbols: Vec<&str> = c.symbols().iter().map(|s| s.as_str()).collect();
                    let hay = format!(
                        "{} {} {} {}",
                        l.name,
                        l.record.backtest_id,
                        symbols.join(" "),
                        params_text(&l.record)
                    )
                    .to_lowercase();
                    words.iter().all(|w| hay.contains(w.as_str()))
                })
        })
        .collect();
    let figure = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
    runs.sort_by(|a, b| {
        let by = match sort.as_str() {
            "name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            "symbol" => a.record.config.symbol().as_str().cmp(b.record.config.symbol().as_str()),
            "status" => status_of(&a.record).as_str().cmp(status_of(&b.record).as_str()),
            "total_return" => figure(a.total_return).total_cmp(&figure(b.total_return)),
            "sharpe_ratio" => figure(a.sharpe_ratio).total_cmp(&figure(b.sharpe_ratio)),
            _ => a.record.created_at.cmp(&b.record.created_at),
        }
        .then_with(|| a.record.backtest_id.cmp(&b.record.backtest_id));
        if ascending {
            by
        } else {
            by.reverse()
        }
    });
    let total = runs.len();
    // A page past the end is empty, however large the number (no overflow, no wrap-around).
    let skip = (page - 1).saturating_mul(size);
    let items: Vec<RunListItem> = runs
        .iter()
        .skip(skip)
        .take(size)
        .map(|l| {
            let r = &l.record;
            let c = &r.config;
            RunListItem {
                backtest_id: r.backtest_id.as_str(),
                name: &l.name,
                status: status_of(r),
                created_at: r.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                symbol: c.symbol(),
                symbols: c.symbols(),
                timeframe: c.timeframe(),
                trading_mode: c.trading_mode(),
                start_date: c.start_date().to_string(),
                end_date: c.end_date().to_string(),
                initial_capital: c.initial_capital(),
                max_leverage: c.max_leverage(),
                params: c.params(),
                total_return: l.total_return,
                sharpe_ratio: l.sharpe_ratio,
                error_code: r.error.as_ref().map(|e| e.code),
            }
        })
        .collect();
    // Runs whose config.json cannot be read, named with the file (never silently dropped).
    let damaged: Vec<DamagedRun> = damaged
        .iter()
        .map(|d| DamagedRun {
            backtest_id: d.backtest_id.as_str(),
            status: "damaged",
            damaged: format!("{}: {}", d.file, d.message),
        })
        .collect();
    Ok(HttpResponse::Ok().json(RunsPage { items, total, page, page_size: size, damaged }))
}

/// A parameter's value as text (for the history's filter).
fn param_text(v: &cryptobt_domain::ParamValue) -> String {
    match v {
        cryptobt_domain::ParamValue::Number(n) => n.to_string(),
        cryptobt_domain::ParamValue::Text(t) => t.clone(),
    }
}
