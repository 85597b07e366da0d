//! Webhooks: a plain JSON `POST` with a short timeout for leads and handoffs. A failure never fails the
//! conversation; its outcome (`sent 200`, `failed: …`) is stored with the lead or handoff.

use std::time::Duration;

/// Posts `body` to `url` and describes the outcome.
pub fn post_json(url: &str, body: &serde_json::Value, timeout: Duration) -> String {
    let client = match reqwest::blocking::Client::builder().timeout(timeout).no_proxy().build() {
        Ok(c) => c,
        Err(e) => return format!("failed: {e}"),
    };
    match client.post(url).header("Content-Type", "application/json").body(body.to_string()).send() {
        Ok(r) if r.status().is_success() => format!("sent {}", r.status().as_u16()),
        Ok(r) => format!("failed: HTTP {}", r.status().as_u16()),
        Err(e) => format!("failed: {e}"),
    }
}
