//! The routes, the request log and CORS.

mod backtests;
mod data;
mod system;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::{Condition, Next},
    web,
};
use cryptobt_domain::BacktestId;

use crate::ApiError;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .route("/backtest", web::post().to(backtests::submit))
            .route("/backtest/{id}", web::get().to(backtests::get))
            .route("/backtest/{id}", web::delete().to(backtests::delete))
            .route("/backtest/{id}/cancel", web::post().to(backtests::cancel))
            .route("/backtest/{id}/events", web::get().to(backtests::events))
            .route("/backtest/{id}/files/{name}", web::get().to(backtests::file))
            .route("/backtests", web::get().to(backtests::history))
            .route("/data/symbols", web::get().to(data::symbols))
            .route("/data/history", web::get().to(data::history))
            .route("/data/cache", web::get().to(data::cache))
            .route("/strategy/validate", web::post().to(system::validate))
            .route("/strategies/examples", web::get().to(system::examples))
            .route("/health", web::get().to(system::health))
            .route("/openapi.json", web::get().to(system::openapi))
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::NotFound {
                    message: "no such endpoint".into(),
                    backtest_id: None,
                })
            })),
    );
}

/// A backtest id from the path, checked before it can reach a file path.
pub(crate) fn parse_id(raw: &str) -> Result<BacktestId, ApiError> {
    BacktestId::parse(raw).map_err(|e| ApiError::request("backtest_id", e.to_string()))
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
