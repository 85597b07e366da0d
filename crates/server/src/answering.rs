//! One chat turn computed for a public route: on the blocking pool, under an admission [`Ticket`] that
//! it holds until the computation ends, given up as soon as its client leaves (not started, or stopped
//! at the turn's next check, see `Agent::respond_until`, which frees the slot for a waiting visitor), and
//! drained on shutdown (a turn still running [`DRAIN`] after shutdown began is reported as
//! [`Step::Stopping`], so a stream can end with a clean final event instead of being cut).

use std::time::Duration;

use throughline_agent::Turn;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::admission::Ticket;
use crate::error::ApiResult;
use crate::AppState;

/// How long a running turn may go on after shutdown began before its stream is ended.
pub const DRAIN: Duration = Duration::from_secs(3);

/// What a turn produces, in order: deltas, then `Done` (or `Stopping` when shutdown cut it short).
// A turn is sent once per chat; boxing it would only move the allocation.
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// A piece of the answer (LLM streaming).
    Delta(String),
    /// The turn, or why it failed.
    Done(ApiResult<Turn>),
    /// Shutdown began and the turn did not finish within [`DRAIN`].
    Stopping,
}

/// Starts `turn` (given a callback for the answer's deltas, and one that says whether the client left)
/// on the blocking pool. Dropping the receiver means the client left: a turn that has not started yet is
/// then not started, and a running one is told so through the second callback.
pub fn spawn_turn<F>(state: &AppState, ticket: Ticket, turn: F) -> UnboundedReceiver<Step>
where
    F: FnOnce(&mut dyn FnMut(&str), &dyn Fn() -> bool) -> ApiResult<Turn> + Send + 'static,
{
    let (tx, rx) = unbounded_channel();
    let stop_tx = tx.clone();
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let _ticket = ticket;
        if tx.is_closed() {
            st.0.metrics.turn_cancelled();
            return;
        }
        let delta_tx = tx.clone();
        let left = || tx.is_closed();
        let result = turn(
            &mut |d| {
                let _ = delta_tx.send(Step::Delta(d.to_string()));
            },
            &left,
        );
        if tx.is_closed() {
            // Nobody reads the outcome; a turn that ended in an error while its client was gone was
            // given up (or failed unseen) rather than answered.
            if result.is_err() {
                st.0.metrics.turn_cancelled();
            }
            return;
        }
        let _ = tx.send(Step::Done(result));
    });
    let mut shutdown = state.shutdown_signal();
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => {}
            _ = stop_tx.closed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(DRAIN) => {
                let _ = stop_tx.send(Step::Stopping);
            }
            _ = stop_tx.closed() => {}
        }
    });
    rx
}

/// Opens agent `name` in the background, so the first chat after it was created or saved does not
/// wait for the router's training (a chat arriving meanwhile waits for this opening, not a second one).
pub fn warm(state: &AppState, name: &str) {
    let (st, name) = (state.clone(), name.to_string());
    tokio::task::spawn_blocking(move || {
        if let Err(e) = crate::agents::open_agent(&st, &name) {
            tracing::debug!(agent = name, error = %e, "cannot open the agent ahead of its first chat");
        }
    });
}

/// Opens every published agent (blocking: call from `spawn_blocking` at start), so the first visitors
/// of a freshly started server do not wait for the router's training inside their request's timeout.
pub fn open_published(state: &AppState) {
    let Ok(agents) = state.0.memory.agents() else { return };
    for a in agents {
        if state.stopping() {
            return;
        }
        if state.0.access.publication(&a.name).ok().flatten().is_some_and(|p| p.published) {
            if let Err(e) = crate::agents::open_agent(state, &a.name) {
                tracing::warn!(agent = a.name, error = %e, "cannot open the published agent at start");
            }
        }
    }
}
