//! Live events of visitor sessions: an in-process broadcast per (agent, contact) that the handoff
//! reply handler publishes to and `GET /v1/agents/{agent}/sessions/{session}/events` streams, so a
//! human's reply reaches the visitor's open widget without a reload.

use std::collections::HashMap;
use std::sync::Mutex;

use throughline_core::ContactId;
use tokio::sync::broadcast;

use crate::wire::SessionEvent;

/// Events buffered per subscriber before it counts as lagging.
const CAPACITY: usize = 64;

/// One broadcast channel per (agent, contact) with at least one open stream.
#[derive(Default)]
pub struct SessionHub {
    channels: Mutex<HashMap<(String, ContactId), broadcast::Sender<SessionEvent>>>,
}

impl SessionHub {
    /// Subscribes to the events of one contact of one agent.
    pub fn subscribe(&self, agent: &str, contact: ContactId) -> broadcast::Receiver<SessionEvent> {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        // Channels whose streams all closed are dropped here (and on publish), so the map stays small.
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry((agent.to_string(), contact)).or_insert_with(|| broadcast::channel(CAPACITY).0).subscribe()
    }

    /// Sends an event to every open stream of the contact; returns how many streams received it.
    pub fn publish(&self, agent: &str, contact: ContactId, event: SessionEvent) -> usize {
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let key = (agent.to_string(), contact);
        let sent = map.get(&key).and_then(|tx| tx.send(event).ok()).unwrap_or(0);
        if sent == 0 {
            map.remove(&key);
        }
        sent
    }
}
