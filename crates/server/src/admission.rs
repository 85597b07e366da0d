//! Admission control for the public chat (the widget's chat and the OpenAI-compatible endpoint): a
//! bounded number of chats computed at once and a bounded queue, per agent and for the whole server.
//! Beyond the queue a chat is refused at once with 503 `overloaded` and a `Retry-After` estimated from
//! recent chat times; a chat that waited in the queue longer than `max_wait` is refused the same way, so
//! no visitor waits unbounded. A visitor who leaves while queued leaves the queue (the waiting future is
//! dropped with the request), and the slot is held by the computation itself, so an abandoned
//! computation still counts until it ends. On shutdown the queue is closed: waiters get 503
//! `server_stopping`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Limits of the public chat. [`AdmissionConfig::for_cores`] sizes them from the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionConfig {
    /// Chats computed at once by the whole server. Default: the number of cores (a chat is CPU-bound:
    /// more at once only share the same cores and all finish later).
    pub server_concurrency: usize,
    /// Chats waiting for a slot, server-wide, before new ones are refused. Default: 48 per core (about
    /// what the cores answer warm within `max_wait`; `max_wait` bounds the wait when they are slower).
    pub server_queue: usize,
    /// Chats computed at once for one agent. Default: the server's concurrency.
    pub agent_concurrency: usize,
    /// Chats waiting for one agent's slot. Default: 32 per core (so one busy agent leaves room in the
    /// server queue for the others).
    pub agent_queue: usize,
    /// Longest time a chat waits in the queue before it is refused. Default 5 s.
    pub max_wait: Duration,
}

impl AdmissionConfig {
    /// Limits for a machine with `cores` cores.
    pub fn for_cores(cores: usize) -> Self {
        let cores = cores.max(1);
        Self {
            server_concurrency: cores,
            server_queue: 48 * cores,
            agent_concurrency: cores,
            agent_queue: 32 * cores,
            max_wait: Duration::from_secs(5),
        }
    }
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self::for_cores(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    }
}

/// One bounded queue in front of a bounded number of slots.
struct Gate {
    slots: Arc<Semaphore>,
    concurrency: usize,
    /// Slots plus queue: requests beyond it are refused without waiting.
    capacity: usize,
    /// Requests admitted to this gate (running or waiting).
    occupied: AtomicUsize,
    /// Moving average of the time a chat holds a slot, in milliseconds.
    avg_ms: AtomicU64,
}

impl Gate {
    fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            slots: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            capacity: concurrency + queue,
            occupied: AtomicUsize::new(0),
            avg_ms: AtomicU64::new(500),
        }
    }

    /// Takes a place in the queue, or `None` when it is full.
    fn enter(self: &Arc<Self>) -> Option<Place> {
        let mut now = self.occupied.load(Ordering::Relaxed);
        loop {
            if now >= self.capacity {
                return None;
            }
            match self.occupied.compare_exchange_weak(now, now + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(Place(self.clone())),
                Err(seen) => now = seen,
            }
        }
    }

    /// Seconds until a place is likely free: the queue ahead drained at the recent chat time.
    fn retry_after(&self) -> u64 {
        let waiting = self.occupied.load(Ordering::Relaxed) as u64 + 1;
        let ms = self.avg_ms.load(Ordering::Relaxed).max(50);
        (waiting * ms / self.concurrency as u64 / 1000 + 1).clamp(1, 30)
    }

    fn record(&self, held: Duration) {
        let ms = held.as_millis().min(600_000) as u64;
        let old = self.avg_ms.load(Ordering::Relaxed);
        self.avg_ms.store((old * 7 + ms) / 8, Ordering::Relaxed);
    }
}

/// A place in a gate (queued or running); leaving it (drop) frees it.
struct Place(Arc<Gate>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.occupied.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Permission to compute one chat: hold it for as long as the computation runs (move it into the
/// blocking task). Dropping it frees the slots.
pub struct Ticket {
    _permits: [OwnedSemaphorePermit; 2],
    places: [Place; 2],
    started: Instant,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let held = self.started.elapsed();
        for p in &self.places {
            p.0.record(held);
        }
    }
}

/// The server's admission control: one gate for the server, one per agent.
pub struct Admission {
    config: AdmissionConfig,
    server: Arc<Gate>,
    agents: Mutex<HashMap<String, Arc<Gate>>>,
    closed: AtomicBool,
}

impl Admission {
    /// Admission control with these limits.
    pub fn new(config: AdmissionConfig) -> Self {
        let server = Arc::new(Gate::new(config.server_concurrency, config.server_queue));
        Self { config, server, agents: Mutex::new(HashMap::new()), closed: AtomicBool::new(false) }
    }

    /// The limits.
    pub fn config(&self) -> &AdmissionConfig {
        &self.config
    }

    fn agent_gate(&self, agent: &str) -> Arc<Gate> {
        let mut agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        agents
            .entry(agent.to_string())
            .or_insert_with(|| Arc::new(Gate::new(self.config.agent_concurrency, self.config.agent_queue)))
            .clone()
    }

    /// Chats admitted (running or queued) for the whole server.
    pub fn occupied(&self) -> usize {
        self.server.occupied.load(Ordering::Relaxed)
    }

    /// Waits for a slot to compute a chat of `agent` (call it only after the caller is authenticated:
    /// each agent name gets a gate). Refused at once with 503 `overloaded` and `Retry-After` when the
    /// agent's or the server's queue is full, after `max_wait` in the queue, and with
    /// `server_stopping` once shutdown began.
    pub async fn admit(&self, agent: &str) -> Result<Ticket, ApiError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(stopping());
        }
        let gate = self.agent_gate(agent);
        let agent_place = gate.enter().ok_or_else(|| {
            overloaded(
                format!("agent `{agent}` is answering as many visitors as it can queue; retry shortly"),
                gate.retry_after(),
            )
        })?;
        let server_place = self.server.enter().ok_or_else(|| {
            overloaded(
                "the server is answering as many visitors as it can queue; retry shortly",
                self.server.retry_after(),
            )
        })?;
        let deadline = tokio::time::Instant::now() + self.config.max_wait;
        let mut permits = Vec::with_capacity(2);
        for g in [&gate, &self.server] {
            match tokio::time::timeout_at(deadline, g.slots.clone().acquire_owned()).await {
                Ok(Ok(p)) => permits.push(p),
                Ok(Err(_closed)) => return Err(stopping()),
                Err(_elapsed) => {
                    return Err(overloaded(
                        format!(
                            "no answer slot freed within {} s (too many visitors at once); retry shortly",
                            self.config.max_wait.as_secs_f64()
                        ),
                        g.retry_after(),
                    ))
                }
            }
        }
        let (Some(server_permit), Some(agent_permit)) = (permits.pop(), permits.pop()) else {
            return Err(ApiError::internal("admission: a permit went missing"));
        };
        Ok(Ticket {
            _permits: [agent_permit, server_permit],
            places: [agent_place, server_place],
            started: Instant::now(),
        })
    }

    /// Closes every queue (shutdown): waiting and new chats are refused with `server_stopping`;
    /// running ones keep their slots until they end.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.server.slots.close();
        for g in self.agents.lock().unwrap_or_else(|p| p.into_inner()).values() {
            g.slots.close();
        }
    }
}

fn overloaded(message: impl Into<String>, retry_after: u64) -> ApiError {
    ApiError::of(crate::error::ErrorCode::Overloaded, message).retry_after(retry_after)
}

fn stopping() -> ApiError {
    ApiError::of(crate::error::ErrorCode::ServerStopping, "the server is restarting; retry shortly").retry_after(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(concurrency: usize, queue: usize, wait_ms: u64) -> AdmissionConfig {
        AdmissionConfig {
            server_concurrency: concurrency,
            server_queue: queue,
            agent_concurrency: concurrency,
            agent_queue: queue,
            max_wait: Duration::from_millis(wait_ms),
        }
    }

    #[tokio::test]
    async fn beyond_the_queue_is_refused_at_once_with_retry_after() {
        let a = Admission::new(limits(1, 1, 60_000));
        let held = a.admit("demo").await.unwrap();
        // One running, one queued (in a task), the third is refused without waiting.
        let a = Arc::new(a);
        let waiter = tokio::spawn({
            let a = a.clone();
            async move { a.admit("demo").await.map(|_| ()) }
        });
        while a.occupied() < 2 {
            tokio::task::yield_now().await;
        }
        let err = a.admit("demo").await.map(|_| ()).unwrap_err();
        assert_eq!((err.status, err.code), (axum::http::StatusCode::SERVICE_UNAVAILABLE, "overloaded"));
        assert!(err.retry_after.is_some_and(|s| s >= 1));
        drop(held);
        assert!(waiter.await.unwrap().is_ok(), "the queued chat gets the freed slot");
        assert_eq!(a.occupied(), 0);
    }

    #[tokio::test]
    async fn a_bounded_wait_then_refusal_and_leaving_the_queue_frees_the_place() {
        let a = Arc::new(Admission::new(limits(1, 4, 50)));
        let held = a.admit("demo").await.unwrap();
        let err = a.admit("demo").await.map(|_| ()).unwrap_err();
        assert_eq!(err.code, "overloaded");
        assert!(err.message.contains("within"), "{}", err.message);
        assert_eq!(a.occupied(), 1, "the refused waiter left the queue");
        a.close();
        let err = a.admit("demo").await.map(|_| ()).unwrap_err();
        assert_eq!(err.code, "server_stopping");
        drop(held);
        assert_eq!(a.occupied(), 0);
    }
}
