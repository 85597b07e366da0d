//! Health, Prometheus metrics, the OpenAPI document and the web UI's static files.

use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir};
use serde_json::Value;

use crate::error::ApiJson;
use crate::AppState;

static WEB: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../web");

/// `GET /health` and `GET /v1/health`: 200 when the store answers.
#[utoipa::path(get, path = "/v1/health", operation_id = "health", tag = "system",
    summary = "Health: 200 when the store answers (also at `/health`)",
    responses((status = 200, description = "Healthy", body = Health), (status = 503, description = "The store does not answer", body = Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    match state.0.store.list_kbs() {
        Ok(kbs) => ApiJson(Health {
            status: "ok".into(),
            kbs: Some(kbs.len()),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            reason: None,
        })
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            ApiJson(Health { status: "unavailable".into(), kbs: None, version: None, reason: Some(e.to_string()) }),
        )
            .into_response(),
    }
}

/// Whether the server can serve.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Knowledge bases (when healthy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kbs: Option<usize>,
    /// The server's version (when healthy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What fails (when unavailable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /metrics` (admin): Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.0.metrics.render(&state)).into_response()
}

/// `GET /v1/openapi.json`
#[utoipa::path(get, path = "/v1/openapi.json", operation_id = "openapi", tag = "system", summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub async fn openapi() -> ApiJson<Value> {
    // The document depends on nothing but the code: built once.
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(crate::openapi::document);
    ApiJson(DOCUMENT.clone())
}

/// A known path asked with a method it does not serve: 405 with a JSON error naming the method and path.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    crate::error::ApiError::of(
        crate::error::ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on {} (see /v1/openapi.json)", uri.path()),
    )
    .into_response()
}

/// Static files of the web UI (`web/`, embedded in the binary); unknown paths under the UI get
/// `index.html` so client-side routes work. The API's namespaces (`/v1`, `/mcp`) never fall back to
/// the UI: an unknown API path is a JSON 404, so a typo or an unsupported route never looks like
/// success; and the UI answers only GET and HEAD.
pub async fn web(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let raw = uri.path();
    if raw == "/v1" || raw.starts_with("/v1/") || raw == "/mcp" || raw.starts_with("/mcp/") {
        return crate::error::ApiError::of(
            crate::error::ErrorCode::RouteNotFound,
            format!("no route {method} {raw} (see /v1/openapi.json)"),
        )
        .into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        let mut res = method_not_allowed(method, uri.clone()).await;
        res.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    let path = uri.path().trim_start_matches('/');
    // Browsers ask for /favicon.ico whatever the page links: answer with the UI's icon.
    let path = match path {
        "" => "index.html",
        "favicon.ico" => "favicon.svg",
        p => p,
    };
    let fallback = if path.contains('.') { None } else { Some("index.html") };
    let file: Option<(String, Vec<u8>)> = match &state.config().web_dir {
        Some(dir) => {
            // Only plain relative names: no way out of the folder.
            let safe = crate::upload::safe_relative_path(path).ok().filter(|p| p.to_str() == Some(path));
            safe.and_then(|p| std::fs::read(dir.join(&p)).ok().map(|b| (path.to_string(), b)))
                .or_else(|| fallback.and_then(|f| std::fs::read(dir.join(f)).ok().map(|b| (f.to_string(), b))))
        }
        None => WEB
            .get_file(path)
            .or_else(|| fallback.and_then(|f| WEB.get_file(f)))
            .map(|f| (f.path().to_string_lossy().into_owned(), f.contents().to_vec())),
    };
    match file {
        Some((name, contents)) => {
            let mime = mime_guess::from_path(&name).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.to_string()),
                    (header::CACHE_CONTROL, "no-cache".to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                ],
                contents,
            )
                .into_response()
        }
        None => crate::error::ApiError::not_found("file", path).into_response(),
    }
}
