//! Webhooks: a plain JSON `POST` with a short timeout for leads and handoffs. A failure never fails the
//! conversation; its outcome (`sent 200`, `failed: …`) is stored with the lead or handoff.
//!
//! Every webhook goes through the shared outbound policy (`throughline-net`): the URL's literal address or
//! metadata host name is checked first, the host's DNS answers are checked by the client's resolver (the
//! address connected to is the one checked), and redirects are not followed — a `3xx` is a failure naming
//! its target — so a webhook cannot be bounced to an internal address.

use std::time::Duration;

use throughline_net::{guard_blocking, refusal_in, url_refusal, NetworkPolicy};

/// Posts `body` to `url` under `policy` and describes the outcome.
pub fn post_json(url: &str, body: &serde_json::Value, timeout: Duration, policy: NetworkPolicy) -> String {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return format!("failed: bad URL `{url}`: {e}"),
    };
    if let Some(reason) = url_refusal(&parsed, policy) {
        return format!("failed: {reason}");
    }
    let client = match guard_blocking(reqwest::blocking::Client::builder().timeout(timeout), policy).build() {
        Ok(c) => c,
        Err(e) => return format!("failed: {e}"),
    };
    match client.post(parsed).header("Content-Type", "application/json").body(body.to_string()).send() {
        Ok(r) if r.status().is_success() => format!("sent {}", r.status().as_u16()),
        Ok(r) if r.status().is_redirection() => {
            let to = r.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("?");
            format!(
                "failed: HTTP {} redirect to {to} not followed (webhooks do not follow redirects)",
                r.status().as_u16()
            )
        }
        Ok(r) => format!("failed: HTTP {}", r.status().as_u16()),
        Err(e) => format!("failed: {}", refusal_in(&e).unwrap_or_else(|| e.to_string())),
    }
}
