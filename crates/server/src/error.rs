//! Errors as the API shows them: a status, a stable machine-readable `code`, and a message naming the
//! bad input. `{"error": {"code": "...", "message": "...", "field": "..."}}`.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use throughline_core::{CoreError, ErrorKind};

/// Every error code the API answers, with its HTTP status: the one table of errors. A handler names a
/// code; the status follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A field of the request is unusable (`field` names it).
    InvalidRequest,
    /// The body is not the JSON expected (malformed, wrong type, unknown field).
    InvalidJson,
    /// A path parameter is malformed.
    InvalidPath,
    /// A query-string parameter is malformed.
    InvalidQueryString,
    /// No or a wrong admin token or public key.
    Unauthorized,
    /// The page's origin is not among the agent's allowed origins.
    OriginNotAllowed,
    /// The named thing does not exist.
    NotFound,
    /// No such API path.
    RouteNotFound,
    /// No agent of that name for the OpenAI-compatible API.
    ModelNotFound,
    /// The path does not take this method.
    MethodNotAllowed,
    /// The request conflicts with the current state.
    Conflict,
    /// A thing of that name exists.
    AlreadyExists,
    /// A newer configuration version was saved meanwhile.
    VersionConflict,
    /// The agent is not published.
    NotPublished,
    /// The job already finished.
    JobFinished,
    /// The body is over its size limit.
    PayloadTooLarge,
    /// The body's content type is not the one expected.
    UnsupportedMediaType,
    /// Too many requests from this client (`Retry-After`).
    RateLimited,
    /// A fault inside the server (a reference to its log line).
    Internal,
    /// A dependency is temporarily unavailable.
    Unavailable,
    /// The chat queue is full (`Retry-After`).
    Overloaded,
    /// The server is shutting down (`Retry-After`).
    ServerStopping,
    /// The request passed its time limit (`Retry-After`).
    Timeout,
}

impl ErrorCode {
    /// Every code, in the order of the table.
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidJson,
        ErrorCode::InvalidPath,
        ErrorCode::InvalidQueryString,
        ErrorCode::Unauthorized,
        ErrorCode::OriginNotAllowed,
        ErrorCode::NotFound,
        ErrorCode::RouteNotFound,
        ErrorCode::ModelNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::AlreadyExists,
        ErrorCode::VersionConflict,
        ErrorCode::NotPublished,
        ErrorCode::JobFinished,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::Overloaded,
        ErrorCode::ServerStopping,
        ErrorCode::Timeout,
    ];

    /// The HTTP status of the code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidPath => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidQueryString => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::OriginNotAllowed => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::RouteNotFound => StatusCode::NOT_FOUND,
            ErrorCode::ModelNotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::AlreadyExists => StatusCode::CONFLICT,
            ErrorCode::VersionConflict => StatusCode::CONFLICT,
            ErrorCode::NotPublished => StatusCode::CONFLICT,
            ErrorCode::JobFinished => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServerStopping => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code as clients see it (`not_found`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidPath => "invalid_path",
            ErrorCode::InvalidQueryString => "invalid_query_string",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RouteNotFound => "route_not_found",
            ErrorCode::ModelNotFound => "model_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::VersionConflict => "version_conflict",
            ErrorCode::NotPublished => "not_published",
            ErrorCode::JobFinished => "job_finished",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::ServerStopping => "server_stopping",
            ErrorCode::Timeout => "timeout",
        }
    }

    /// What the code means.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "a field of the request is unusable (`field` names it)",
            ErrorCode::InvalidJson => "the body is not the JSON expected (malformed, wrong type, unknown field)",
            ErrorCode::InvalidPath => "a path parameter is malformed",
            ErrorCode::InvalidQueryString => "a query-string parameter is malformed",
            ErrorCode::Unauthorized => "no or a wrong admin token or public key",
            ErrorCode::OriginNotAllowed => "the page's origin is not among the agent's allowed origins",
            ErrorCode::NotFound => "the named thing does not exist",
            ErrorCode::RouteNotFound => "no such API path",
            ErrorCode::ModelNotFound => "no agent of that name for the OpenAI-compatible API",
            ErrorCode::MethodNotAllowed => "the path does not take this method",
            ErrorCode::Conflict => "the request conflicts with the current state",
            ErrorCode::AlreadyExists => "a thing of that name exists",
            ErrorCode::VersionConflict => "a newer configuration version was saved meanwhile",
            ErrorCode::NotPublished => "the agent is not published",
            ErrorCode::JobFinished => "the job already finished",
            ErrorCode::PayloadTooLarge => "the body is over its size limit",
            ErrorCode::UnsupportedMediaType => "the body's content type is not the one expected",
            ErrorCode::RateLimited => "too many requests from this client (`Retry-After`)",
            ErrorCode::Internal => "a fault inside the server (a reference to its log line)",
            ErrorCode::Unavailable => "a dependency is temporarily unavailable",
            ErrorCode::Overloaded => "the chat queue is full (`Retry-After`)",
            ErrorCode::ServerStopping => "the server is shutting down (`Retry-After`)",
            ErrorCode::Timeout => "the request passed its time limit (`Retry-After`)",
        }
    }
}

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
    /// An error of `code` (its status follows from the code).
    pub fn of(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status: code.status(), code: code.as_str(), message: message.into(), field: None, retry_after: None }
    }

    /// 400 naming the bad field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_string()), ..Self::of(ErrorCode::InvalidRequest, message) }
    }

    /// 404 for a named thing.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::of(ErrorCode::NotFound, format!("{what} `{id}` does not exist"))
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::of(ErrorCode::Unauthorized, message)
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
        Self::of(ErrorCode::Internal, format!("internal error (reference {reference}: the server log has the details)"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = crate::wire::ErrorBody {
            error: crate::wire::error::ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
                retry_after: self.retry_after,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
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
        let code = match e.kind() {
            ErrorKind::InvalidInput => ErrorCode::InvalidRequest,
            ErrorKind::NotFound => ErrorCode::NotFound,
            ErrorKind::Conflict => ErrorCode::Conflict,
            ErrorKind::Unavailable => ErrorCode::Unavailable,
            ErrorKind::Internal => return Self::internal(e.to_string()),
        };
        Self::of(code, e.to_string())
    }
}

impl From<throughline_ingest::IngestError> for ApiError {
    fn from(e: throughline_ingest::IngestError) -> Self {
        let kind = e.kind();
        ApiError::from(CoreError::new(kind, e.to_string()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::of(crate::error::ErrorCode::InvalidPath, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::of(crate::error::ErrorCode::InvalidQueryString, r.body_text())
    }
}

/// The refusal of a body that is a JSON array: every body of this API is an object (serde would read a
/// struct from an array of its fields in order).
fn array_body() -> ApiError {
    ApiError::of(crate::error::ErrorCode::InvalidJson, "the body must be a JSON object, not an array")
}

/// Parses a JSON body read as bytes (handlers that must authenticate before looking at the body).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(array_body());
    }
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let field = text.split('`').nth(1).map(str::to_string);
        ApiError { field, ..ApiError::of(crate::error::ErrorCode::InvalidJson, format!("invalid JSON body: {text}")) }
    })
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// `axum::Json` whose rejections are [`ApiError`]s and whose body must be a JSON object.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    /// The body read once and parsed once, by [`parse_json`] (the same errors as the handlers that read
    /// their body as bytes).
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::of(
                crate::error::ErrorCode::UnsupportedMediaType,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let body = axum::body::Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::of(crate::error::ErrorCode::PayloadTooLarge, "the request body is too large or could not be read")
        })?;
        parse_json(&body).map(ApiJson)
    }
}

/// Whether the request says its body is JSON (`application/json`, or `application/…+json`).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let mime = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    mime.is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")))
}

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
    fn the_error_table_has_one_row_per_code() {
        let names: std::collections::HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "codes are unique");
        for c in ErrorCode::ALL {
            let e = ApiError::of(c, "x");
            assert_eq!((e.status, e.code), (c.status(), c.as_str()));
            assert!(c.status().is_client_error() || c.status().is_server_error(), "{c:?}");
        }
        assert_eq!(ErrorCode::Overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(ErrorCode::OriginNotAllowed.status(), StatusCode::FORBIDDEN);
    }

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
