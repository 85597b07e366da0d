//! Security headers on every response. The web UI gets a strict Content-Security-Policy (scripts,
//! styles, frames and connections from its own origin only: no inline script or style, no `eval`) and
//! may not be framed by any page (`frame-ancestors 'none'`, `X-Frame-Options: DENY`); the widget
//! preview page may be framed only by the UI itself; `widget.js`, which customer sites load from their
//! own pages, stays embeddable. Every response says `nosniff` and `Referrer-Policy: no-referrer`; API
//! responses carry `default-src 'none'` so a JSON body can never run as a page.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The web UI's policy.
pub const UI_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; font-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The widget preview page's policy (framed by the UI's Publish screen; the widget's avatar may be any
/// http(s) image).
pub const PREVIEW_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: http: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'self'";

/// API responses (JSON, event streams, metrics): nothing in them may load or run as a page.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// What a path serves, for its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// The API, health and metrics.
    Api,
    /// The widget script and its preview page's script: loaded by other origins' pages.
    Embed,
    /// The widget preview page, framed by the UI.
    Preview,
    /// The web UI (pages, scripts, styles).
    Ui,
}

/// Classifies a request path.
pub fn served(path: &str) -> Served {
    let api = |p: &str| path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'));
    if api("/v1") || api("/mcp") || path == "/metrics" || path == "/health" {
        Served::Api
    } else if path == "/widget.js" {
        Served::Embed
    } else if path == "/preview.html" {
        Served::Preview
    } else {
        Served::Ui
    }
}

/// Adds the security headers of the request's path to its response.
pub async fn headers(req: Request, next: Next) -> Response {
    let kind = served(req.uri().path());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    match kind {
        Served::Api => {
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(API_CSP));
        }
        Served::Embed => {
            // Loaded as a script by customer sites: say so, so a cross-origin isolation default never
            // blocks it.
            h.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
        }
        Served::Preview => {
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PREVIEW_CSP));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        }
        Served::Ui => {
            h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(UI_CSP));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified() {
        assert_eq!(served("/v1/health"), Served::Api);
        assert_eq!(served("/mcp"), Served::Api);
        assert_eq!(served("/metrics"), Served::Api);
        assert_eq!(served("/v1x"), Served::Ui);
        assert_eq!(served("/widget.js"), Served::Embed);
        assert_eq!(served("/preview.html"), Served::Preview);
        assert_eq!(served("/"), Served::Ui);
        assert_eq!(served("/js/main.js"), Served::Ui);
        assert!(UI_CSP.contains("frame-ancestors 'none'") && !UI_CSP.contains("unsafe"));
        assert!(PREVIEW_CSP.contains("frame-ancestors 'self'") && !PREVIEW_CSP.contains("unsafe"));
    }
}
