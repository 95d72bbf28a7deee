//! The routes, the request log and CORS.

mod backtests;
pub(crate) mod chart;
mod data;
mod sweeps;
mod system;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::{Condition, Next},
    web,
};
use cryptobt_domain::{
    ports::{DatasetInfo, ResultStore, StoreError},
    BacktestId,
};

use crate::{ApiError, AppState};

pub(crate) use backtests::weight;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use web::{delete, get, post, resource};
    cfg.service(
        web::scope("/api")
            .service(allow(resource("/backtest").route(post().to(backtests::submit)), "POST"))
            .service(allow(
                resource("/backtest/{id}")
                    .route(get().to(backtests::get))
                    .route(delete().to(backtests::delete)),
                "GET, DELETE",
            ))
            .service(allow(
                resource("/backtest/{id}/cancel").route(post().to(backtests::cancel)),
                "POST",
            ))
            .service(allow(
                resource("/backtest/{id}/events").route(get().to(backtests::events)),
                "GET",
            ))
            .service(allow(
                resource("/backtest/{id}/files/{name}").route(get().to(backtests::file)),
                "GET",
            ))
            .service(allow(resource("/backtest/{id}/chart").route(get().to(chart::chart)), "GET"))
            .service(allow(resource("/backtest/{id}/report").route(get().to(chart::report)), "GET"))
            .service(allow(resource("/backtests").route(get().to(backtests::history)), "GET"))
            .service(allow(
                resource("/sweeps").route(post().to(sweeps::submit)).route(get().to(sweeps::list)),
                "GET, POST",
            ))
            .service(allow(
                resource("/sweeps/{id}")
                    .route(get().to(sweeps::get))
                    .route(delete().to(sweeps::delete)),
                "GET, DELETE",
            ))
            .service(allow(
                resource("/sweeps/{id}/cancel").route(post().to(sweeps::cancel)),
                "POST",
            ))
            .service(allow(resource("/sweeps/{id}/events").route(get().to(sweeps::events)), "GET"))
            .service(allow(
                resource("/sweeps/{id}/heatmap").route(get().to(sweeps::heatmap)),
                "GET",
            ))
            .service(allow(
                resource("/sweeps/{id}/members/{index}/run").route(post().to(sweeps::run_member)),
                "POST",
            ))
            .service(allow(
                resource("/sweeps/{id}/files/{name}").route(get().to(sweeps::file)),
                "GET",
            ))
            .service(allow(resource("/data/symbols").route(get().to(data::symbols)), "GET"))
            .service(allow(resource("/data/history").route(get().to(data::history)), "GET"))
            .service(allow(resource("/data/cache").route(get().to(data::cache)), "GET"))
            .service(allow(
                resource("/strategy/validate").route(post().to(system::validate)),
                "POST",
            ))
            .service(allow(
                resource("/strategies/examples").route(get().to(system::examples)),
                "GET",
            ))
            .service(allow(resource("/metrics").route(get().to(system::metrics)), "GET"))
            .service(allow(resource("/health").route(get().to(system::health)), "GET"))
            .service(allow(resource("/openapi.json").route(get().to(system::openapi)), "GET"))
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::NotFound {
                    message: "no such endpoint".into(),
                    backtest_id: None,
                })
            })),
    );
}

/// An endpoint that answers other methods with 405 and the methods it has (`Allow`).
fn allow(resource: actix_web::Resource, methods: &'static str) -> actix_web::Resource {
    resource.default_service(web::to(move || async move {
        Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed { allow: methods })
    }))
}

/// Runs blocking work (files, market data, a Lua VM) off the HTTP workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    web::block(work).await.map_err(ApiError::internal)
}

/// A result-store call about run `id`, off the HTTP workers; a missing run is a 404.
pub(crate) async fn stored<T: Send + 'static>(
    state: &AppState,
    id: &BacktestId,
    call: impl FnOnce(&dyn ResultStore, &BacktestId) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.services.store.clone();
    let id2 = id.clone();
    blocking(move || call(store.as_ref(), &id2)).await?.map_err(|e| store_error(id, e))
}

/// A store error about run `id` as the API answers it.
pub(crate) fn store_error(id: &BacktestId, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { .. } => ApiError::NotFound {
            message: format!("no backtest {id}"),
            backtest_id: Some(id.to_string()),
        },
        io @ StoreError::Io { .. } => ApiError::internal(io),
        damaged @ StoreError::Damaged { .. } => {
            ApiError::Damaged { message: damaged.to_string(), backtest_id: id.to_string() }
        }
    }
}

/// The data sets on disk, off the HTTP workers.
pub(crate) async fn datasets(state: &AppState) -> Result<Vec<DatasetInfo>, ApiError> {
    let market = state.services.market.clone();
    blocking(move || market.datasets()).await?.map_err(ApiError::internal)
}

/// A backtest id from the path, checked before it can reach a file path.
pub(crate) fn parse_id(raw: &str) -> Result<BacktestId, ApiError> {
    BacktestId::parse(raw).map_err(|e| ApiError::request("backtest_id", e.to_string()))
}

/// An event stream: not cached, not buffered by a proxy, not compressed (so that events are not
/// held back).
pub(crate) fn sse<S>(body: S) -> actix_web::HttpResponse
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> + 'static,
{
    use actix_web::http::header;
    actix_web::HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .insert_header(header::ContentEncoding::Identity)
        .streaming(body)
}

/// One Server-Sent Event.
pub(crate) fn sse_frame(event: &str, data: &serde_json::Value) -> web::Bytes {
    web::Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// Logs every request (method, path, status, time) through `tracing`.
pub(crate) async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.path().to_owned());
    let response = next.call(req).await?;
    tracing::info!(%method, %path, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    Ok(response)
}

/// CORS for the configured origins only; none configured, no CORS headers at all (the page is
/// served from the same origin).
pub(crate) fn cors(origins: &[String]) -> Condition<actix_cors::Cors> {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "DELETE"])
        .allowed_header(actix_web::http::header::CONTENT_TYPE)
        .max_age(3_600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    Condition::new(!origins.is_empty(), cors)
}
