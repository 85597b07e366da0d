//! Who may reach a published agent from the outside: its public key and allowed origins, and visitor
//! sessions minted by the server (a visitor never chooses its own session, so one visitor cannot read
//! another's conversation).

use crate::CoreError;

/// The publication state of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The agent's name.
    pub agent: String,
    /// Its public key (not a secret: it sits in the pages that embed the widget).
    pub public_key: String,
    /// Origins (`https://example.com`) whose pages may use the key; empty means none.
    pub allowed_origins: Vec<String>,
    /// Whether the public chat is open.
    pub published: bool,
    /// Seconds since the epoch.
    pub updated_at: i64,
}

/// A visitor session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorSession {
    /// The agent it belongs to.
    pub agent: String,
    /// The contact key the agent knows the visitor by.
    pub contact_key: String,
    /// Seconds since the epoch.
    pub created_at: i64,
}

/// Persistence of publications and visitor sessions. Session tokens are stored hashed.
pub trait AccessStore: Send + Sync {
    /// The publication of `agent`, if it was ever published.
    fn publication(&self, agent: &str) -> Result<Option<Publication>, CoreError>;
    /// The publication holding `public_key`.
    fn publication_by_key(&self, public_key: &str) -> Result<Option<Publication>, CoreError>;
    /// Writes a publication.
    fn save_publication(&self, publication: &Publication) -> Result<(), CoreError>;
    /// Records a session under the hash of its token.
    fn create_session(&self, token_hash: &str, agent: &str, contact_key: &str) -> Result<(), CoreError>;
    /// The session whose token hashes to `token_hash`.
    fn session(&self, token_hash: &str) -> Result<Option<VisitorSession>, CoreError>;
    /// Forgets every session of a contact of an agent (the contact was deleted).
    fn delete_sessions(&self, agent: &str, contact_key: &str) -> Result<usize, CoreError>;
    /// Deletes an agent's publication (its public key stops working) and every visitor session of it.
    /// Returns whether it was published.
    fn delete_publication(&self, agent: &str) -> Result<bool, CoreError>;
}
