//! Errors of the agent crate.

use throughline_core::{CoreError, ErrorKind};

/// An error from the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A configuration could not be parsed or is out of range.
    #[error("{origin}: {reason}")]
    BadConfig {
        /// Where the configuration came from (a file path, or "agent configuration").
        origin: String,
        /// What is wrong, naming the key.
        reason: String,
    },
    /// No agent has this name.
    #[error("agent `{name}` not found (create it with `throughline agent create --name {name} --kb KB`)")]
    AgentNotFound {
        /// The name.
        name: String,
    },
    /// The agent names a knowledge base that was not given to it.
    #[error("agent `{agent}` uses knowledge base `{kb}`, which is not open")]
    KbMissing {
        /// The agent.
        agent: String,
        /// The knowledge base.
        kb: String,
    },
    /// An id does not belong to this agent or contact.
    #[error("{what} {id} not found for agent `{agent}`")]
    NotFound {
        /// What kind of thing (contact, conversation, handoff).
        what: &'static str,
        /// Its id.
        id: String,
        /// The agent.
        agent: String,
    },
    /// The message is empty or too long.
    #[error("message: {reason}")]
    BadMessage {
        /// Why.
        reason: String,
    },
    /// An event name or property is unusable.
    #[error("event `{name}`: {reason}")]
    BadEvent {
        /// The event name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The chat backend failed.
    #[error("chat backend {url}: {reason}")]
    Backend {
        /// The endpoint.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Whoever asked for the turn stopped waiting (a visitor closed the page), so it was not finished.
    #[error("the turn was cancelled: nobody is waiting for its answer")]
    Cancelled,
    /// A store, retrieval or embedding failure.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl AgentError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AgentError::BadConfig { .. } | AgentError::BadMessage { .. } | AgentError::BadEvent { .. } => {
                ErrorKind::InvalidInput
            }
            AgentError::AgentNotFound { .. } | AgentError::NotFound { .. } => ErrorKind::NotFound,
            AgentError::KbMissing { .. } => ErrorKind::NotFound,
            AgentError::Backend { .. } | AgentError::Cancelled => ErrorKind::Unavailable,
            AgentError::Core(e) => e.kind(),
        }
    }
}

impl From<AgentError> for CoreError {
    fn from(e: AgentError) -> Self {
        CoreError::new(e.kind(), e.to_string())
    }
}

/// Result with [`AgentError`].
pub type Result<T, E = AgentError> = std::result::Result<T, E>;
