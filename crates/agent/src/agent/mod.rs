//! [`Agent`]: one configured agent over its knowledge bases and the memory store. This module opens an
//! agent and keeps its contacts; each concern of answering lives in its own sub-module:
//! - `respond`: one customer message through every step (facts, escalation, rewrite, retrieve, stage,
//!   answer or "I don't know", next step, lead or handoff), recorded in the turn's trace and in memory;
//! - `compose`: the extractive answer text with numbered citations;
//! - `prompt`: the LLM prompt, sources fenced as data;
//! - `proactive`: product events (onboarding progress, usage caps) and the messages they trigger;
//! - `inbox`: leads, handoffs, human replies and a contact's memory view;
//! - `audit`: the per-stage audit;
//! - `copy`: every sentence the agent says in its own words (not quoted from sources).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use throughline_core::{
    AgentId, AgentRecord, CitedSource, ContactId, ContactRecord, ConversationId, ConversationRecord, HandoffId,
    HandoffRecord, HandoffStatus, LeadRecord, Lifecycle, MemoryStore, MessageRecord, NewMessage, Retriever, Role,
    SearchHit, SearchRequest, Stage,
};

use crate::bank;
use crate::calibrate::Calibration;
use crate::config::{AgentConfig, QualificationField};
use crate::escalation::{self, EscalationReason};
use crate::events::{completes, expansion_offer, onboarding_progress};
use crate::extractive::{self, EmbeddingCache, SelectConfig, Selection};
use crate::llm::{check_citations, ChatBackend, ChatMessage};
use crate::stage::IntentRouter;
use crate::turn::{
    Audit, Citation, EvidenceTrace, MemoryView, ProactiveMessage, RetrievedChunk, StageAudit, Trace, Turn,
};
use crate::vocabulary::Vocabulary;
use crate::{qualify, rewrite, stage, webhook, AgentError, Result};
use throughline_core::shorthand;

mod audit;
mod compose;
mod copy;
mod inbox;
mod proactive;
mod prompt;
mod respond;

/// Longest message accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4000;
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(3);
/// How much of the confidence a question loses when all its terms are unknown to the knowledge base.
const UNKNOWN_TERM_PENALTY: f32 = 0.5;

/// A configured agent ready to answer.
pub struct Agent {
    record: AgentRecord,
    config: AgentConfig,
    memory: Arc<dyn MemoryStore>,
    kbs: Vec<Arc<dyn Retriever>>,
    llm: Option<ChatBackend>,
    cache: EmbeddingCache,
    vocabulary: Vocabulary,
    router: IntentRouter,
    calibration: Calibration,
    /// The outbound policy of its webhooks (strict by default; the operator may open private ranges).
    network: throughline_net::NetworkPolicy,
}

/// A contact key (visitor id, email or user id) as stored: trimmed, 1 to 200 characters.
pub fn contact_key(key: &str) -> Result<&str> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > 200 {
        return Err(AgentError::BadMessage { reason: format!("contact key `{key}` must be 1 to 200 characters") });
    }
    Ok(key)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

impl Agent {
    /// Saves `config` as a new version of the agent `name` (version 1 when new).
    pub fn save(memory: &dyn MemoryStore, name: &str, config: &AgentConfig) -> Result<AgentRecord> {
        config.validate(&format!("agent `{name}`"))?;
        Ok(memory.save_agent(name, &config.to_toml()?)?)
    }

    /// The stored configuration of agent `name` (latest version, or `version`).
    pub fn load_config(
        memory: &dyn MemoryStore,
        name: &str,
        version: Option<u32>,
    ) -> Result<(AgentRecord, AgentConfig)> {
        let record =
            memory.agent(name, version)?.ok_or_else(|| AgentError::AgentNotFound { name: name.to_string() })?;
        let config = AgentConfig::from_toml(&record.config, &format!("agent `{name}` version {}", record.version))?;
        Ok((record, config))
    }

    /// Opens agent `name` at its latest version over `kbs` (which must include every knowledge base its
    /// configuration names), answering with `llm` when given, else extractively.
    pub fn open(
        memory: Arc<dyn MemoryStore>,
        name: &str,
        kbs: Vec<Arc<dyn Retriever>>,
        llm: Option<ChatBackend>,
    ) -> Result<Self> {
        let (record, config) = Self::load_config(memory.as_ref(), name, None)?;
        for kb in &config.knowledge_bases {
            if !kbs.iter().any(|r| r.name() == kb) {
                return Err(AgentError::KbMissing { agent: name.to_string(), kb: kb.clone() });
            }
        }
        let kbs: Vec<Arc<dyn Retriever>> =
            kbs.into_iter().filter(|r| config.knowledge_bases.iter().any(|k| k == r.name())).collect();
        let mut vocabulary = Vocabulary::default();
        for kb in &kbs {
            vocabulary.extend(Vocabulary::of(kb.as_ref())?);
        }
        let router = match kbs.first() {
            Some(kb) => IntentRouter::build(kb.as_ref(), &config.router.examples())?,
            None => return Err(AgentError::KbMissing { agent: name.to_string(), kb: String::new() }),
        };
        let mut agent = Self {
            record,
            config,
            memory,
            kbs,
            llm,
            cache: EmbeddingCache::default(),
            vocabulary,
            router,
            calibration: Calibration::default(),
            network: throughline_net::NetworkPolicy::default(),
        };
        agent.calibration = agent.calibrate()?;
        Ok(agent)
    }

    /// The agent with its webhooks sent under `policy` (the operator's private-network setting). By
    /// default private and loopback addresses are refused; metadata and link-local addresses always are.
    pub fn with_network_policy(mut self, policy: throughline_net::NetworkPolicy) -> Self {
        self.network = policy;
        self
    }

    /// The agent's id.
    pub fn id(&self) -> AgentId {
        self.record.id
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The configuration version answering.
    pub fn version(&self) -> u32 {
        self.record.version
    }

    /// When the answering configuration version was saved (seconds since the epoch): with the version,
    /// it tells an agent deleted and made anew under the same name from the one it replaced.
    pub fn saved_at(&self) -> i64 {
        self.record.created_at
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    fn not_found(&self, what: &'static str, id: impl ToString) -> AgentError {
        AgentError::NotFound { what, id: id.to_string(), agent: self.record.name.clone() }
    }

    /// The contact known by `key` (visitor id, email or user id), created as a prospect when new.
    pub fn contact(&self, key: &str) -> Result<ContactRecord> {
        let key = contact_key(key)?;
        if let Some(c) = self.memory.contact_by_key(self.id(), key)? {
            return Ok(c);
        }
        let created = self.memory.create_contact(self.id(), key)?;
        // A contact first known by its email already told us its email.
        if let [(k, v)] = qualify::extract_facts(key, None).as_slice() {
            if k == "email" && v == &key.to_lowercase() {
                self.memory.put_fact(created.id, k, v, None)?;
            }
        }
        Ok(created)
    }

    /// Identifies `contact` as `key` (an email or user id): when another contact already has that key,
    /// `contact` (typically an anonymous visitor) is merged into it; otherwise the key becomes an alias.
    /// Returns the contact that remains.
    pub fn identify(&self, contact: ContactId, key: &str) -> Result<ContactId> {
        self.contact_record(contact)?;
        match self.memory.contact_by_key(self.id(), key)? {
            Some(other) if other.id != contact => {
                self.memory.merge_contacts(self.id(), contact, other.id)?;
                Ok(other.id)
            }
            Some(_) => Ok(contact),
            None => {
                self.memory.add_alias(self.id(), contact, key)?;
                Ok(contact)
            }
        }
    }

    fn contact_record(&self, contact: ContactId) -> Result<ContactRecord> {
        self.memory.contact(self.id(), contact)?.ok_or_else(|| self.not_found("contact", contact))
    }

    /// Starts a conversation of `contact`, answered by the current configuration version.
    pub fn start_conversation(&self, contact: ContactId) -> Result<ConversationRecord> {
        self.contact_record(contact)?;
        Ok(self.memory.start_conversation(self.id(), contact, self.version())?)
    }

    /// The conversation of `contact` that a stateless client's `history` (its earlier messages, oldest
    /// first: `(Role::User | Role::Assistant, text)`) continues: the contact's latest conversation when
    /// its customer messages are exactly those of `history`, otherwise a new conversation holding
    /// `history`, so the next answer reads the same context the client sent.
    pub fn conversation_for_history(&self, contact: ContactId, history: &[(Role, String)]) -> Result<ConversationId> {
        self.contact_record(contact)?;
        let asked: Vec<&str> = history.iter().filter(|(r, _)| *r == Role::User).map(|(_, t)| t.trim()).collect();
        let latest = self.memory.conversations(contact)?.into_iter().max_by_key(|c| c.started_at);
        if let Some(c) = latest {
            let stored = self.memory.messages(c.id)?;
            let stored_asked: Vec<&str> =
                stored.iter().filter(|m| m.role == Role::User).map(|m| m.text.trim()).collect();
            if stored_asked == asked {
                return Ok(c.id);
            }
        }
        let conv = self.start_conversation(contact)?;
        for (role, text) in history {
            if text.trim().is_empty() {
                continue;
            }
            self.memory.add_message(&NewMessage {
                conversation: conv.id,
                role: *role,
                text: text.clone(),
                stage: None,
                idk: false,
                latency_ms: None,
                citations: Vec::new(),
            })?;
        }
        Ok(conv.id)
    }

    /// How the agent's knowledge bases answer questions nobody's docs answer (see [`crate::calibrate`]).
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    fn calibrate(&self) -> Result<Calibration> {
        let Some(kb) = self.kbs.first() else { return Ok(Calibration::default()) };
        let offtopic = bank::offtopic();
        let off_vectors = bank::embedded("offtopic", &offtopic, kb.as_ref())?;
        let mut off = Vec::with_capacity(offtopic.len());
        for (q, v) in offtopic.iter().zip(off_vectors.iter()) {
            off.push(self.best_match(q, v)?);
        }
        // Every other message of the intent bank: a few hundred generic customer questions.
        let intents = bank::intents();
        let texts: Vec<&str> = intents.iter().map(|(_, t)| *t).collect();
        let vectors = bank::embedded("intents", &texts, kb.as_ref())?;
        let mut customer = Vec::with_capacity(texts.len() / 2);
        for (q, v) in texts.iter().zip(vectors.iter()).step_by(2) {
            customer.push(self.best_match(q, v)?);
        }
        let mut c = Calibration::from_scores(off, customer);
        c.banks = Some((off_vectors, vectors));
        Ok(c)
    }

    /// The best cosine similarity between `qvec` and any chunk of the agent's knowledge bases (what
    /// [`domain_score`] reads off a hybrid retrieval, from the vector index alone).
    fn best_match(&self, query: &str, qvec: &[f32]) -> Result<f32> {
        let mut best = 0f32;
        for kb in &self.kbs {
            let mut req = SearchRequest::new(query);
            req.mode = throughline_core::SearchMode::Vector;
            req.limit = 1;
            req.dedupe_documents = false;
            req.query_vector = Some(qvec.to_vec());
            best = best.max(domain_score(&kb.search(&req)?));
        }
        Ok(best)
    }

    /// Embeds `query` once (through the embedding cache, so simultaneous identical questions share one
    /// computation) and retrieves from every knowledge base with that vector.
    fn retrieve(&self, query: &str) -> Result<(Vec<SearchHit>, Vec<RetrievedChunk>, Vec<f32>)> {
        let qvec = match self.kbs.first() {
            Some(kb) => self.cache.embed(kb.as_ref(), &[query.to_string()])?.pop().unwrap_or_default(),
            None => Vec::new(),
        };
        let (hits, trace) = self.retrieve_with(query, &qvec)?;
        Ok((hits, trace, qvec))
    }

    fn retrieve_with(&self, query: &str, qvec: &[f32]) -> Result<(Vec<SearchHit>, Vec<RetrievedChunk>)> {
        let mut hits: Vec<(String, SearchHit)> = Vec::new();
        for kb in &self.kbs {
            let mut req = SearchRequest::new(query);
            req.limit = 8;
            req.dedupe_documents = false;
            req.query_vector = Some(qvec.to_vec());
            for h in kb.search(&req)? {
                hits.push((kb.name().to_string(), h));
            }
        }
        hits.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
        hits.truncate(8);
        let trace = hits
            .iter()
            .map(|(kb, h)| RetrievedChunk {
                kb: kb.clone(),
                path: h.path.clone(),
                title: h.title.clone(),
                heading_path: h.heading_path.clone(),
                page_type: h.page_type,
                fused: h.score,
                bm25: h.bm25,
                vector: h.vector,
            })
            .collect();
        Ok((hits.into_iter().map(|(_, h)| h).collect(), trace))
    }
}

/// How close the knowledge base comes to a question: the best cosine similarity among the hits.
pub(super) fn domain_score(hits: &[SearchHit]) -> f32 {
    hits.iter().filter_map(|h| h.vector.map(|v| v.score)).fold(0.0, f32::max)
}

/// A citation of chunk `hit` (from knowledge base `kb`) quoting `quote`.
pub(super) fn cited_source(number: usize, kb: &str, hit: &SearchHit, quote: &str) -> CitedSource {
    CitedSource {
        number,
        kb: kb.to_string(),
        path: hit.path.clone(),
        title: hit.title.clone(),
        url: hit.url.clone(),
        chunk: Some(hit.chunk_id),
        quote: quote.to_string(),
    }
}

/// A citation of the agent's own configuration (a plan, an onboarding step): no chunk, no quote.
pub(super) fn config_citation(kbs: &[String], c: &Citation) -> CitedSource {
    CitedSource {
        number: c.number,
        kb: kbs.first().cloned().unwrap_or_default(),
        path: c.path.clone(),
        title: c.title.clone(),
        url: c.url.clone(),
        chunk: None,
        quote: String::new(),
    }
}
