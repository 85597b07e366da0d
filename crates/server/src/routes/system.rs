//! Health, Prometheus metrics, the OpenAPI document and the web UI's static files.
//!
//! The OpenAPI 3.1 document served at `/v1/openapi.json` is generated from the typed handlers
//! ([`crate::typed_routes`]: each handler's `#[utoipa::path]` and the [`crate::wire`] types) and completed
//! with what every operation may answer: 401 on admin routes, 429 everywhere, 400 for a parameter or body
//! that does not parse, 413 and 415 for a body.

use axum::extract::State;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir};
use serde_json::{json, Value};

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
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(document);
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

/// A response with the shared error body.
fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The OpenAPI document.
pub fn document() -> Value {
    let generated = serde_json::to_value(crate::typed_routes().split_for_parts().1).unwrap_or(Value::Null);
    let public = crate::public_paths();
    let mut paths = generated["paths"].as_object().cloned().unwrap_or_default();
    for (path, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else { continue };
        for operation in ops.values_mut() {
            complete(operation, public.contains(path));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Throughline API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Build a knowledge base from documents or a site, search it, and run the customer agent on it. Every route but health, this document and the public chat needs the admin token as a bearer token."
        },
        "servers": [{"url": "/"}],
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
            "schemas": generated["components"]["schemas"].clone(),
        }
    })
}

/// Adds what every operation may answer: 401 on admin routes, 429 everywhere, 400 when it takes
/// parameters or a body, 413 and 415 when it takes a body; and an empty `security` on public routes.
/// Statuses the handler documents itself (the OpenAI routes' errors in OpenAI's shape, MCP's JSON-RPC
/// errors) are kept.
fn complete(operation: &mut Value, public: bool) {
    // A path or query parameter that does not parse (an id that is not 16 hex digits) is a 400.
    let has_params = operation["parameters"].as_array().is_some_and(|ps| !ps.is_empty());
    let has_body = operation.get("requestBody").is_some();
    let mut extra = vec![("429", "Rate limited")];
    if !public {
        extra.push(("401", "Missing or wrong admin token"));
    }
    if has_params || has_body {
        extra.push(("400", "Invalid request: `error.field` names the bad field"));
    }
    if has_body {
        extra.extend([("413", "Body over the size limit"), ("415", "Body is not `application/json`")]);
    }
    let Some(responses) = operation["responses"].as_object_mut() else { return };
    for (code, what) in extra {
        let mut response = error_response(what);
        if code == "429" {
            response["headers"] =
                json!({"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}});
        }
        responses.entry(code).or_insert(response);
    }
    if public {
        operation["security"] = json!([]);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_every_operation_has_a_unique_id() {
        let doc = super::document();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in &all {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(doc["components"]["schemas"].get(name).is_some(), "{r} does not resolve");
        }
        let mut ids: Vec<&str> = doc["paths"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
            .filter_map(|ops| ops.as_object())
            .flat_map(|ops| ops.values())
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let n = ids.len();
        assert_eq!(n, crate::api_routes().len(), "every operation has an id");
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids repeat");
        // Every operation has an id and its error statuses.
        // Enumerations come from the domain's lists.
        let page_types = doc["components"]["schemas"]["PageType"]["enum"].as_array().map(Vec::len);
        assert_eq!(page_types, Some(throughline_core::PageType::ALL.len()));
        let search = &doc["paths"]["/v1/kbs/{kb}/search"]["post"];
        assert_eq!(search["operationId"], "search");
        for code in ["200", "400", "401", "404", "413", "415", "429"] {
            assert!(search["responses"].get(code).is_some(), "search documents {code}");
        }
    }
    #[test]
    fn every_operation_has_a_summary_a_success_schema_its_errors_and_its_security() {
        let doc = super::document();
        let public = crate::public_paths();
        assert!(public.contains(&"/v1/agents/{agent}/chat".to_string()) && !public.contains(&"/v1/kbs".to_string()));
        for (method, path) in crate::api_routes() {
            let op = &doc["paths"][path.as_str()][method.as_str()];
            let at = format!("{method} {path}");
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{at}: no summary");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{at}: no tag");
            let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{at}: no responses"));
            assert!(responses.contains_key("429"), "{at}: 429 undocumented");
            if public.contains(&path) {
                assert_eq!(op["security"], serde_json::json!([]), "{at}: a public route needs no token");
                assert!(
                    !responses.contains_key("401")
                        || path.contains("agent")
                        || path.contains("model")
                        || path.contains("chat")
                );
            } else {
                assert!(op.get("security").is_none(), "{at}: an admin route keeps the document's security");
                assert!(responses.contains_key("401"), "{at}: 401 undocumented");
            }
            // What a success answers is described (a body's schema, or why there is none).
            let success = responses
                .iter()
                .find(|(code, _)| code.starts_with('2') || (path == "/mcp" && method == "get"))
                .unwrap_or_else(|| panic!("{at}: no success status"));
            assert!(success.1["description"].as_str().is_some_and(|d| !d.is_empty()), "{at}: {success:?}");
            for (media, content) in success.1["content"].as_object().into_iter().flatten() {
                assert!(content.get("schema").is_some(), "{at}: {media} without a schema");
                // This document's own schema is the OpenAPI specification's.
                if path == "/v1/openapi.json" {
                    continue;
                }
                assert_ne!(content["schema"], serde_json::json!({"type": "object"}), "{at}: a bare object schema");
            }
            if op.get("requestBody").is_some() {
                for code in ["400", "413", "415"] {
                    assert!(responses.contains_key(code), "{at}: {code} undocumented");
                }
            }
        }
    }

    #[test]
    fn the_server_checks_urls_with_the_documents_own_patterns() {
        let doc = super::document();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["WidgetSettings"]["properties"]["avatar_url"]["pattern"], crate::widget::AVATAR_URL_PATTERN);
        let origin = serde_json::to_string(&schemas["Publish"]).unwrap();
        assert!(
            origin.contains(&serde_json::to_string(crate::routes::publication::ORIGIN_PATTERN).unwrap()),
            "{origin}"
        );
        let origin = regex::Regex::new(crate::routes::publication::ORIGIN_PATTERN).unwrap();
        for ok in ["https://www.my-company.com", "http://localhost:3000", "http://127.0.0.1:65535/"] {
            assert!(origin.is_match(ok), "{ok}");
        }
        for bad in ["https://A0*", "http://a.7", "http://localhost:65536", "https://x.com/path", "ftp://x.com"] {
            assert!(!origin.is_match(bad), "{bad}");
        }
        let avatar = regex::Regex::new(crate::widget::AVATAR_URL_PATTERN).unwrap();
        assert!(avatar.is_match("https://cdn.my-company.com/img/a.png?v=2"));
        assert!(!avatar.is_match("https://A0*"));
    }
}
