//! `ApiError`: the one place where failures become HTTP statuses and the original spec's error
//! body `{error, message, details, backtest_id}`.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;

/// The error body of every failed request.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `invalid_json`, `invalid_request`, `validation_error`, `no_data`,
    /// `not_found`, `conflict`, `queue_full`, `payload_too_large`, `request_timeout`, `forbidden`,
    /// `unsupported_media_type`, `busy`, `method_not_allowed`, `damaged_run`,
    /// `internal_error`.
    pub error: &'static str,
    /// What went wrong, naming the field and value.
    pub message: String,
    /// Structured detail, e.g. `{"field": "initial_capital"}`.
    pub details: Option<Value>,
    /// The run concerned, when there is one.
    pub backtest_id: Option<String>,
}

/// A failed request.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The body is not JSON.
    InvalidJson(String),
    /// A field is missing or of the wrong type, or a path or query parameter is malformed.
    InvalidRequest {
        /// The field, when one is at fault.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A field's value is out of range.
    Validation {
        /// The field.
        field: String,
        /// What is wrong, naming the value.
        message: String,
    },
    /// The data has no bars for the range.
    NoData(String),
    /// No such run.
    NotFound {
        /// What was not found.
        message: String,
        /// The id asked for.
        backtest_id: Option<String>,
    },
    /// The run is in a state that forbids the request.
    Conflict {
        /// Why not now.
        message: String,
        /// The run.
        backtest_id: String,
    },
    /// The run queue is full.
    QueueFull {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// A sweep runs and as many as may wait already do.
    SweepQueueFull {
        /// Sweeps running or waiting.
        waiting: usize,
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// The body is larger than allowed.
    PayloadTooLarge(String),
    /// The body did not arrive in time.
    Timeout(String),
    /// The endpoint exists, but not for this method.
    MethodNotAllowed {
        /// The methods it has, for the `Allow` header.
        allow: &'static str,
    },
    /// The request comes from a host name or origin this server does not serve.
    Forbidden(String),
    /// A body that is not JSON.
    UnsupportedMediaType(String),
    /// Too many requests of this kind at once; retry shortly.
    Busy {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// A stored run's file cannot be understood; the message names the file.
    Damaged {
        /// Which file, and what is wrong with it.
        message: String,
        /// The run.
        backtest_id: String,
    },
    /// Something failed on the server (details are logged, with their whole chain of causes,
    /// not sent).
    Internal {
        /// What failed.
        message: String,
        /// Why, when known.
        cause: Option<cryptobt_domain::ports::Cause>,
    },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.body().message)
    }
}

/// A server failure's source is the failure under it; a refused request has none.
impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Internal { cause: Some(cause), .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

impl ApiError {
    /// A server failure caused by `error` (kept, with its sources, for the log).
    pub(crate) fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal { message: error.to_string(), cause: Some(std::sync::Arc::new(error)) }
    }

    /// For a server failure, its message and every cause under it, as the log shows them.
    pub(crate) fn chain(&self) -> Option<String> {
        let Self::Internal { message, .. } = self else { return None };
        let mut detail = message.clone();
        let mut next = std::error::Error::source(self).and_then(std::error::Error::source);
        while let Some(e) = next {
            detail.push_str(" ← ");
            detail.push_str(&e.to_string());
            next = e.source();
        }
        Some(detail)
    }

    /// A validation error on `field`.
    pub(crate) fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation { field: field.to_owned(), message: message.into() }
    }

    /// A malformed request naming `field`.
    pub(crate) fn request(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidRequest { field: Some(field.to_owned()), message: message.into() }
    }

    fn body(&self) -> ErrorBody {
        let field = |f: &str| Some(serde_json::json!({ "field": f }));
        let (error, message, details, backtest_id) = match self {
            Self::InvalidJson(m) => ("invalid_json", m.clone(), None, None),
            Self::InvalidRequest { field: f, message } => {
                ("invalid_request", message.clone(), f.as_deref().and_then(field), None)
            }
            Self::Validation { field: f, message } => {
                ("validation_error", message.clone(), field(f), None)
            }
            Self::NoData(m) => ("no_data", m.clone(), None, None),
            Self::NotFound { message, backtest_id } => {
                ("not_found", message.clone(), None, backtest_id.clone())
            }
            Self::Conflict { message, backtest_id } => {
                ("conflict", message.clone(), None, Some(backtest_id.clone()))
            }
            Self::QueueFull { retry_after_secs } => (
                "queue_full",
                format!(
                    "every worker is busy and the queue is full; retry in {retry_after_secs} s"
                ),
                None,
                None,
            ),
            Self::SweepQueueFull { waiting, retry_after_secs } => (
                "queue_full",
                format!(
                    "{waiting} sweeps are running or waiting, as many as this server keeps; retry in {retry_after_secs} s"
                ),
                None,
                None,
            ),
            Self::PayloadTooLarge(m) => ("payload_too_large", m.clone(), None, None),
            Self::Timeout(m) => ("request_timeout", m.clone(), None, None),
            Self::MethodNotAllowed { allow } => {
                ("method_not_allowed", format!("this endpoint answers {allow} only"), None, None)
            }
            Self::Forbidden(m) => ("forbidden", m.clone(), None, None),
            Self::UnsupportedMediaType(m) => ("unsupported_media_type", m.clone(), None, None),
            Self::Busy { retry_after_secs } => (
                "busy",
                format!("too many checks at once; retry in {retry_after_secs} s"),
                None,
                None,
            ),
            Self::Damaged { message, backtest_id } => {
                ("damaged_run", message.clone(), None, Some(backtest_id.clone()))
            }
            Self::Internal { .. } => {
                ("internal_error", "the server failed to handle the request".to_owned(), None, None)
            }
        };
        ErrorBody { error, message, details, backtest_id }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) | Self::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation { .. } | Self::NoData(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::QueueFull { .. } | Self::SweepQueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal { .. } | Self::Damaged { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(detail) = self.chain() {
            tracing::error!(%detail, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Self::QueueFull { retry_after_secs }
        | Self::Busy { retry_after_secs }
        | Self::SweepQueueFull { retry_after_secs, .. } = self
        {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        if let Self::MethodNotAllowed { allow } = self {
            response.insert_header(("Allow", *allow));
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptobt_domain::ports::StoreError;

    #[test]
    fn an_internal_error_keeps_its_causes_for_the_log() {
        let os = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device");
        let store = StoreError::Io {
            message: "trades.csv of bt_x".into(),
            source: Some(std::sync::Arc::new(os)),
        };
        let error = ApiError::internal(store);
        assert_eq!(
            error.chain().unwrap(),
            "result storage failed: trades.csv of bt_x ← no space left on device"
        );
        // The client sees none of it.
        assert_eq!(error.body().message, "the server failed to handle the request");
        // Any error reporter finds the same chain through `Error::source`.
        let under = std::error::Error::source(&error).expect("the store error");
        assert_eq!(under.to_string(), "result storage failed: trades.csv of bt_x");
        assert_eq!(under.source().expect("the OS error").to_string(), "no space left on device");
    }

    #[test]
    fn a_refused_request_has_no_source() {
        let error = ApiError::NoData("no bars for 2020-01-01".into());
        assert!(std::error::Error::source(&error).is_none());
    }
}
