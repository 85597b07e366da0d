//! Prometheus metrics: requests by route and status, latency histograms by route, and gauges read from
//! the store when scraped (documents and chunks per knowledge base, jobs by status).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Counters kept in memory since start.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    cancelled_turns: AtomicU64,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = latency.entry(route.to_string()).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// Counts a chat turn given up because its client left before the answer.
    pub fn turn_cancelled(&self) {
        self.cancelled_turns.fetch_add(1, Ordering::Relaxed);
    }

    /// Chat turns given up because their client left, since start.
    pub fn cancelled_turns(&self) -> u64 {
        self.cancelled_turns.load(Ordering::Relaxed)
    }

    /// The text exposition format.
    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::new();
        out.push_str("# HELP throughline_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE throughline_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "throughline_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP throughline_http_request_duration_seconds Time to the response head by route.\n");
        out.push_str("# TYPE throughline_http_request_duration_seconds histogram\n");
        for (route, h) in self.latency.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "throughline_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "throughline_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "throughline_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "throughline_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        out.push_str("# HELP throughline_chat_turns_cancelled_total Chat turns given up because their client left.\n");
        out.push_str("# TYPE throughline_chat_turns_cancelled_total counter\n");
        let _ = writeln!(out, "throughline_chat_turns_cancelled_total {}", self.cancelled_turns());
        if let Ok(kbs) = state.0.store.list_kbs() {
            out.push_str("# HELP throughline_kb_documents Documents per knowledge base.\n");
            out.push_str("# TYPE throughline_kb_documents gauge\n");
            for kb in &kbs {
                let _ = writeln!(out, "throughline_kb_documents{{kb=\"{}\"}} {}", kb.name, kb.documents);
            }
            out.push_str("# HELP throughline_kb_chunks Chunks per knowledge base.\n");
            out.push_str("# TYPE throughline_kb_chunks gauge\n");
            for kb in &kbs {
                let _ = writeln!(out, "throughline_kb_chunks{{kb=\"{}\"}} {}", kb.name, kb.chunks);
            }
        }
        if let Ok(jobs) = state.0.jobs.jobs(None, 10_000) {
            let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
            for j in &jobs {
                *by_status.entry(j.status.as_str()).or_default() += 1;
            }
            out.push_str("# HELP throughline_jobs Jobs by status.\n# TYPE throughline_jobs gauge\n");
            for (status, n) in by_status {
                let _ = writeln!(out, "throughline_jobs{{status=\"{status}\"}} {n}");
            }
        }
        out
    }
}

/// The label of a request method: the standard methods by name, anything else (any client may send a
/// method of any name and length) as "other", so the metrics stay a bounded set of series.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware recording every request.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_string();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    let (status, seconds) = (response.status().as_u16(), started.elapsed().as_secs_f64());
    // One log line per request: its matched route (never the raw path, which may carry a session token
    // or a public key), status and time to the response head.
    tracing::info!(target: "throughline::http", method, route, status, ms = seconds * 1000.0, "request");
    state.0.metrics.record(&method, &route, status, seconds);
    response
}
