//! What every request must pass before a handler sees it: a `Host` this server answers to (no
//! DNS rebinding), and for requests that change state, no foreign `Origin` (no cross-site
//! request forgery) and, with a body, a JSON content type (no cross-site "simple" form posts).

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{header, Method},
    middleware::Next,
    web, ResponseError,
};

use crate::{ApiError, AppState};

/// The host names a loopback server answers to, besides the configured ones.
const LOOPBACK_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// `host[:port]` → (host, port), with IPv6 brackets kept.
fn split_host(value: &str) -> (&str, Option<&str>) {
    if let Some(end) = value.find(']') {
        let (host, rest) = value.split_at(end + 1);
        return (host, rest.strip_prefix(':'));
    }
    match value.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    }
}

/// Whether a `Host` header names this server. A server bound to a loopback address answers only
/// to loopback names (and the allow-list); one bound elsewhere (a deployment behind a proxy)
/// answers to its allow-list when one is set, else to any name.
pub(crate) fn host_allowed(state: &AppState, host: &str) -> bool {
    let (name, _) = split_host(host);
    let name = name.to_ascii_lowercase();
    if state.config.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
        return true;
    }
    let bound: std::net::IpAddr = state
        .config
        .host
        .trim_matches(['[', ']'])
        .parse()
        .unwrap_or(std::net::Ipv6Addr::LOCALHOST.into());
    if bound.is_loopback() {
        return LOOPBACK_NAMES.contains(&name.as_str());
    }
    state.config.allowed_hosts.is_empty()
}

/// Whether an `Origin` may change state here: the page's own origin (same host as the request)
/// or one of the CORS origins.
fn origin_allowed(state: &AppState, origin: &str, host: &str) -> bool {
    if state.config.cors_origins.iter().any(|o| o == origin) {
        return true;
    }
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))
    else {
        return false; // "null" and other opaque origins
    };
    rest.eq_ignore_ascii_case(host)
}

/// The middleware.
pub(crate) async fn check(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = {
        let state = req.app_data::<web::Data<AppState>>();
        let headers = req.headers();
        let text = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
        let host = text(header::HOST).unwrap_or_default().to_owned();
        let changes =
            matches!(*req.method(), Method::POST | Method::DELETE | Method::PUT | Method::PATCH);
        match state {
            None => None,
            Some(_) if host.is_empty() => {
                Some(ApiError::Forbidden("a Host header is required".into()))
            }
            Some(state) if !host_allowed(state, &host) => Some(ApiError::Forbidden(format!(
                "this server does not answer to host {:?}",
                host.chars().take(100).collect::<String>()
            ))),
            Some(state) if changes => match text(header::ORIGIN) {
                Some(origin) if !origin_allowed(state, origin, &host) => {
                    Some(ApiError::Forbidden(format!(
                        "requests that change state are not accepted from origin {:?}",
                        origin.chars().take(100).collect::<String>()
                    )))
                }
                _ => {
                    let has_body = text(header::CONTENT_LENGTH).is_some_and(|l| l != "0")
                        || headers.contains_key(header::TRANSFER_ENCODING);
                    let json = text(header::CONTENT_TYPE).is_some_and(|t| {
                        t.split(';')
                            .next()
                            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
                    });
                    (has_body && !json).then(|| {
                        ApiError::UnsupportedMediaType(
                            "the body must be JSON, sent with content-type: application/json"
                                .into(),
                        )
                    })
                }
            },
            Some(_) => None,
        }
    };
    if let Some(error) = refused {
        let response = error.error_response().map_into_right_body();
        return Ok(req.into_response(response));
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::split_host;

    #[test]
    fn hosts_split_with_and_without_port() {
        assert_eq!(split_host("127.0.0.1:8000"), ("127.0.0.1", Some("8000")));
        assert_eq!(split_host("localhost"), ("localhost", None));
        assert_eq!(split_host("[::1]:80"), ("[::1]", Some("80")));
    }
}
