//! The time limit of public requests (the admin routes have their own, `request_timeout`, and so does a
//! public route called with the admin token, such as the playground's chat): over it the
//! visitor gets 503 `timeout` with `Retry-After`, as JSON the widget can read across origins, and the
//! request's work is dropped (a chat still queued leaves the queue; see [`crate::admission`]).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// Bounds a public request by `ServerConfig::public_timeout` (streams: until their first byte); with
/// the admin token, by `ServerConfig::request_timeout` (an operator previewing an agent in the
/// playground waits like any admin request, not like an anonymous visitor).
pub async fn public(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = if crate::auth::is_admin(&state, req.headers()) {
        state.config().request_timeout
    } else {
        state.config().public_timeout
    };
    let origin = req.headers().get(header::ORIGIN).cloned();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            let mut res = ApiError::of(
                crate::error::ErrorCode::Timeout,
                format!("no answer within {:.1} s (the server is busy); retry shortly", limit.as_secs_f64()),
            )
            .retry_after(2)
            .into_response();
            // The refusal says nothing about the agent: any page may read it (the widget shows it).
            if let Some(o) = origin {
                let h = res.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
                h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Retry-After"));
                h.insert(header::VARY, HeaderValue::from_static("Origin"));
            }
            res
        }
    }
}
