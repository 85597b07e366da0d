//! What an agent remembers, as the API shows it: contacts and their memory (facts, conversations,
//! events), leads, handoffs, product events and their proactive messages, and the conversation audit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use throughline_agent::{MemoryView, ProactiveMessage};
use throughline_core::{CitedSource, HandoffRecord, HandoffStatus, LeadRecord, Lifecycle, Role, Stage};
use utoipa::ToSchema;

use super::chat::Citation;

/// A stage of the customer journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StageName {
    /// Pre-sales: what is it, how much, does it do X.
    Acquisition,
    /// Onboarding: how do I set it up.
    Activation,
    /// Support: why isn't it working.
    Support,
    /// Upsell: what does the next tier unlock.
    Expansion,
}

impl From<Stage> for StageName {
    fn from(s: Stage) -> Self {
        match s {
            Stage::Acquisition => Self::Acquisition,
            Stage::Activation => Self::Activation,
            Stage::Support => Self::Support,
            Stage::Expansion => Self::Expansion,
        }
    }
}

/// Where a contact is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleName {
    /// Not signed up yet.
    Prospect,
    /// Signed up, going through onboarding.
    Onboarding,
    /// Onboarded and using the product.
    Customer,
}

impl From<Lifecycle> for LifecycleName {
    fn from(l: Lifecycle) -> Self {
        match l {
            Lifecycle::Prospect => Self::Prospect,
            Lifecycle::Onboarding => Self::Onboarding,
            Lifecycle::Customer => Self::Customer,
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// The contact.
    User,
    /// The agent, answering.
    Assistant,
    /// The agent, unprompted (an event triggered it).
    Proactive,
    /// A human teammate replying to a handoff.
    Human,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> Self {
        match r {
            Role::User => Self::User,
            Role::Assistant => Self::Assistant,
            Role::Proactive => Self::Proactive,
            Role::Human => Self::Human,
        }
    }
}

/// A named value (a fact about a contact, a qualification answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyValue {
    /// Its name (`email`, `company`, `plan`).
    pub key: String,
    /// Its value.
    pub value: String,
}

/// Named values as the API shows them.
pub(crate) fn pairs(facts: &[(String, String)]) -> Vec<KeyValue> {
    facts.iter().map(|(k, v)| KeyValue { key: k.clone(), value: v.clone() }).collect()
}

/// A contact of an agent, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactSummary {
    /// Contact id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// The key the host site (or a visitor session) knows it by.
    pub key: String,
    /// Where it is in its lifecycle.
    pub lifecycle: LifecycleName,
    /// Facts remembered about it.
    pub facts: usize,
    /// What its conversations were about.
    pub summary: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A page of contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    /// Contacts in all.
    pub total: usize,
    /// Contacts in this page.
    pub limit: usize,
    /// Contacts skipped.
    pub offset: usize,
    /// The page.
    pub contacts: Vec<ContactSummary>,
}

/// A fact remembered about a contact, with the message it was learned from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Fact {
    /// Its name.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Id of the message it was learned from.
    pub source_message: Option<i64>,
    /// Unix seconds.
    pub learned_at: i64,
}

/// A passage of the knowledge base an answer quoted, as stored with the answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Quote {
    /// The citation number it backs.
    pub n: usize,
    /// Its knowledge base.
    pub kb: String,
    /// Its document's path.
    pub path: String,
    /// The chunk quoted.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub chunk_id: Option<String>,
    /// The quoted text.
    pub text: String,
}

/// A stored message of a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredMessage {
    /// Message id.
    pub id: i64,
    /// Who wrote it.
    pub role: RoleName,
    /// Its text.
    pub text: String,
    /// The stage an answer was given in.
    pub stage: Option<StageName>,
    /// Whether the answer was "I don't know".
    pub idk: bool,
    /// Time to answer.
    pub latency_ms: Option<u32>,
    /// Unix seconds.
    pub created_at: i64,
    /// The sources an answer cites, one per number.
    pub citations: Vec<Citation>,
    /// The passages it quoted.
    pub quoted: Vec<Quote>,
}

/// A stored message's citations, one per number (a number may span several chunks).
pub fn message_citations(citations: &[CitedSource]) -> Vec<Citation> {
    let mut out: Vec<Citation> = Vec::new();
    for c in citations {
        if !out.iter().any(|v| v.n == c.number) {
            out.push(Citation { n: c.number, title: c.title.clone(), path: c.path.clone(), url: c.url.clone() });
        }
    }
    out
}

/// A conversation with its messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conversation {
    /// Conversation id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// The agent's configuration version it started under.
    pub agent_version: u32,
    /// Unix seconds.
    pub started_at: i64,
    /// Its messages, oldest first.
    pub messages: Vec<StoredMessage>,
}

/// A product event recorded for a contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// Its name (`signed_up`, `usage_limit_reached`).
    pub name: String,
    /// Its properties, as text.
    pub properties: BTreeMap<String, String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A lead: a prospect who gave an email, or every qualification field.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lead {
    /// The contact.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub contact_id: String,
    /// What it told.
    pub facts: Vec<KeyValue>,
    /// The lead webhook's outcome, when one is configured.
    pub webhook: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<&LeadRecord> for Lead {
    fn from(l: &LeadRecord) -> Self {
        Self {
            contact_id: l.contact.to_string(),
            facts: pairs(&l.facts),
            webhook: l.webhook.clone(),
            created_at: l.created_at,
        }
    }
}

/// Whether a handoff waits for a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HandoffState {
    /// Waiting for a human.
    Open,
    /// A human resolved it.
    Resolved,
}

/// A handoff to a human, with what the human needs to take over.
#[derive(Debug, Serialize, ToSchema)]
pub struct Handoff {
    /// Handoff id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// The contact.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub contact_id: String,
    /// The conversation it came from.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub conversation_id: String,
    /// Why the agent handed off.
    pub reason: String,
    /// What the conversation was about.
    pub summary: String,
    /// The conversation up to the handoff.
    pub transcript: String,
    /// What is known about the contact.
    pub facts: Vec<KeyValue>,
    /// Open or resolved.
    pub status: HandoffState,
    /// The human's resolution note.
    pub resolution: Option<String>,
}

impl From<&HandoffRecord> for Handoff {
    fn from(h: &HandoffRecord) -> Self {
        Self {
            id: h.id.to_string(),
            contact_id: h.contact.to_string(),
            conversation_id: h.conversation.to_string(),
            reason: h.reason.clone(),
            summary: h.summary.clone(),
            transcript: h.transcript.clone(),
            facts: pairs(&h.facts),
            status: match h.status {
                HandoffStatus::Open => HandoffState::Open,
                HandoffStatus::Resolved => HandoffState::Resolved,
            },
            resolution: h.resolution.clone(),
        }
    }
}

/// A contact's memory: who it is, what it said and did, its leads and handoffs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Memory {
    /// Contact id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// The key the host site (or a visitor session) knows it by.
    pub key: String,
    /// Where it is in its lifecycle.
    pub lifecycle: LifecycleName,
    /// What its conversations were about.
    pub summary: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Facts remembered, with the message each came from.
    pub facts: Vec<Fact>,
    /// Its conversations, oldest first.
    pub conversations: Vec<Conversation>,
    /// Product events recorded for it.
    pub events: Vec<Event>,
    /// Onboarding steps done.
    pub onboarding_done: Vec<String>,
    /// The next onboarding step.
    pub onboarding_next: Option<String>,
    /// Its leads.
    pub leads: Vec<Lead>,
    /// Its handoffs.
    pub handoffs: Vec<Handoff>,
}

impl From<&MemoryView> for Memory {
    fn from(m: &MemoryView) -> Self {
        Self {
            id: m.contact.id.to_string(),
            key: m.contact.key.clone(),
            lifecycle: m.contact.lifecycle.into(),
            summary: m.contact.summary.clone(),
            created_at: m.contact.created_at,
            facts: m
                .facts
                .iter()
                .map(|f| Fact {
                    key: f.key.clone(),
                    value: f.value.clone(),
                    source_message: f.source_message,
                    learned_at: f.learned_at,
                })
                .collect(),
            conversations: m
                .conversations
                .iter()
                .map(|(c, msgs)| Conversation {
                    id: c.id.to_string(),
                    agent_version: c.agent_version,
                    started_at: c.started_at,
                    messages: msgs
                        .iter()
                        .map(|x| StoredMessage {
                            id: x.id,
                            role: x.role.into(),
                            text: x.text.clone(),
                            stage: x.stage.map(Into::into),
                            idk: x.idk,
                            latency_ms: x.latency_ms,
                            created_at: x.created_at,
                            citations: message_citations(&x.citations),
                            quoted: x
                                .citations
                                .iter()
                                .filter(|c| c.chunk.is_some())
                                .map(|c| Quote {
                                    n: c.number,
                                    kb: c.kb.clone(),
                                    path: c.path.clone(),
                                    chunk_id: c.chunk.map(|k| k.to_string()),
                                    text: c.quote.clone(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            events: m
                .events
                .iter()
                .map(|e| Event {
                    name: e.name.clone(),
                    properties: e.properties.iter().cloned().collect(),
                    created_at: e.created_at,
                })
                .collect(),
            onboarding_done: m.onboarding_done.clone(),
            onboarding_next: m.onboarding_next.clone(),
            leads: m.leads.iter().map(Lead::from).collect(),
            handoffs: m.handoffs.iter().map(Handoff::from).collect(),
        }
    }
}

/// A lead as listed: with who it is and its latest conversation, so a human can follow up.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadEntry {
    /// The lead.
    #[serde(flatten)]
    pub lead: Lead,
    /// The contact's key.
    pub contact_key: Option<String>,
    /// The contact's lifecycle.
    pub lifecycle: Option<LifecycleName>,
    /// The email it gave.
    pub email: Option<String>,
    /// Its latest conversation.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub conversation_id: Option<String>,
}

/// A page of leads, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadList {
    /// Leads in all.
    pub total: usize,
    /// Leads in this page.
    pub limit: usize,
    /// Leads skipped.
    pub offset: usize,
    /// The page.
    pub leads: Vec<LeadEntry>,
}

/// A message of a handed-off conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffMessage {
    /// Who wrote it.
    pub role: RoleName,
    /// Its text.
    pub text: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A handoff as listed: with who it is and the conversation as it stands now (the visitor's messages,
/// the agent's answers and the humans' replies).
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffEntry {
    /// The handoff.
    #[serde(flatten)]
    pub handoff: Handoff,
    /// The contact's key.
    pub contact_key: Option<String>,
    /// The contact's lifecycle.
    pub lifecycle: Option<LifecycleName>,
    /// The conversation, oldest first.
    pub messages: Vec<HandoffMessage>,
}

/// A page of handoffs.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffList {
    /// Handoffs in all.
    pub total: usize,
    /// Handoffs in this page.
    pub limit: usize,
    /// Handoffs skipped.
    pub offset: usize,
    /// The page.
    pub handoffs: Vec<HandoffEntry>,
}

/// Body of `POST /v1/events`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// The agent.
    pub agent: String,
    /// The contact's key (or id), 1 to 200 characters; a new key makes a new contact.
    #[schema(min_length = 1, max_length = 200, pattern = "[^\\s\\u0085]")]
    pub contact: String,
    /// The event's name (`signed_up`, `usage_limit_reached`, `onboarding_step_done`).
    pub name: String,
    /// Its properties (`limit`, `plan`, `step`); values other than strings are kept as JSON text.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// A message the agent sends unprompted, caused by an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Proactive {
    /// The conversation it was added to.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub conversation_id: String,
    /// Its message id.
    pub message_id: i64,
    /// The stage it speaks to.
    pub stage: StageName,
    /// Its text.
    pub text: String,
    /// The sources it cites.
    pub citations: Vec<Citation>,
}

impl From<&ProactiveMessage> for Proactive {
    fn from(p: &ProactiveMessage) -> Self {
        Self {
            conversation_id: p.conversation.to_string(),
            message_id: p.message_id,
            stage: p.stage.into(),
            text: p.text.clone(),
            citations: p.citations.iter().map(Citation::from).collect(),
        }
    }
}

/// What recording an event caused.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOutcome {
    /// The proactive message it caused (the next onboarding step, what the next plan unlocks), if any.
    pub proactive: Option<Proactive>,
}

/// Body of a handoff reply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    /// The human's reply, as the visitor will read it.
    pub message: String,
}

/// A human's reply, stored and pushed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplySent {
    /// Its message id in the visitor's conversation.
    pub message_id: i64,
    /// Open widgets of the visitor it was pushed to live.
    pub delivered_live: usize,
}

/// Body of a handoff resolution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// What was done, written into the contact's memory.
    pub resolution: String,
}

/// The audit of one stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageAudit {
    /// Conversations in this stage.
    pub conversations: usize,
    /// Answers given in it.
    pub answers: usize,
    /// Handoffs from it.
    pub handoffs: usize,
    /// "I don't know" answers.
    pub idk: usize,
    /// Handoffs per conversation.
    pub handoff_rate: f64,
    /// "I don't know" answers per answer.
    pub idk_rate: f64,
    /// Conversations without a handoff.
    pub resolved_without_handoff: usize,
    /// Their share of the conversations.
    pub resolved_rate: f64,
    /// Median time to answer.
    pub median_response_ms: u32,
    /// 90th percentile time to answer.
    pub p90_response_ms: u32,
    /// Questions answered "I don't know" or handed off.
    pub unanswered: Vec<String>,
}

/// Unanswered questions that mean the same: a knowledge gap.
#[derive(Debug, Serialize, ToSchema)]
pub struct KnowledgeGap {
    /// The first question of the group.
    pub question: String,
    /// Questions in the group.
    pub count: usize,
    /// Up to five of them.
    pub examples: Vec<String>,
    /// The stages they were asked in.
    pub stages: Vec<StageName>,
}

/// The conversation audit: per stage counts and rates, the stage that leaks most, knowledge gaps.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditReport {
    /// Per stage.
    pub stages: BTreeMap<String, StageAudit>,
    /// Contacts in all.
    pub contacts: usize,
    /// Leads in all.
    pub leads: usize,
    /// Handoffs waiting for a human.
    pub open_handoffs: usize,
    /// The stage with the highest handoff plus "I don't know" rate, when any leaks.
    pub leaking_stage: Option<StageName>,
    /// Unanswered questions grouped by meaning, largest group first.
    pub knowledge_gaps: Vec<KnowledgeGap>,
}
