//! Strategy checks and examples, health, and the OpenAPI document.

use actix_web::{web, HttpResponse};

use super::backtests::read_body;
use crate::{
    views::{Example, Examples, Health, MetricList, ValidateResponse},
    ApiError, AppState,
};

/// `POST /api/strategy/validate` with `{strategy_code}`: `{valid, error_code, message, line}`
/// (200 either way; a broken script is an answer, not a failed request).
pub(crate) async fn validate(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Checks run a Lua VM: at most as many at once as there are run workers; more get 503.
    let Ok(_permit) = state.validations.clone().try_acquire_owned() else {
        return Err(ApiError::Busy { retry_after_secs: 1 });
    };
    let cap = state.config.max_strategy_bytes + (64 << 10);
    let body = crate::request::read(&read_body(&state, &req, payload, cap).await?)?;
    let code = crate::request::strategy_code(&body, state.config.max_strategy_bytes)?;
    let strategies = state.services.strategies.clone();
    let result = super::blocking(move || strategies.validate(&code)).await?;
    Ok(HttpResponse::Ok().json(match result {
        Ok(()) => ValidateResponse { valid: true, error_code: None, message: None, line: None },
        Err(e) => ValidateResponse {
            valid: false,
            error_code: Some(e.code),
            message: Some(e.message),
            line: e.line,
        },
    }))
}

/// `GET /api/metrics`: every metric's key, label, group, unit and definition (docs/metrics.md),
/// for the page's tiles and tooltips.
pub(crate) async fn metrics() -> HttpResponse {
    HttpResponse::Ok().json(MetricList { metrics: &cryptobt_domain::METRICS })
}

/// `GET /api/strategies/examples`: the strategies of `static/strategies/` with their header text.
pub(crate) async fn examples(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let dir = state.config.static_dir.join("strategies");
    let list = super::blocking(move || {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else { return out };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".lua") else { continue };
            let Ok(code) = std::fs::read_to_string(entry.path()) else { continue };
            let header: Vec<&str> = code
                .lines()
                .take_while(|l| l.starts_with("--"))
                .map(|l| l.trim_start_matches('-').trim())
                .collect();
            out.push(Example {
                name: stem.to_owned(),
                title: header.first().copied().unwrap_or(stem).to_owned(),
                description: header.join("\n"),
                file: name,
                code,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    })
    .await?;
    Ok(HttpResponse::Ok().json(Examples { examples: list }))
}

/// `GET /api/health`.
pub(crate) async fn health(state: web::Data<AppState>) -> HttpResponse {
    let (queued, running) = state.jobs.counts();
    HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        workers: state.jobs.worker_count,
        queue_capacity: state.jobs.queue_capacity,
        queued,
        running,
    })
}

/// `GET /api/openapi.json`.
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}
