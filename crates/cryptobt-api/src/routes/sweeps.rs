//! `/api/sweeps`: submit a parameter sweep, follow it, page and sort its table, draw its heatmap,
//! open a member as a normal run, cancel and delete it.

use std::{sync::Arc, time::Duration};

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use cryptobt_domain::{
    ports::{strategy_name, SweepFile, SweepId, SweepMeta, SweepRequest, SweepRow, SweepTable},
    ParamValue, RunStatus, SweepSpec, SweepText, METRICS,
};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    backtests::{check_coverage, queue, run_limits, submission_body},
    blocking, sse, sse_frame,
};
use crate::{
    request,
    sweeps::{SweepJob, SWEEP_QUEUE},
    views::{
        Deleted, HeatmapView, MemberRun, Progress, SweepCancelling, SweepList, SweepRowView,
        SweepSubmitResponse, SweepTablePage,
    },
    ApiError, AppState,
};

fn parse_sweep_id(raw: &str) -> Result<SweepId, ApiError> {
    SweepId::parse(raw).ok_or_else(|| {
        ApiError::request(
            "sweep_id",
            format!("{raw:?} is not a sweep id (sw_YYYYMMDD_HHMMSS_xxxxxx)"),
        )
    })
}

fn not_found(id: &SweepId) -> ApiError {
    ApiError::NotFound { message: format!("no sweep {id}"), backtest_id: None }
}

/// The sweep named by the path (checked before it reaches a file path) and its id.
fn sweep_of(state: &AppState, raw: &str) -> Result<(SweepId, Arc<SweepJob>), ApiError> {
    let id = parse_sweep_id(raw)?;
    let job = state.sweeps.get(id.as_str()).ok_or_else(|| not_found(&id))?;
    Ok((id, job))
}

/// A sweep as the history lists it (without its request), with its status and progress now.
fn listing(job: &SweepJob) -> Value {
    let mut v = serde_json::to_value(&*job.meta.lock()).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.remove("request");
        let s = job.state();
        map.insert("status".into(), serde_json::to_value(s.status).unwrap_or_default());
        let progress = Progress::new(s.done, s.total);
        map.insert("progress".into(), serde_json::to_value(progress).unwrap_or_default());
    }
    v
}

/// `POST /api/sweeps`: a run's fields plus `grid`, `random`, `seed`, `objective`, `minimize`,
/// `walk_forward`, `blocks`.
pub(crate) async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let cfg = &state.config;
    let body = submission_body(&state, &req, payload).await?;
    let sub = request::parse_sweep(body, &cfg.policy, cfg.default_mmr, cfg.max_strategy_bytes)?;
    check_coverage(&state, &sub.run.config).await?;
    let c = &sub.run.config;
    let days = u64::try_from((c.end_date() - c.start_date()).num_days() + 1).unwrap_or(u64::MAX);
    let text = SweepText {
        grid: &sub.grid,
        random: sub.random,
        seed: sub.seed,
        objective: &sub.objective,
        minimize: sub.minimize,
        blocks: sub.blocks,
        walk_forward: sub.walk_forward.as_deref(),
    };
    let spec = SweepSpec::parse(&text, days).map_err(|e| ApiError::field(e.field, e.message))?;
    let id = state.sweeps.new_id();
    let mut meta = SweepMeta {
        sweep_id: id.to_string(),
        created_at: chrono::Utc::now(),
        status: RunStatus::Queued,
        error_code: None,
        error_message: None,
        name: strategy_name(&sub.run.strategy_code, c.params()),
        symbol: c.symbols().iter().map(|s| s.as_str()).collect::<Vec<_>>().join("+"),
        timeframe: c.timeframe().to_string(),
        trading_mode: c.trading_mode().to_string(),
        start_date: c.start_date().to_string(),
        end_date: c.end_date().to_string(),
        members: 0,
        objective: sub.objective.clone(),
        minimize: sub.minimize,
        best: None,
        pbo: None,
        dsr: None,
        completed: None,
        request: sub.run_fields,
    };
    let request = SweepRequest {
        config: sub.run.config,
        strategy_code: sub.run.strategy_code,
        spec,
        limits: run_limits(cfg),
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        max_duration: cfg.max_sweep_duration,
    };
    let service = state.sweeps.service().clone();
    let (planned, request) = blocking(move || (service.plan(&request), request)).await?;
    let members = planned.map_err(|e| ApiError::field(e.field, e.message))?;
    if members > cfg.max_sweep_members {
        return Err(ApiError::field(
            "grid",
            format!(
                "the sweep has {members} members; this server runs at most {}",
                cfg.max_sweep_members
            ),
        ));
    }
    meta.members = members;
    let (sweeps, id2) = (state.sweeps.clone(), id.clone());
    let job =
        blocking(move || sweeps.submit(id2, meta, request)).await?.map_err(ApiError::internal)?;
    match job {
        Some(_) => Ok(HttpResponse::Accepted().json(SweepSubmitResponse {
            sweep_id: id.to_string(),
            status: "queued".to_owned(),
            members: members as u64,
            message: format!(
                "sweep {id} of {members} members queued; follow it at /api/sweeps/{id}/events"
            ),
        })),
        None => Err(ApiError::SweepQueueFull { waiting: SWEEP_QUEUE, retry_after_secs: 30 }),
    }
}

/// `GET /api/sweeps`: every sweep, newest first.
pub(crate) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let sweeps: Vec<Value> = state.sweeps.list().iter().map(|j| listing(j)).collect();
    let total = sweeps.len();
    Ok(HttpResponse::Ok().json(SweepList { sweeps, total, queue: SWEEP_QUEUE }))
}

/// `?sort=&order=&page=&page_size=` of `GET /api/sweeps/{id}`.
#[derive(Debug, Deserialize)]
pub(crate) struct TableQuery {
    sort: Option<String>,
    order: Option<String>,
    page: Option<u64>,
    page_size: Option<u64>,
}

fn row_view(row: &SweepRow) -> SweepRowView<'_> {
    SweepRowView {
        index: row.index,
        params: &row.params,
        metrics: METRICS.iter().zip(&row.metrics).map(|(d, v)| (d.key, *v)).collect(),
        status: row.status,
        error_code: row.error_code,
    }
}

/// The table of sweep `id` once it has ended (none while it is queued or running, or when it
/// ended without files).
async fn table(
    state: &AppState,
    id: &SweepId,
    job: &SweepJob,
) -> Result<Option<Arc<SweepTable>>, ApiError> {
    if matches!(job.state().status, RunStatus::Queued | RunStatus::Running) {
        return Ok(None);
    }
    let (sweeps, id2) = (state.sweeps.clone(), id.clone());
    blocking(move || sweeps.has_table(&id2).then(|| sweeps.table(&id2)).transpose())
        .await?
        .map_err(|e| ApiError::Damaged { message: e.message, backtest_id: id.to_string() })
}

/// The table of a sweep that has ended; a 409 while it runs.
async fn finished_table(
    state: &AppState,
    id: &SweepId,
    job: &SweepJob,
) -> Result<Arc<SweepTable>, ApiError> {
    table(state, id, job).await?.ok_or_else(|| ApiError::Conflict {
        message: format!("sweep {id} has no table yet ({})", job.state().status),
        backtest_id: id.to_string(),
    })
}

/// The position of a metric or `index`, and the value of a row by it (parameters sort too).
fn sort_key<'a>(
    key: &'a str,
    names: &[String],
) -> Result<impl Fn(&SweepRow) -> Option<f64> + 'a, ApiError> {
    let metric = METRICS.iter().position(|d| d.key == key);
    if metric.is_none() && key != "index" && !names.iter().any(|n| n == key) {
        return Err(ApiError::request(
            "sort",
            format!("sort {key:?} is not index, a parameter or a metric"),
        ));
    }
    Ok(move |row: &SweepRow| match metric {
        Some(k) => row.metrics[k],
        None if key == "index" => Some(row.index as f64),
        None => match row.params.get(key) {
            Some(ParamValue::Number(n)) => Some(*n),
            _ => None,
        },
    })
}

/// `GET /api/sweeps/{id}`: the sweep, its progress, `sweep.json` and a page of its table sorted
/// by any column (nulls last).
pub(crate) async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<TableQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, job) = sweep_of(&state, &path)?;
    let meta = job.meta.lock().clone();
    let s = job.state();
    let mut out = listing(&job);
    out["request"] = meta.request.clone();
    let keys: Vec<&str> = METRICS.iter().map(|d| d.key).collect();
    out["metrics_keys"] = serde_json::to_value(keys).unwrap_or_default();
    // A damaged sweep still answers with its status, and says which file is damaged.
    let table = match table(&state, &id, &job).await {
        Ok(table) => table,
        Err(ApiError::Damaged { message, .. }) => {
            out["damaged"] = Value::Array(vec![Value::String(message)]);
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(table) = table {
        let sort = query.sort.clone().unwrap_or_else(|| meta.objective.clone());
        let descending = match query.order.as_deref() {
            None => !(meta.minimize && sort == meta.objective) && sort != "index",
            Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(ApiError::request(
                    "order",
                    format!("order {other:?} is not asc or desc"),
                ))
            }
        };
        let key = sort_key(&sort, &table.names)?;
        let mut rows: Vec<&SweepRow> = table.rows.iter().collect();
        rows.sort_by(|a, b| match (key(a), key(b)) {
            (Some(x), Some(y)) => cryptobt_domain::rank((x, a.index), (y, b.index), !descending),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.index.cmp(&b.index),
        });
        let size = query.page_size.unwrap_or(50).clamp(1, 10_000);
        let page = query.page.unwrap_or(1).max(1);
        let start =
            usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX).min(rows.len());
        let end = start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX)).min(rows.len());
        let page = SweepTablePage {
            summary: serde_json::from_str(&table.summary).unwrap_or(Value::Null),
            names: &table.names,
            rows: rows[start..end].iter().map(|r| row_view(r)).collect(),
            total_rows: rows.len(),
            page,
            page_size: size,
            sort: sort.clone(),
            order: if descending { "desc" } else { "asc" },
        };
        if let (Value::Object(out), Ok(Value::Object(page))) =
            (&mut out, serde_json::to_value(page))
        {
            out.extend(page);
        }
    } else {
        out["summary"] = Value::Null;
        out["rows"] = Value::Array(Vec::new());
        out["total_rows"] = Value::from(0);
    }
    out["progress"] = serde_json::to_value(Progress::new(s.done, s.total)).unwrap_or_default();
    Ok(HttpResponse::Ok().json(out))
}

/// `?x=&y=&metric=` of the heatmap.
#[derive(Debug, Deserialize)]
pub(crate) struct HeatmapQuery {
    x: String,
    y: String,
    metric: Option<String>,
}

/// `GET /api/sweeps/{id}/heatmap?x=&y=&metric=`: the metric over two parameters; where other
/// parameters vary, a cell shows the best member (by the metric, as the objective's direction
/// says) and names it.
pub(crate) async fn heatmap(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HeatmapQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, job) = sweep_of(&state, &path)?;
    let meta = job.meta.lock().clone();
    let table = finished_table(&state, &id, &job).await?;
    for (field, name) in [("x", &query.x), ("y", &query.y)] {
        if !table.names.contains(name) {
            return Err(ApiError::request(
                field,
                format!(
                    "{field} {name:?} is not a parameter of the sweep ({})",
                    table.names.join(", ")
                ),
            ));
        }
    }
    let metric = query.metric.clone().unwrap_or_else(|| meta.objective.clone());
    let Some(k) = METRICS.iter().position(|d| d.key == metric) else {
        return Err(ApiError::request("metric", format!("metric {metric:?} is not a metric")));
    };
    let minimize = meta.minimize && metric == meta.objective;
    let (x, y) = (query.x.clone(), query.y.clone());
    let map = blocking(move || heatmap_of(&table, &x, &y, k, minimize)).await?;
    Ok(HttpResponse::Ok().json(HeatmapView {
        x: &query.x,
        y: &query.y,
        metric,
        minimize,
        xs: &map.xs,
        ys: &map.ys,
        values: map.cells.iter().map(|r| r.iter().map(|c| c.map(|c| c.0)).collect()).collect(),
        members: map.cells.iter().map(|r| r.iter().map(|c| c.map(|c| c.1)).collect()).collect(),
        binned: map.binned,
        x_bins: &map.x_bins,
        y_bins: &map.y_bins,
    }))
}

/// The most cells a heatmap answer has; beyond, each axis is cut into bins of consecutive values.
const MAX_HEATMAP_CELLS: usize = 10_000;

/// A heatmap: each axis's values (the first of each bin when binned), the best member of each
/// cell, and the bins as `[first, last]`.
struct Heatmap {
    xs: Vec<ParamValue>,
    ys: Vec<ParamValue>,
    cells: Vec<Vec<Option<(f64, usize)>>>,
    binned: bool,
    x_bins: Vec<[ParamValue; 2]>,
    y_bins: Vec<[ParamValue; 2]>,
}

/// A hashable key of a parameter value.
fn value_key(v: &ParamValue) -> (u64, &str) {
    match v {
        ParamValue::Number(x) => (x.to_bits(), ""),
        ParamValue::Text(t) => (u64::MAX, t.as_str()),
    }
}

/// The heatmap of metric `k` over parameters `x` and `y`: at most [`MAX_HEATMAP_CELLS`] cells,
/// built in time linear in the members (one hash look-up per member and axis).
fn heatmap_of(table: &SweepTable, x: &str, y: &str, k: usize, minimize: bool) -> Heatmap {
    let axis = |name: &str| {
        let mut values: Vec<ParamValue> =
            table.rows.iter().filter_map(|r| r.params.get(name).cloned()).collect();
        values.sort_by(|a, b| match (a, b) {
            (ParamValue::Number(x), ParamValue::Number(y)) => x.total_cmp(y),
            (ParamValue::Number(_), ParamValue::Text(_)) => std::cmp::Ordering::Less,
            (ParamValue::Text(_), ParamValue::Number(_)) => std::cmp::Ordering::Greater,
            (ParamValue::Text(x), ParamValue::Text(y)) => x.cmp(y),
        });
        values.dedup();
        values
    };
    let (xs, ys) = (axis(x), axis(y));
    let binned = xs.len().saturating_mul(ys.len()) > MAX_HEATMAP_CELLS;
    // Bins per axis: the values as they are, or at most 100 bins of consecutive values.
    let bins = |n: usize| if binned { n.min(100) } else { n };
    let (nx, ny) = (bins(xs.len()), bins(ys.len()));
    fn bin_of(i: usize, n: usize, m: usize) -> usize {
        if n == m {
            i
        } else {
            i * m / n
        }
    }
    fn lookup(values: &[ParamValue], m: usize) -> std::collections::HashMap<(u64, &str), usize> {
        values.iter().enumerate().map(|(i, v)| (value_key(v), bin_of(i, values.len(), m))).collect()
    }
    let (x_at, y_at) = (lookup(&xs, nx), lookup(&ys, ny));
    let mut cells: Vec<Vec<Option<(f64, usize)>>> = vec![vec![None; nx]; ny];
    for row in table.rows.iter().filter(|r| r.status == RunStatus::Completed) {
        let (Some(px), Some(py), Some(v)) = (row.params.get(x), row.params.get(y), row.metrics[k])
        else {
            continue;
        };
        let (Some(&i), Some(&j)) = (x_at.get(&value_key(px)), y_at.get(&value_key(py))) else {
            continue;
        };
        let better = cells[j][i]
            .is_none_or(|(b, at)| cryptobt_domain::rank((v, row.index), (b, at), minimize).is_lt());
        if better {
            cells[j][i] = Some((v, row.index));
        }
    }
    let ranges = |values: &[ParamValue], m: usize| -> Vec<[ParamValue; 2]> {
        if !binned {
            return Vec::new();
        }
        let n = values.len();
        (0..m)
            .filter_map(|b| {
                let members: Vec<&ParamValue> =
                    (0..n).filter(|&i| bin_of(i, n, m) == b).map(|i| &values[i]).collect();
                Some([(*members.first()?).clone(), (*members.last()?).clone()])
            })
            .collect()
    };
    let (x_bins, y_bins) = (ranges(&xs, nx), ranges(&ys, ny));
    let firsts = |values: Vec<ParamValue>, b: &[[ParamValue; 2]]| {
        if binned {
            b.iter().map(|r| r[0].clone()).collect()
        } else {
            values
        }
    };
    Heatmap { xs: firsts(xs, &x_bins), ys: firsts(ys, &y_bins), cells, binned, x_bins, y_bins }
}

/// `POST /api/sweeps/{id}/members/{index}/run`: the member as a normal run (the sweep's settings
/// with its params), queued like any backtest.
pub(crate) async fn run_member(
    state: web::Data<AppState>,
    path: web::Path<(String, usize)>,
) -> Result<HttpResponse, ApiError> {
    let (raw, index) = path.into_inner();
    let (id, job) = sweep_of(&state, &raw)?;
    let fields = job.meta.lock().request.clone();
    let table = finished_table(&state, &id, &job).await?;
    let Some(row) = table.rows.iter().find(|r| r.index == index) else {
        return Err(ApiError::NotFound {
            message: format!("sweep {id} has no member {index}"),
            backtest_id: None,
        });
    };
    let cfg = &state.config;
    let body = request::member_body(&fields, &row.params)?;
    let submission = request::parse(&body, &cfg.policy, cfg.default_mmr, cfg.max_strategy_bytes)?;
    let backtest_id = queue(&state, submission).await?;
    Ok(HttpResponse::Accepted().json(MemberRun {
        backtest_id: backtest_id.as_str(),
        status: "queued",
        sweep_id: id.as_str(),
        index: row.index,
        params: &row.params,
    }))
}

/// `GET /api/sweeps/{id}/events`: progress while it runs, then its final status.
pub(crate) async fn events(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, job) = sweep_of(&state, &path)?;
    let rx = job.subscribe();
    let stream =
        futures_util::stream::unfold((rx, false, id), move |(mut rx, ended, id)| async move {
            if ended {
                return None;
            }
            let s = rx.borrow_and_update().clone();
            let data = json!({
                "sweep_id": id, "status": s.status, "progress": Progress::new(s.done, s.total),
                "error_message": s.error_message,
            });
            let last = !matches!(s.status, RunStatus::Queued | RunStatus::Running);
            let bytes = sse_frame(if last { "status" } else { "progress" }, &data);
            if !last {
                let _ = tokio::time::timeout(Duration::from_secs(15), rx.changed()).await;
            }
            Some((Ok::<_, actix_web::Error>(bytes), (rx, last, id)))
        });
    Ok(sse(stream.boxed_local()))
}

/// `POST /api/sweeps/{id}/cancel`: members running stop, the table keeps those finished.
pub(crate) async fn cancel(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, job) = sweep_of(&state, &path)?;
    let status = job.state().status;
    if !matches!(status, RunStatus::Queued | RunStatus::Running) {
        return Err(ApiError::Conflict {
            message: format!(
                "sweep {id} is {status}; only a queued or running sweep can be cancelled"
            ),
            backtest_id: id.to_string(),
        });
    }
    job.cancel();
    Ok(HttpResponse::Accepted()
        .json(SweepCancelling { sweep_id: id.as_str(), status: "cancelling" }))
}

/// `DELETE /api/sweeps/{id}`.
pub(crate) async fn delete(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, job) = sweep_of(&state, &path)?;
    let status = job.state().status;
    if matches!(status, RunStatus::Queued | RunStatus::Running) {
        return Err(ApiError::Conflict {
            message: format!("sweep {id} is {status}; cancel it first"),
            backtest_id: id.to_string(),
        });
    }
    let (sweeps, id2) = (state.sweeps.clone(), id.clone());
    blocking(move || sweeps.delete(&id2)).await?.map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(Deleted {
        backtest_id: None,
        sweep_id: Some(id.as_str()),
        deleted: true,
    }))
}

/// `GET /api/sweeps/{id}/files/{name}`: `sweep.parquet`, `returns.parquet` or `sweep.json`.
pub(crate) async fn file(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw, name) = path.into_inner();
    let (id, _) = sweep_of(&state, &raw)?;
    let Some(file) = SweepFile::of(&name) else {
        return Err(ApiError::NotFound {
            message: format!(
                "{name:?} is not a sweep file (sweep.parquet, returns.parquet, sweep.json)"
            ),
            backtest_id: None,
        });
    };
    let kind = match file {
        SweepFile::Table | SweepFile::Returns => "application/vnd.apache.parquet",
        SweepFile::Summary => "application/json",
    };
    let (sweeps, id2) = (state.sweeps.clone(), id.clone());
    let bytes =
        blocking(move || sweeps.file(&id2, file)).await?.map_err(|e| ApiError::NotFound {
            message: if e.to_string().contains("symbolic link") {
                format!("sweep {id}: {name} is a symbolic link, which is not served")
            } else {
                format!("sweep {id} has no {name} yet")
            },
            backtest_id: None,
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{id}_{name}\""),
        ))
        .body(bytes))
}
