//! A turn of a conversation as the API shows it: the answer with its citations, the stage it was given
//! in, and for the admin the trace of how it was made (retrieval, evidence, stage and "I don't know"
//! scores).

use std::collections::BTreeMap;

use serde::Serialize;
use throughline_agent::Turn as AgentTurn;
use utoipa::ToSchema;

use super::memory::{pairs, KeyValue, Lead, StageName};
use super::search::RetrieverScore;

/// A source an answer cites, by its number in the answer (`[1]`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Citation {
    /// Its number in the answer.
    pub n: usize,
    /// The document's title.
    pub title: String,
    /// The document's path.
    pub path: String,
    /// The page's URL (crawled sites).
    pub url: Option<String>,
}

impl From<&throughline_agent::Citation> for Citation {
    fn from(c: &throughline_agent::Citation) -> Self {
        Self { n: c.number, title: c.title.clone(), path: c.path.clone(), url: c.url.clone() }
    }
}

/// The handoff a turn opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffOpened {
    /// Handoff id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// Why the agent handed off.
    pub reason: String,
}

/// One answer of the agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct Turn {
    /// The contact.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub contact_id: String,
    /// The conversation.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub conversation_id: String,
    /// The answer's message id.
    pub message_id: i64,
    /// The answer, with numbered citations (`[1]`).
    pub answer: String,
    /// The sources it cites.
    pub citations: Vec<Citation>,
    /// The stage it was given in.
    pub stage: StageName,
    /// Why that stage.
    pub stage_reason: String,
    /// How sure the agent was (0..1).
    pub confidence: f32,
    /// Whether the answer is "I don't know".
    pub idk: bool,
    /// The next step offered (an onboarding step, what the next plan unlocks).
    pub next_step: Option<String>,
    /// The handoff to a human this turn opened.
    pub handoff: Option<HandoffOpened>,
    /// The lead this turn made.
    pub lead: Option<Lead>,
    /// Time to answer.
    pub latency_ms: u32,
    /// How the answer was made (admin only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}

/// A chunk retrieved for a turn.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetrievedChunk {
    /// Its knowledge base.
    pub kb: String,
    /// Its document's title.
    pub title: String,
    /// Its document's path.
    pub path: String,
    /// Headings above it.
    pub heading_path: Vec<String>,
    /// Its page's type.
    pub page_type: String,
    /// Fused score.
    pub fused: f32,
    /// Keyword search's rank and score.
    pub bm25: Option<RetrieverScore>,
    /// Embedding search's rank and score.
    pub vector: Option<RetrieverScore>,
}

/// A sentence or list item chosen as evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceUsed {
    /// The citation it is quoted under.
    pub citation: usize,
    /// The text, verbatim.
    pub text: String,
    /// Combined score.
    pub score: f32,
    /// Cosine similarity to the question.
    pub similarity: f32,
    /// Share of the question's terms it contains.
    pub overlap: f32,
}

/// A sentence of a generated answer its sources do not support, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnsupportedSentence {
    /// The sentence.
    pub sentence: String,
    /// Why it was dropped.
    pub reason: String,
}

/// How a turn was made: what the playground shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct Trace {
    /// The query searched (the message with what the conversation adds).
    pub rewritten_query: String,
    /// The stage decided.
    pub stage: StageName,
    /// Why.
    pub stage_reason: String,
    /// Retrieved chunks, best first.
    pub retrieved: Vec<RetrievedChunk>,
    /// Evidence chosen.
    pub evidence: Vec<EvidenceUsed>,
    /// Final score per stage.
    pub stage_scores: BTreeMap<String, f32>,
    /// Intent probability per stage.
    pub intent_scores: BTreeMap<String, f32>,
    /// How sure the agent was.
    pub confidence: f32,
    /// Confidence below which it says "I don't know".
    pub threshold: f32,
    /// How close the question is to the knowledge base's domain.
    pub domain_score: f32,
    /// Domain score below which the question is off-topic.
    pub domain_threshold: f32,
    /// How much more the question resembles off-topic questions than customer ones.
    pub offtopic_lean: f32,
    /// The kind of question (`price`, `howto`, `fix`, …).
    pub question_kind: Option<String>,
    /// Terms of the question the knowledge base never uses.
    pub unknown_terms: Vec<String>,
    /// `extractive` or the LLM's model.
    pub backend: String,
    /// Generated sentences dropped as unsupported.
    pub unsupported: Vec<UnsupportedSentence>,
    /// Retrieved text dropped because it read as instructions to an AI.
    pub dropped_instructions: Vec<String>,
    /// Facts learned from the message.
    pub facts_learned: Vec<KeyValue>,
    /// Events the turn recorded.
    pub events: Vec<String>,
    /// Time to answer.
    pub latency_ms: u32,
}

impl Turn {
    /// The view of `t`; its trace only when `with_trace` (the admin).
    pub fn new(t: &AgentTurn, with_trace: bool) -> Self {
        let score =
            |s: Option<throughline_core::RetrieverScore>| s.map(|s| RetrieverScore { rank: s.rank, score: s.score });
        let scores =
            |v: &[(throughline_core::Stage, f32)]| v.iter().map(|(s, x)| (s.as_str().to_string(), *x)).collect();
        let tr = &t.trace;
        Self {
            contact_id: t.contact.to_string(),
            conversation_id: t.conversation.to_string(),
            message_id: t.message_id,
            answer: t.answer.clone(),
            citations: t.citations.iter().map(Citation::from).collect(),
            stage: t.stage.into(),
            stage_reason: tr.stage_reason.clone(),
            confidence: tr.confidence,
            idk: t.idk,
            next_step: t.next_step.clone(),
            handoff: t.handoff.as_ref().map(|h| HandoffOpened { id: h.id.to_string(), reason: h.reason.clone() }),
            lead: t.lead.as_ref().map(Lead::from),
            latency_ms: tr.latency_ms,
            trace: with_trace.then(|| Trace {
                rewritten_query: tr.rewritten_query.clone(),
                stage: tr.stage.into(),
                stage_reason: tr.stage_reason.clone(),
                retrieved: tr
                    .retrieved
                    .iter()
                    .map(|r| RetrievedChunk {
                        kb: r.kb.clone(),
                        title: r.title.clone(),
                        path: r.path.clone(),
                        heading_path: r.heading_path.clone(),
                        page_type: r.page_type.as_str().to_string(),
                        fused: r.fused,
                        bm25: score(r.bm25),
                        vector: score(r.vector),
                    })
                    .collect(),
                evidence: tr
                    .evidence
                    .iter()
                    .map(|e| EvidenceUsed {
                        citation: e.citation,
                        text: e.text.clone(),
                        score: e.score,
                        similarity: e.similarity,
                        overlap: e.overlap,
                    })
                    .collect(),
                stage_scores: scores(&tr.stage_scores),
                intent_scores: scores(&tr.intent_scores),
                confidence: tr.confidence,
                threshold: tr.threshold,
                domain_score: tr.domain_score,
                domain_threshold: tr.domain_threshold,
                offtopic_lean: tr.offtopic_lean,
                question_kind: tr.question_kind.clone(),
                unknown_terms: tr.unknown_terms.clone(),
                backend: tr.backend.clone(),
                unsupported: tr
                    .unsupported
                    .iter()
                    .map(|u| UnsupportedSentence { sentence: u.sentence.clone(), reason: u.reason.clone() })
                    .collect(),
                dropped_instructions: tr.dropped_instructions.clone(),
                facts_learned: pairs(&tr.facts_learned),
                events: tr.events.clone(),
                latency_ms: tr.latency_ms,
            }),
        }
    }
}
