//! Errors as the API shows them: a status, a stable machine-readable `code`, and a message naming the
//! bad input. `{"error": {"code": "...", "message": "...", "field": "..."}}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use throughline_core::{CoreError, ErrorKind};

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (`not_found`, `invalid_request`, `unauthorized`, …).
    pub code: &'static str,
    /// Human-readable message naming the input.
    pub message: String,
    /// The request field at fault, when one is.
    pub field: Option<String>,
    /// Seconds after which a retry may succeed (`Retry-After`), for refusals under load.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    /// 400 naming the bad field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_string()), ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", message) }
    }

    /// 404 for a named thing.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} `{id}` does not exist"))
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// The same error with a `Retry-After` of `secs` seconds (at least 1).
    pub fn retry_after(self, secs: u64) -> Self {
        Self { retry_after: Some(secs.max(1)), ..self }
    }

    /// 500 with a message safe to show.
    pub fn internal(message: impl Into<String>) -> Self {
        // What went wrong inside stays in the log, under a reference the client can quote.
        let reference = crate::auth::random_token("").map(|t| t[..12].to_string()).unwrap_or_else(|_| "-".into());
        tracing::error!(reference, error = %message.into(), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error (reference {reference}: the server log has the details)"),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(field) = &self.field {
            body["field"] = json!(field);
        }
        if let Some(secs) = self.retry_after {
            body["retry_after"] = json!(secs);
        }
        let mut response = (self.status, axum::Json(json!({ "error": body }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, www_authenticate());
        }
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// The challenge of every 401: a bearer token (the admin token, or an agent's public key where a route
/// takes one).
pub fn www_authenticate() -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_static("Bearer realm=\"throughline\"")
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let (status, code) = match e.kind() {
            ErrorKind::InvalidInput => (StatusCode::BAD_REQUEST, "invalid_request"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return Self::internal(e.to_string());
        }
        Self::new(status, code, e.to_string())
    }
}

impl From<throughline_ingest::IngestError> for ApiError {
    fn from(e: throughline_ingest::IngestError) -> Self {
        let kind = e.kind();
        ApiError::from(CoreError::new(kind, e.to_string()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large or could not be read",
            ),
            other => {
                // serde's message names the field and the expected type ("missing field `query`",
                // "invalid type: integer `3`, expected a string at line 1 column 12").
                let text = other.body_text();
                let field = text.split('`').nth(1).map(str::to_string);
                ApiError { field, ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", text) }
            }
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query_string", r.body_text())
    }
}

/// Parses a JSON body read as bytes (handlers that must authenticate before looking at the body).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let field = text.split('`').nth(1).map(str::to_string);
        ApiError {
            field,
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("invalid JSON body: {text}"))
        }
    })
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// `axum::Json` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

#[cfg(test)]
mod internal_tests {
    use super::*;

    #[test]
    fn internal_errors_answer_a_reference_not_their_details() {
        let e = ApiError::from(CoreError::new(ErrorKind::Internal, "disk /srv/secret/db.sqlite is corrupt"));
        assert_eq!((e.status, e.code), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        assert!(!e.message.contains("secret"), "{}", e.message);
        assert!(e.message.contains("reference "), "{}", e.message);
        // Other kinds name their input as before.
        let e = ApiError::from(CoreError::new(ErrorKind::NotFound, "knowledge base `x` does not exist"));
        assert_eq!(e.message, "knowledge base `x` does not exist");
    }
}
