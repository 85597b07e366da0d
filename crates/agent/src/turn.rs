//! What the agent returns: a [`Turn`] per answered message with its [`Trace`], a [`ProactiveMessage`]
//! when an event makes it speak first, the [`MemoryView`] of a contact and the per-stage [`Audit`].
//! Plain data: the server maps these to its own wire types.

use throughline_core::{
    ContactId, ContactRecord, ConversationId, ConversationRecord, EventRecord, Fact, HandoffRecord, LeadRecord,
    MessageRecord, PageType, RetrieverScore, Stage,
};

use crate::llm::Unsupported;

/// A numbered source of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Citation {
    /// The number used in the answer text (`[1]`).
    pub number: usize,
    /// The document's path (evaluation id).
    pub path: String,
    /// The document's title.
    pub title: String,
    /// Its URL for crawled pages.
    pub url: Option<String>,
}

/// A retrieved chunk as the trace shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievedChunk {
    /// Knowledge base it came from.
    pub kb: String,
    /// Document path.
    pub path: String,
    /// Document title.
    pub title: String,
    /// Headings above the chunk.
    pub heading_path: Vec<String>,
    /// Page type.
    pub page_type: PageType,
    /// Fused score.
    pub fused: f32,
    /// BM25 rank and score.
    pub bm25: Option<RetrieverScore>,
    /// Vector rank and cosine.
    pub vector: Option<RetrieverScore>,
}

/// A selected sentence or list item.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceTrace {
    /// Its citation number.
    pub citation: usize,
    /// The text.
    pub text: String,
    /// Combined score.
    pub score: f32,
    /// Cosine similarity to the question.
    pub similarity: f32,
    /// Share of question terms it contains.
    pub overlap: f32,
}

/// How an answer came to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The question after rewriting with conversation context.
    pub rewritten_query: String,
    /// The stage decided.
    pub stage: Stage,
    /// Why.
    pub stage_reason: String,
    /// The router's final score per stage (intent, lifecycle and evidence combined).
    pub stage_scores: Vec<(Stage, f32)>,
    /// The intent classifier's probability per stage (the example bank alone).
    pub intent_scores: Vec<(Stage, f32)>,
    /// Retrieved chunks, best first, with each retriever's score.
    pub retrieved: Vec<RetrievedChunk>,
    /// Evidence selected.
    pub evidence: Vec<EvidenceTrace>,
    /// Confidence 0..1.
    pub confidence: f32,
    /// The threshold under which the agent says it does not know.
    pub threshold: f32,
    /// The best cosine similarity between the question and the knowledge base's chunks.
    pub domain_score: f32,
    /// The knowledge base's calibrated floor for `domain_score` (what off-topic questions reach here).
    pub domain_threshold: f32,
    /// How much more the question resembles the built-in off-topic questions than customer messages
    /// (over [`crate::calibrate::OFFTOPIC_LEAN_LIMIT`] it is not answered).
    pub offtopic_lean: f32,
    /// What kind of question the answerer took it for (`price`, `quantity`, `howto`, `fix`, `other`).
    pub question_kind: Option<String>,
    /// Terms of the question the knowledge base never uses (they lower the confidence).
    pub unknown_terms: Vec<String>,
    /// `extractive` or `openai:<model>`.
    pub backend: String,
    /// Sentences of a generated answer its sources do not support.
    pub unsupported: Vec<Unsupported>,
    /// Retrieved text that read as instructions to an AI and was treated as data only.
    pub dropped_instructions: Vec<String>,
    /// Facts learned from this message.
    pub facts_learned: Vec<(String, String)>,
    /// What else happened (`lead captured`, `handoff: …`, `merged visitor … into …`).
    pub events: Vec<String>,
    /// Time to answer in milliseconds.
    pub latency_ms: u32,
}

/// One answered message.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The contact (differs from the one passed in when the message identified a known contact).
    pub contact: ContactId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The stored agent message's id.
    pub message_id: i64,
    /// The full answer text, as stored (answer, then next step).
    pub answer: String,
    /// Sources cited in the answer.
    pub citations: Vec<Citation>,
    /// The stage.
    pub stage: Stage,
    /// Whether the agent said it did not know.
    pub idk: bool,
    /// The stage's next step (a qualification question, a call to action, the next onboarding step, an
    /// upgrade path), already part of `answer`.
    pub next_step: Option<String>,
    /// The handoff this message produced.
    pub handoff: Option<HandoffRecord>,
    /// The lead this message qualified.
    pub lead: Option<LeadRecord>,
    /// How the answer came to be.
    pub trace: Trace,
}

/// A message the agent sends unprompted after an event.
#[derive(Debug, Clone, PartialEq)]
pub struct ProactiveMessage {
    /// The conversation it was added to.
    pub conversation: ConversationId,
    /// The stored message's id.
    pub message_id: i64,
    /// Activation (onboarding) or expansion.
    pub stage: Stage,
    /// The text.
    pub text: String,
    /// Sources (the pricing page for expansion, the step's document for onboarding).
    pub citations: Vec<Citation>,
}

/// Everything remembered about a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryView {
    /// The contact.
    pub contact: ContactRecord,
    /// Facts with their source messages.
    pub facts: Vec<Fact>,
    /// Conversations with their messages, oldest first.
    pub conversations: Vec<(ConversationRecord, Vec<MessageRecord>)>,
    /// Product events.
    pub events: Vec<EventRecord>,
    /// Onboarding steps done (ids).
    pub onboarding_done: Vec<String>,
    /// The next onboarding step (id), if any.
    pub onboarding_next: Option<String>,
    /// Leads of this contact.
    pub leads: Vec<LeadRecord>,
    /// Handoffs of this contact.
    pub handoffs: Vec<HandoffRecord>,
}

/// Audit numbers of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageAudit {
    /// The stage.
    pub stage: Stage,
    /// Conversations with at least one answer in this stage.
    pub conversations: usize,
    /// Answers given in this stage.
    pub answers: usize,
    /// Conversations handed off whose last answer was in this stage (each counted once).
    pub handoffs: usize,
    /// "I don't know" answers.
    pub idk: usize,
    /// Median answer time (ms).
    pub response_p50_ms: u32,
    /// 90th percentile answer time (ms).
    pub response_p90_ms: u32,
    /// Questions the agent could not answer, newest first (at most 20).
    pub unanswered: Vec<String>,
}

/// Per-stage audit of an agent's conversations.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// One entry per stage, in lifecycle order.
    pub stages: Vec<StageAudit>,
    /// Contacts.
    pub contacts: usize,
    /// Leads captured.
    pub leads: usize,
    /// Handoffs still open.
    pub open_handoffs: usize,
}
