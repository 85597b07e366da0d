//! HTTP fetching with every stage bounded: a reqwest client (rustls, gzip and brotli, no proxy from the
//! environment, the policy-checking DNS resolver), redirects followed by hand so each hop is checked
//! (literal private IPs, scope, loops, a hop limit), a body limit counted on decompressed bytes while
//! streaming, a per-request timeout covering the whole response, retries with backoff on 429/5xx that
//! honour `Retry-After` up to a bound, and a pacer that spaces request starts by the per-host delay.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{
    HeaderMap, ACCEPT, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use tokio::time::Instant;
use url::Url;

use throughline_net::{url_refusal, NetworkPolicy};

/// Bounds of one fetch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FetchLimits {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub max_redirects: usize,
    pub max_retries: u32,
    pub max_retry_wait: Duration,
    pub delay: Duration,
}

/// What the server told us last time, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    fn from_headers(h: &HeaderMap) -> Self {
        let get = |name: reqwest::header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        Self { etag: get(ETAG), last_modified: get(LAST_MODIFIED) }
    }
}

/// The loader a response goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Html,
    Markdown,
    Text,
    Pdf,
}

/// A page received.
#[derive(Debug)]
pub(crate) struct Page {
    pub kind: BodyKind,
    pub content_type: String,
    pub body: Vec<u8>,
    pub validators: Validators,
}

/// How a fetch ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A page of a supported type within the size limit.
    Page(Page),
    /// 304: unchanged since the validators sent.
    NotModified(Validators),
    /// Not fetched on purpose (wrong type, too large, redirected out of scope), with the reason.
    Skipped(String),
    /// Failed, with the reason and the HTTP status when there was one.
    Failed { reason: String, status: Option<u16> },
}

/// A finished fetch: where it ended and how.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The URL of the last hop.
    pub final_url: Url,
    /// The last HTTP status seen (0 when no response).
    pub status: u16,
    pub outcome: Outcome,
    /// Time spent in this fetch, pacing excluded.
    pub elapsed: Duration,
    /// Whether the request carried If-None-Match / If-Modified-Since.
    pub conditional: bool,
}

/// Checks a redirect target: `Some(reason)` to stop there (skipped).
pub(crate) type HopCheck = dyn Fn(&Url) -> Option<String> + Send + Sync;

/// The HTTP side of a crawl.
pub(crate) struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
    policy: NetworkPolicy,
    /// When the next request may start, and the spacing between starts.
    pacer: Mutex<(Option<Instant>, Duration)>,
    /// Requests in flight at once (per host: a crawl stays on one host).
    permits: tokio::sync::Semaphore,
}

const ACCEPTED: &str = "text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9,application/pdf;q=0.8,*/*;q=0.1";

impl Fetcher {
    pub(crate) fn new(limits: FetchLimits, policy: NetworkPolicy, concurrency: usize) -> Result<Self, String> {
        // The shared outbound policy: its resolver, no proxy, redirects followed by hand below.
        let builder = reqwest::Client::builder()
            .user_agent(limits.user_agent.clone())
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .gzip(true)
            .brotli(true);
        let client = throughline_net::guard_async(builder, policy)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let pacer = Mutex::new((None, limits.delay));
        Ok(Self { client, limits, policy, pacer, permits: tokio::sync::Semaphore::new(concurrency.max(1)) })
    }

    /// Raises the spacing between request starts (robots.txt Crawl-delay).
    pub(crate) fn raise_delay(&self, delay: Duration) {
        let mut p = self.pacer.lock().unwrap_or_else(|p| p.into_inner());
        p.1 = p.1.max(delay);
    }

    /// Waits for this request's turn: request starts are spaced by the per-host delay.
    async fn pace(&self) {
        let at = {
            let mut p = self.pacer.lock().unwrap_or_else(|p| p.into_inner());
            if p.1.is_zero() {
                return;
            }
            let now = Instant::now();
            let at = p.0.map_or(now, |n| n.max(now));
            p.0 = Some(at + p.1);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Fetches `url`, following redirects by hand. `hop_check` vets each redirect target. `raw` accepts
    /// any content type (robots.txt, sitemaps).
    pub(crate) async fn fetch(&self, url: Url, validators: &Validators, hop_check: &HopCheck, raw: bool) -> Fetched {
        let _permit = self.permits.acquire().await;
        let started = std::time::Instant::now();
        let conditional = !validators.is_empty();
        let mut current = url;
        let mut chain: Vec<String> = vec![current.to_string()];
        let mut status = 0;
        let outcome = loop {
            if let Some(reason) = literal_ip_refusal(&current, self.policy) {
                break Outcome::Failed { reason, status: None };
            }
            let first = chain.len() == 1;
            let resp = match self.send_with_retries(&current, if first { Some(validators) } else { None }).await {
                Ok(r) => r,
                Err((reason, st)) => {
                    status = st.unwrap_or(0);
                    break Outcome::Failed { reason, status: st };
                }
            };
            status = resp.status().as_u16();
            if resp.status().is_redirection() && status != 304 {
                let Some(location) = resp.headers().get(LOCATION).and_then(|l| l.to_str().ok()) else {
                    break Outcome::Failed {
                        reason: format!("HTTP {status} without a Location header"),
                        status: Some(status),
                    };
                };
                let next = match current.join(location) {
                    Ok(mut n) => {
                        n.set_fragment(None);
                        n
                    }
                    Err(e) => {
                        break Outcome::Failed {
                            reason: format!("bad redirect target `{location}`: {e}"),
                            status: Some(status),
                        }
                    }
                };
                if chain.contains(&next.to_string()) {
                    chain.push(next.to_string());
                    break Outcome::Failed {
                        reason: format!("redirect loop: {}", chain.join(" → ")),
                        status: Some(status),
                    };
                }
                if chain.len() > self.limits.max_redirects {
                    break Outcome::Failed {
                        reason: format!("too many redirects (more than {})", self.limits.max_redirects),
                        status: Some(status),
                    };
                }
                if !matches!(next.scheme(), "http" | "https") {
                    break Outcome::Skipped(format!("redirected to a non-HTTP URL {next}"));
                }
                if let Some(reason) = literal_ip_refusal(&next, self.policy) {
                    current = next;
                    break Outcome::Failed { reason, status: None };
                }
                if let Some(reason) = hop_check(&next) {
                    current = next;
                    break Outcome::Skipped(format!("redirected {reason}"));
                }
                chain.push(next.to_string());
                current = next;
                continue;
            }
            if status == 304 && first && conditional {
                let mut v = Validators::from_headers(resp.headers());
                if v.is_empty() {
                    v = validators.clone();
                }
                break Outcome::NotModified(v);
            }
            if !resp.status().is_success() {
                break Outcome::Failed { reason: format!("HTTP {status}"), status: Some(status) };
            }
            break self.read_page(&current, resp, raw).await;
        };
        Fetched { final_url: current, status, outcome, elapsed: started.elapsed(), conditional }
    }

    /// Sends one request, retrying 429 and 5xx with backoff (honouring Retry-After up to the bound).
    async fn send_with_retries(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<reqwest::Response, (String, Option<u16>)> {
        let mut attempt = 0u32;
        loop {
            self.pace().await;
            let mut req = self.client.get(url.clone()).header(ACCEPT, ACCEPTED);
            if let Some(v) = validators {
                if let Some(e) = &v.etag {
                    req = req.header(IF_NONE_MATCH, e);
                }
                if let Some(m) = &v.last_modified {
                    req = req.header(IF_MODIFIED_SINCE, m);
                }
            }
            let resp = req.send().await.map_err(|e| (describe_error(&e), None))?;
            let status = resp.status().as_u16();
            if status != 429 && !resp.status().is_server_error() {
                return Ok(resp);
            }
            if attempt >= self.limits.max_retries {
                let tries = attempt + 1;
                return Err((format!("HTTP {status} (after {tries} attempts)"), Some(status)));
            }
            let backoff = Duration::from_millis(500) * 2u32.pow(attempt);
            let wait = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, std::time::SystemTime::now()))
                .unwrap_or(backoff);
            if wait > self.limits.max_retry_wait {
                return Err((
                    format!(
                        "HTTP {status} (Retry-After {} s exceeds the {} s limit)",
                        wait.as_secs(),
                        self.limits.max_retry_wait.as_secs()
                    ),
                    Some(status),
                ));
            }
            drop(resp);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn read_page(&self, url: &Url, mut resp: reqwest::Response, raw: bool) -> Outcome {
        let content_type = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let kind = if raw { Some(BodyKind::Text) } else { body_kind(&content_type, url) };
        let Some(kind) = kind else {
            let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            return Outcome::Skipped(format!("wrong type: {essence}"));
        };
        let max = self.limits.max_body_bytes;
        if let Some(len) = resp.content_length().filter(|&l| l > max) {
            return Outcome::Skipped(format!("too large: {len} bytes, over the {max}-byte limit"));
        }
        let validators = Validators::from_headers(resp.headers());
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    // Counted after decompression: a small gzip or brotli bomb stops here.
                    if body.len() as u64 + chunk.len() as u64 > max {
                        return Outcome::Skipped(format!("too large: over the {max}-byte limit"));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Outcome::Failed { reason: describe_error(&e), status: Some(resp.status().as_u16()) },
            }
        }
        Outcome::Page(Page { kind, content_type, body, validators })
    }
}

/// The loader for a Content-Type (or, without one, the URL's extension); `None` for unsupported types.
pub(crate) fn body_kind(content_type: &str, url: &Url) -> Option<BodyKind> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "text/html" | "application/xhtml+xml" => Some(BodyKind::Html),
        "text/markdown" | "text/x-markdown" => Some(BodyKind::Markdown),
        "text/plain" => {
            let p = url.path().to_ascii_lowercase();
            if p.ends_with(".md") || p.ends_with(".markdown") || p.ends_with(".mdx") {
                Some(BodyKind::Markdown)
            } else {
                Some(BodyKind::Text)
            }
        }
        "application/pdf" => Some(BodyKind::Pdf),
        "" => {
            let p = url.path().to_ascii_lowercase();
            Some(if p.ends_with(".pdf") {
                BodyKind::Pdf
            } else if p.ends_with(".md") || p.ends_with(".markdown") {
                BodyKind::Markdown
            } else if p.ends_with(".txt") {
                BodyKind::Text
            } else {
                BodyKind::Html
            })
        }
        _ => None,
    }
}

/// Refuses URLs whose host is a literal IP in a refused range (the resolver never sees those) or a
/// cloud metadata host name.
pub(crate) fn literal_ip_refusal(url: &Url, policy: NetworkPolicy) -> Option<String> {
    url_refusal(url, policy)
}

/// A one-line reason for a client error: the resolver's refusal, "timeout", or the innermost cause.
fn describe_error(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut innermost = e.to_string();
    if let Some(reason) = throughline_net::refusal_in(e) {
        return reason;
    }
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        format!("connection failed: {innermost}")
    } else {
        format!("request failed: {innermost}")
    }
}
/// The wait a `Retry-After` value asks for: delay-seconds, or an HTTP date (a date already past means no
/// wait). `None` when the value is neither.
pub(crate) fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        // 2015-10-21 07:28:00 UTC.
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), Some(Duration::ZERO), "a past date");
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", SystemTime::now()), None);
    }
}
