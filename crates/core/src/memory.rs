//! The [`MemoryStore`] seam: agents (versioned configurations), contacts and everything remembered about
//! them (facts with the message they came from, conversations, messages, events), leads and handoffs.
//! SQLite implements it by default; a scaled-out deployment can put it on PostgreSQL without touching the
//! agent. Every read is scoped by contact or agent id: one contact's memory is never reachable through
//! another's id.

use std::fmt;
use std::str::FromStr;

use crate::{AgentId, ChunkId, ContactId, ConversationId, CoreError, ErrorKind, HandoffId};

/// The four lifecycle stages the agent serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Pre-sales: what is it, how much, does it do X.
    Acquisition,
    /// Onboarding: how do I set it up.
    Activation,
    /// Support: why isn't it working.
    Support,
    /// Upsell: what does the next tier unlock.
    Expansion,
}

impl Stage {
    /// Every stage in lifecycle order.
    pub const ALL: [Stage; 4] = [Stage::Acquisition, Stage::Activation, Stage::Support, Stage::Expansion];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Acquisition => "acquisition",
            Stage::Activation => "activation",
            Stage::Support => "support",
            Stage::Expansion => "expansion",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            CoreError::new(
                ErrorKind::InvalidInput,
                format!("`{s}` is not a stage (expected acquisition, activation, support or expansion)"),
            )
        })
    }
}

/// Where a contact is in the customer lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    /// Not signed up yet.
    Prospect,
    /// Signed up, going through onboarding.
    Onboarding,
    /// Onboarded and using the product.
    Customer,
}

impl Lifecycle {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Prospect => "prospect",
            Lifecycle::Onboarding => "onboarding",
            Lifecycle::Customer => "customer",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "prospect" => Some(Lifecycle::Prospect),
            "onboarding" => Some(Lifecycle::Onboarding),
            "customer" => Some(Lifecycle::Customer),
            _ => None,
        }
    }
}

/// One saved version of an agent's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRecord {
    /// The agent.
    pub id: AgentId,
    /// Its unique name.
    pub name: String,
    /// 1 for the first save, +1 for each later save.
    pub version: u32,
    /// The configuration as TOML (the agent crate owns its shape).
    pub config: String,
    /// When this version was saved (seconds since the epoch).
    pub created_at: i64,
}

/// A contact of an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRecord {
    /// Its id.
    pub id: ContactId,
    /// The agent it talks to.
    pub agent: AgentId,
    /// The key it was first known by (visitor id, email or user id).
    pub key: String,
    /// Where it is in the lifecycle.
    pub lifecycle: Lifecycle,
    /// A running summary of what was discussed.
    pub summary: String,
    /// Creation time (seconds since the epoch).
    pub created_at: i64,
}

/// A fact learned about a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// What it is (`email`, `company_size`, `use_case`, …).
    pub key: String,
    /// Its value.
    pub value: String,
    /// The message it was learned from, when it came from a conversation.
    pub source_message: Option<i64>,
    /// When it was learned (seconds since the epoch).
    pub learned_at: i64,
}

/// A conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    /// Its id.
    pub id: ConversationId,
    /// The agent.
    pub agent: AgentId,
    /// The contact.
    pub contact: ContactId,
    /// The agent configuration version that answered.
    pub agent_version: u32,
    /// Start time (seconds since the epoch).
    pub started_at: i64,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The contact.
    User,
    /// The agent, answering.
    Assistant,
    /// The agent, unprompted (an event triggered it).
    Proactive,
    /// A human teammate replying to a handoff.
    Human,
}

impl Role {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Proactive => "proactive",
            Role::Human => "human",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "proactive" => Some(Role::Proactive),
            "human" => Some(Role::Human),
            _ => None,
        }
    }
}

/// A message to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The conversation.
    pub conversation: ConversationId,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub text: String,
    /// The stage the agent decided (agent messages).
    pub stage: Option<Stage>,
    /// Whether the agent said it did not know.
    pub idk: bool,
    /// Time to answer in milliseconds (agent messages).
    pub latency_ms: Option<u32>,
    /// The sources the answer cited, with the document version and text each quoted.
    pub citations: Vec<CitedSource>,
}

/// A source an answer cited, kept with the exact version it quoted: the chunk id names one version of
/// one document (it is derived from the document's content hash), and `quote` is the text the answer
/// relied on. When the page changes, the chunk disappears; [`crate::stale_answers`] then lists the
/// answer if its quote is no longer in the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitedSource {
    /// The number used in the answer text (`[1]`).
    pub number: usize,
    /// Name of the knowledge base the document belongs to.
    pub kb: String,
    /// The document's path (evaluation id).
    pub path: String,
    /// The document's title when cited.
    pub title: String,
    /// Its URL for crawled pages.
    pub url: Option<String>,
    /// The chunk quoted: one version of the document (`None` for a citation of the agent's own
    /// configuration, such as a plan or an onboarding step).
    pub chunk: Option<ChunkId>,
    /// The text the answer took from that chunk, one quoted sentence (or, for a generated answer, one
    /// line of the chunk) per line.
    pub quote: String,
}

/// How a cited page differs from the version an answer quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceChange {
    /// The page is still there but no longer contains the quoted text.
    Changed,
    /// The page left the knowledge base.
    Removed,
}

impl SourceChange {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceChange::Changed => "changed",
            SourceChange::Removed => "removed",
        }
    }
}

/// A stored answer and one source it cited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitingAnswer {
    /// What the answer cited and quoted.
    pub citation: CitedSource,
    /// Name of the agent that answered.
    pub agent: String,
    /// The contact it answered.
    pub contact: ContactId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The answer message's id.
    pub message_id: i64,
    /// The answer's text.
    pub answer: String,
    /// When it was answered (seconds since the epoch).
    pub answered_at: i64,
}

/// An answer that quoted a version of a page the knowledge base no longer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleAnswer {
    /// The answer and what it cited and quoted.
    pub cited: CitingAnswer,
    /// How the page differs now.
    pub change: SourceChange,
    /// When the current version of the page was stored (seconds since the epoch), unless removed.
    pub page_updated_at: Option<i64>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    /// Its id (increasing).
    pub id: i64,
    /// The conversation.
    pub conversation: ConversationId,
    /// The contact.
    pub contact: ContactId,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub text: String,
    /// The stage the agent decided (agent messages).
    pub stage: Option<Stage>,
    /// Whether the agent said it did not know.
    pub idk: bool,
    /// Time to answer in milliseconds (agent messages).
    pub latency_ms: Option<u32>,
    /// The sources the answer cited (agent messages), in citation order.
    pub citations: Vec<CitedSource>,
    /// When (seconds since the epoch).
    pub created_at: i64,
}

/// A product event about a contact (`signed_up`, `monitor_created`, `limit_reached`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// The event name.
    pub name: String,
    /// Its properties.
    pub properties: Vec<(String, String)>,
    /// When (seconds since the epoch).
    pub created_at: i64,
}

/// A qualified lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRecord {
    /// The agent.
    pub agent: AgentId,
    /// The contact.
    pub contact: ContactId,
    /// The qualification facts.
    pub facts: Vec<(String, String)>,
    /// Webhook outcome (`sent 200`, `failed: …`), when a webhook is configured.
    pub webhook: Option<String>,
    /// When (seconds since the epoch).
    pub created_at: i64,
}

/// Whether a handoff still waits for a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandoffStatus {
    /// Waiting for a human.
    Open,
    /// A human resolved it.
    Resolved,
}

/// A handoff to a human with the whole context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRecord {
    /// Its id.
    pub id: HandoffId,
    /// The agent.
    pub agent: AgentId,
    /// The contact.
    pub contact: ContactId,
    /// The conversation it came from.
    pub conversation: ConversationId,
    /// Why the agent handed off.
    pub reason: String,
    /// A short summary of the contact's history.
    pub summary: String,
    /// The transcript of every conversation of the contact, oldest first (`role: text` lines).
    pub transcript: String,
    /// The contact's facts.
    pub facts: Vec<(String, String)>,
    /// Open or resolved.
    pub status: HandoffStatus,
    /// The human's resolution note.
    pub resolution: Option<String>,
    /// Webhook outcome, when a webhook is configured.
    pub webhook: Option<String>,
    /// When (seconds since the epoch).
    pub created_at: i64,
}

/// Storage for agents and per-contact memory.
pub trait MemoryStore: Send + Sync {
    /// Saves a new version of the agent called `name` (version 1 when new) and returns it.
    fn save_agent(&self, name: &str, config: &str) -> Result<AgentRecord, CoreError>;
    /// The agent called `name`: its latest version, or `version` when given.
    fn agent(&self, name: &str, version: Option<u32>) -> Result<Option<AgentRecord>, CoreError>;
    /// The latest version of every agent, by name.
    fn agents(&self) -> Result<Vec<AgentRecord>, CoreError>;
    /// Deletes the agent called `name`: every version, and its contacts with everything about them
    /// (conversations, messages, facts, events, leads, handoffs), so a new agent of the same name starts
    /// empty. Returns whether it existed.
    fn delete_agent(&self, name: &str) -> Result<bool, CoreError>;

    /// The contact known by `key` (its own key or an alias such as an email) to `agent`.
    fn contact_by_key(&self, agent: AgentId, key: &str) -> Result<Option<ContactRecord>, CoreError>;
    /// The contact with this id, when it belongs to `agent`.
    fn contact(&self, agent: AgentId, id: ContactId) -> Result<Option<ContactRecord>, CoreError>;
    /// Creates a prospect known by `key`.
    fn create_contact(&self, agent: AgentId, key: &str) -> Result<ContactRecord, CoreError>;
    /// Saves a contact's lifecycle and summary.
    fn update_contact(&self, contact: &ContactRecord) -> Result<(), CoreError>;
    /// Makes `alias` (an email, a user id) another key of `contact`.
    fn add_alias(&self, agent: AgentId, contact: ContactId, alias: &str) -> Result<(), CoreError>;
    /// Moves everything of `from` (facts it lacks, conversations, messages, events, leads, handoffs,
    /// aliases) into `into`, then deletes `from`.
    fn merge_contacts(&self, agent: AgentId, from: ContactId, into: ContactId) -> Result<(), CoreError>;
    /// Deletes a contact and everything about it. Returns whether it existed.
    fn delete_contact(&self, agent: AgentId, contact: ContactId) -> Result<bool, CoreError>;
    /// Every contact of an agent.
    fn contacts(&self, agent: AgentId) -> Result<Vec<ContactRecord>, CoreError>;

    /// Records a fact (replacing the same key).
    fn put_fact(
        &self,
        contact: ContactId,
        key: &str,
        value: &str,
        source_message: Option<i64>,
    ) -> Result<(), CoreError>;
    /// A contact's facts, by key.
    fn facts(&self, contact: ContactId) -> Result<Vec<Fact>, CoreError>;

    /// Starts a conversation answered by `agent_version`.
    fn start_conversation(
        &self,
        agent: AgentId,
        contact: ContactId,
        agent_version: u32,
    ) -> Result<ConversationRecord, CoreError>;
    /// A conversation, when it belongs to `contact`.
    fn conversation(&self, contact: ContactId, id: ConversationId) -> Result<Option<ConversationRecord>, CoreError>;
    /// A contact's conversations, oldest first.
    fn conversations(&self, contact: ContactId) -> Result<Vec<ConversationRecord>, CoreError>;
    /// Appends a message; returns its id.
    fn add_message(&self, message: &NewMessage) -> Result<i64, CoreError>;
    /// Messages of a conversation, oldest first.
    fn messages(&self, conversation: ConversationId) -> Result<Vec<MessageRecord>, CoreError>;
    /// Every message of an agent's conversations, oldest first (for the audit).
    fn agent_messages(&self, agent: AgentId) -> Result<Vec<MessageRecord>, CoreError>;

    /// Records a product event.
    fn add_event(&self, contact: ContactId, name: &str, properties: &[(String, String)]) -> Result<(), CoreError>;
    /// A contact's events, oldest first.
    fn events(&self, contact: ContactId) -> Result<Vec<EventRecord>, CoreError>;

    /// Stores a lead, replacing the contact's earlier lead for the same agent (its facts grow as the
    /// contact gives more).
    fn save_lead(&self, lead: &LeadRecord) -> Result<(), CoreError>;
    /// An agent's leads, newest first.
    fn leads(&self, agent: AgentId) -> Result<Vec<LeadRecord>, CoreError>;

    /// Inserts or replaces a handoff.
    fn save_handoff(&self, handoff: &HandoffRecord) -> Result<(), CoreError>;
    /// A handoff of `agent`.
    fn handoff(&self, agent: AgentId, id: HandoffId) -> Result<Option<HandoffRecord>, CoreError>;
    /// An agent's handoffs, newest first.
    fn handoffs(&self, agent: AgentId) -> Result<Vec<HandoffRecord>, CoreError>;

    /// The distinct chunks (page versions) of knowledge base `kb` that stored answers cite.
    fn cited_chunks(&self, kb: &str) -> Result<Vec<ChunkId>, CoreError>;
    /// The answers (of every agent) citing any of `chunks` of knowledge base `kb`, one record per
    /// citation, ordered by page path, then answer time. With [`cited_chunks`](Self::cited_chunks) this
    /// is all the memory side contributes to [`crate::stale_answers`]: it never reads the knowledge side.
    fn answers_citing(&self, kb: &str, chunks: &[ChunkId]) -> Result<Vec<CitingAnswer>, CoreError>;
}
