//! Several `serve` replicas on one shared store (PostgreSQL): what each does to stay in step with the
//! others. One process on SQLite needs none of it (every write goes through it), so [`follow`] runs only
//! when [`ServerConfig::shared_store`](crate::ServerConfig::shared_store) is set.
//!
//! - **Search indexes** are per replica, derived from the store. A batch committed anywhere is announced
//!   on the store's `throughline_kb` channel; the open knowledge base catches up from the stored chunks
//!   and vectors (no re-embedding). A periodic check does the same for announcements lost while the
//!   listener reconnected, and closes knowledge bases deleted elsewhere.
//! - **Visitors' live events** (a human's reply to a handoff) are published to this replica's open
//!   streams and relayed on [`SESSION_CHANNEL`] to the others, which publish them to theirs.
//! - **Jobs**: a replica that died while running a job loses its lease; [`take_over`] queues the job
//!   again here (it resumes from its last committed batch). Re-syncs are scheduled only by the replica
//!   holding the scheduler's lease (see `jobs::freshness`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use throughline_core::ContactId;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::wire::SessionEvent;
use crate::AppState;

/// The channel visitors' live events are relayed on.
pub const SESSION_CHANNEL: &str = "throughline_session";

/// How often open knowledge bases are checked against the store, whatever was announced.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// How often jobs abandoned by a stopped replica are looked for.
const TAKE_OVER_EVERY: Duration = Duration::from_secs(5);

/// PostgreSQL refuses notification payloads from 8000 bytes; larger events travel as "read again".
const MAX_PAYLOAD: usize = 7_900;

/// A live event on its way to the other replicas.
#[derive(Serialize, Deserialize)]
struct Relayed {
    /// The replica that published it (and already delivered it to its own streams).
    origin: String,
    agent: String,
    contact: String,
    event: SessionEvent,
}

/// Publishes a visitor's live event to this replica's open streams and relays it to the others;
/// returns how many streams of this replica received it.
pub fn publish(state: &AppState, agent: &str, contact: ContactId, event: SessionEvent) -> usize {
    let delivered = state.0.live.publish(agent, contact, event.clone());
    if state.0.config.shared_store {
        let relayed = |event| Relayed {
            origin: state.replica().to_string(),
            agent: agent.to_string(),
            contact: contact.to_string(),
            event,
        };
        let payload = match serde_json::to_string(&relayed(event)) {
            Ok(p) if p.len() <= MAX_PAYLOAD => Some(p),
            // Too large to announce: the other replicas' streams are told to read the history again.
            _ => serde_json::to_string(&relayed(SessionEvent::Lagged { missed: 1 })).ok(),
        };
        if let Some(payload) = payload {
            if let Err(e) = state.0.jobs.announce(SESSION_CHANNEL, &payload) {
                tracing::warn!(error = %e, "cannot relay a live event to the other replicas");
            }
        }
    }
    delivered
}

/// Catches the open knowledge base `name` up with the store, or closes it when the store no longer has
/// it (deleted on another replica). Blocking.
pub fn catch_up(state: &AppState, name: &str) {
    let open = state.0.kbs.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned();
    let Some(kb) = open else { return };
    match kb.catch_up() {
        Ok(Some(_)) => {}
        Ok(None) => {
            tracing::info!(kb = name, "knowledge base deleted on another replica: closed here");
            state.close_kb(name);
            // Agents over it reopen on their next use (and then say what is missing).
            state.0.agents.write().unwrap_or_else(|p| p.into_inner()).clear();
        }
        Err(e) => tracing::warn!(kb = name, error = %e, "cannot catch up with the shared store"),
    }
}

/// Catches every open knowledge base up (the periodic check). Blocking.
fn catch_up_all(state: &AppState) {
    let names: Vec<String> = state.0.kbs.read().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
    for name in names {
        catch_up(state, &name);
    }
}

/// Queues again, here, the jobs whose replica stopped while running them. Blocking.
pub fn take_over(state: &AppState) -> usize {
    match state.0.jobs.take_over_jobs(state.0.config.job_max_attempts) {
        Ok(taken) => {
            for r in &taken {
                if r.requeued {
                    tracing::info!(job = %r.id, "taking over a job whose replica stopped");
                } else {
                    tracing::warn!(job = %r.id, "a job interrupted too many times is marked failed");
                }
            }
            if taken.iter().any(|r| r.requeued) {
                state.0.hub.notify();
            }
            taken.len()
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for abandoned jobs");
            0
        }
    }
}

/// Follows the shared store until shutdown: announcements from `notices` (channel, payload) and the
/// periodic checks.
pub async fn follow(state: AppState, mut notices: UnboundedReceiver<(String, String)>) {
    let mut shutdown = state.shutdown_signal();
    let mut check = tokio::time::interval(CHECK_EVERY);
    let mut take = tokio::time::interval(TAKE_OVER_EVERY);
    let mut listening = true;
    loop {
        tokio::select! {
            notice = notices.recv(), if listening => match notice {
                Some((channel, payload)) => on_notice(&state, &channel, &payload).await,
                // The listener stopped: the periodic checks go on.
                None => listening = false,
            },
            _ = check.tick() => {
                let st = state.clone();
                let _ = tokio::task::spawn_blocking(move || catch_up_all(&st)).await;
            }
            _ = take.tick(), if state.0.config.run_jobs => {
                let st = state.clone();
                let _ = tokio::task::spawn_blocking(move || take_over(&st)).await;
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn on_notice(state: &AppState, channel: &str, payload: &str) {
    if channel == throughline_store::KB_CHANNEL {
        // `<kb name> <seq>`: the name never holds a space.
        let name = payload.split(' ').next().unwrap_or_default().to_string();
        let st = state.clone();
        let _ = tokio::task::spawn_blocking(move || catch_up(&st, &name)).await;
    } else if channel == SESSION_CHANNEL {
        match serde_json::from_str::<Relayed>(payload) {
            Ok(r) if r.origin == state.replica() => {}
            Ok(r) => match r.contact.parse::<ContactId>() {
                Ok(contact) => {
                    state.0.live.publish(&r.agent, contact, r.event);
                }
                Err(_) => tracing::warn!(contact = %r.contact, "a relayed live event names no contact"),
            },
            Err(e) => tracing::warn!(error = %e, "an unreadable relayed live event"),
        }
    }
}
