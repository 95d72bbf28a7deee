//! The browser frontend from the static directory: only plain file names under it, never a
//! directory listing, never a path out of it.

use actix_web::{http::header, web, HttpRequest, HttpResponse};

use crate::{ApiError, AppState};

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "lua" | "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Reads `root/relative` unless a component below `root` is a symbolic link (a link placed in
/// the static folder is never followed out of it).
fn read_no_links(root: &std::path::Path, relative: &str) -> std::io::Result<Vec<u8>> {
    let mut path = root.to_path_buf();
    for part in relative.split('/') {
        path.push(part);
        if std::fs::symlink_metadata(&path)?.file_type().is_symlink() {
            return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, "a link"));
        }
    }
    std::fs::read(path)
}

/// Serves `GET /` (`index.html`) and files below the static directory.
pub(crate) async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let not_found =
        || ApiError::NotFound { message: format!("no page {}", req.path()), backtest_id: None };
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return Err(not_found());
    }
    let path = req.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let valid = path.split('/').all(|seg| {
        !seg.is_empty()
            && !seg.starts_with('.')
            && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    if !valid {
        return Err(not_found());
    }
    let root = state.config.static_dir.clone();
    let relative = path.to_owned();
    let bytes =
        web::block(move || read_no_links(&root, &relative)).await.map_err(ApiError::internal)?;
    let bytes = bytes.map_err(|_| not_found())?;
    let cache = if path == "index.html" { "no-cache" } else { "public, max-age=300" };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(path)))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(bytes))
}
