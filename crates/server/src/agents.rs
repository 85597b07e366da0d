//! Agents served over HTTP: opened on first use over the knowledge bases they name (and reopened when
//! their configuration gets a new version), and the JSON forms of turns, memory, handoffs and audits.

use std::sync::Arc;

use serde_json::{json, Value};
use throughline_agent::{Agent, AgentConfig, Audit, ChatBackend, Citation, MemoryView, ProactiveMessage, Turn};
use throughline_core::{CitedSource, HandoffRecord, HandoffStatus, LeadRecord, Publication, Retriever};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

impl From<throughline_agent::AgentError> for ApiError {
    fn from(e: throughline_agent::AgentError) -> Self {
        ApiError::from(throughline_core::CoreError::new(e.kind(), e.to_string()))
    }
}

/// The open agent `name` at its latest version (blocking: call from `spawn_blocking`).
pub fn open_agent(state: &AppState, name: &str) -> ApiResult<Arc<Agent>> {
    let latest = state.0.memory.agent(name, None)?.ok_or_else(|| ApiError::not_found("agent", name))?;
    if let Some(a) = state.0.agents.read().unwrap_or_else(|p| p.into_inner()).get(name) {
        if a.version() == latest.version {
            return Ok(a.clone());
        }
    }
    // One opening at a time: simultaneous first chats wait for it instead of each training the router.
    let _opening = state.0.opening.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(a) = state.0.agents.read().unwrap_or_else(|p| p.into_inner()).get(name) {
        if a.version() == latest.version {
            return Ok(a.clone());
        }
    }
    let config = AgentConfig::from_toml(&latest.config, &format!("agent `{name}`"))?;
    let mut kbs: Vec<Arc<dyn Retriever>> = Vec::new();
    for kb in &config.knowledge_bases {
        kbs.push(state.kb(kb)?);
    }
    // The server-level private-network setting governs every outbound request: crawls, webhooks, LLM.
    let network = throughline_ingest::crawl::address::NetworkPolicy {
        allow_private: state.0.config.crawl.allow_private_network,
        allow_loopback: false,
        setting: crate::state::PRIVATE_NETWORK_SETTING,
    };
    let llm = match &state.0.llm {
        Some(cfg) => Some(ChatBackend::with_policy(cfg.clone(), network)?),
        None => None,
    };
    let agent = Arc::new(Agent::open(state.0.memory.clone(), name, kbs, llm)?.with_network_policy(network));
    state.0.agents.write().unwrap_or_else(|p| p.into_inner()).insert(name.to_string(), agent.clone());
    Ok(agent)
}

/// Runs blocking agent work off the async threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("the agent task failed: {e}")))?
}

/// JSON of a citation.
pub fn citation_json(c: &Citation) -> Value {
    json!({"n": c.number, "title": c.title, "path": c.path, "url": c.url})
}

/// JSON of a stored message's citations, one entry per number (a number may span several chunks).
pub fn message_citations_json(citations: &[CitedSource]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for c in citations {
        if !out.iter().any(|v| v["n"] == json!(c.number)) {
            out.push(json!({"n": c.number, "title": c.title, "path": c.path, "url": c.url}));
        }
    }
    out
}

/// JSON of a pricing plan.
pub fn plan_json(p: &throughline_core::Plan) -> Value {
    json!({
        "name": p.name,
        "prices": p.prices.iter().map(|x| json!({"amount": x.amount, "currency": x.currency, "period": x.period.map(|b| b.as_str()), "display": x.display()})).collect::<Vec<_>>(),
        "limits": p.limits.iter().map(|l| json!({"name": l.name, "value": l.value})).collect::<Vec<_>>(),
        "features": p.features,
        "source_path": p.source_path,
    })
}

/// JSON of a lead.
pub fn lead_json(l: &LeadRecord) -> Value {
    json!({
        "contact_id": l.contact.to_string(),
        "facts": l.facts.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "webhook": l.webhook,
        "created_at": l.created_at,
    })
}

/// JSON of a handoff.
pub fn handoff_json(h: &HandoffRecord) -> Value {
    json!({
        "id": h.id.to_string(),
        "contact_id": h.contact.to_string(),
        "conversation_id": h.conversation.to_string(),
        "reason": h.reason,
        "summary": h.summary,
        "transcript": h.transcript,
        "facts": h.facts.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "status": match h.status { HandoffStatus::Open => "open", HandoffStatus::Resolved => "resolved" },
        "resolution": h.resolution,
    })
}

/// JSON of a turn; the trace only for the admin.
pub fn turn_json(t: &Turn, with_trace: bool) -> Value {
    let mut v = json!({
        "contact_id": t.contact.to_string(),
        "conversation_id": t.conversation.to_string(),
        "message_id": t.message_id,
        "answer": t.answer,
        "citations": t.citations.iter().map(citation_json).collect::<Vec<_>>(),
        "stage": t.stage.as_str(),
        "stage_reason": t.trace.stage_reason,
        "confidence": t.trace.confidence,
        "idk": t.idk,
        "next_step": t.next_step,
        "handoff": t.handoff.as_ref().map(|h| json!({"id": h.id.to_string(), "reason": h.reason})),
        "lead": t.lead.as_ref().map(lead_json),
        "latency_ms": t.trace.latency_ms,
    });
    if with_trace {
        let tr = &t.trace;
        v["trace"] = json!({
            "rewritten_query": tr.rewritten_query,
            "stage": tr.stage.as_str(),
            "stage_reason": tr.stage_reason,
            "retrieved": tr.retrieved.iter().map(|r| json!({
                "kb": r.kb, "title": r.title, "path": r.path, "heading_path": r.heading_path,
                "page_type": r.page_type.as_str(), "fused": r.fused,
                "bm25": r.bm25.map(|s| json!({"rank": s.rank, "score": s.score})),
                "vector": r.vector.map(|s| json!({"rank": s.rank, "score": s.score})),
            })).collect::<Vec<_>>(),
            "evidence": tr.evidence.iter().map(|e| json!({"citation": e.citation, "text": e.text, "score": e.score, "similarity": e.similarity, "overlap": e.overlap})).collect::<Vec<_>>(),
            "stage_scores": tr.stage_scores.iter().map(|(s, x)| (s.as_str().to_string(), json!(x))).collect::<serde_json::Map<_, _>>(),
            "intent_scores": tr.intent_scores.iter().map(|(s, x)| (s.as_str().to_string(), json!(x))).collect::<serde_json::Map<_, _>>(),
            "confidence": tr.confidence,
            "threshold": tr.threshold,
            "domain_score": tr.domain_score,
            "domain_threshold": tr.domain_threshold,
            "offtopic_lean": tr.offtopic_lean,
            "question_kind": tr.question_kind,
            "unknown_terms": tr.unknown_terms,
            "backend": tr.backend,
            "unsupported": tr.unsupported.iter().map(|u| json!({"sentence": u.sentence, "reason": u.reason})).collect::<Vec<_>>(),
            "dropped_instructions": tr.dropped_instructions,
            "facts_learned": tr.facts_learned.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "events": tr.events,
            "latency_ms": tr.latency_ms,
        });
    }
    v
}

/// JSON of a proactive message.
pub fn proactive_json(p: &ProactiveMessage) -> Value {
    json!({
        "conversation_id": p.conversation.to_string(),
        "message_id": p.message_id,
        "stage": p.stage.as_str(),
        "text": p.text,
        "citations": p.citations.iter().map(citation_json).collect::<Vec<_>>(),
    })
}

/// JSON of a contact's memory.
pub fn memory_json(m: &MemoryView) -> Value {
    json!({
        "id": m.contact.id.to_string(),
        "key": m.contact.key,
        "lifecycle": m.contact.lifecycle.as_str(),
        "summary": m.contact.summary,
        "created_at": m.contact.created_at,
        "facts": m.facts.iter().map(|f| json!({"key": f.key, "value": f.value, "source_message": f.source_message, "learned_at": f.learned_at})).collect::<Vec<_>>(),
        "conversations": m.conversations.iter().map(|(c, msgs)| json!({
            "id": c.id.to_string(),
            "agent_version": c.agent_version,
            "started_at": c.started_at,
            "messages": msgs.iter().map(|x| json!({
                "id": x.id, "role": x.role.as_str(), "text": x.text, "stage": x.stage.map(|s| s.as_str()),
                "idk": x.idk, "latency_ms": x.latency_ms, "created_at": x.created_at,
                "citations": message_citations_json(&x.citations),
                "quoted": x.citations.iter().filter(|c| c.chunk.is_some()).map(|c| json!({
                    "n": c.number, "kb": c.kb, "path": c.path, "chunk_id": c.chunk.map(|k| k.to_string()), "text": c.quote,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "events": m.events.iter().map(|e| json!({"name": e.name, "properties": e.properties.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(), "created_at": e.created_at})).collect::<Vec<_>>(),
        "onboarding_done": m.onboarding_done,
        "onboarding_next": m.onboarding_next,
        "leads": m.leads.iter().map(lead_json).collect::<Vec<_>>(),
        "handoffs": m.handoffs.iter().map(handoff_json).collect::<Vec<_>>(),
    })
}

/// Unanswered questions grouped by meaning (greedy clustering of their embeddings at cosine ≥ 0.7),
/// largest group first: the knowledge gaps.
pub fn knowledge_gaps(state: &AppState, questions: &[(String, &'static str)]) -> Vec<Value> {
    if questions.is_empty() {
        return Vec::new();
    }
    let texts: Vec<&str> = questions.iter().map(|(q, _)| q.as_str()).collect();
    let Ok(vectors) = state.0.embedder.embed(&texts) else { return Vec::new() };
    let mut groups: Vec<(Vec<f32>, Vec<usize>)> = Vec::new();
    for (i, v) in vectors.iter().enumerate() {
        let best = groups
            .iter_mut()
            .map(|g| (v.iter().zip(&g.0).map(|(a, b)| a * b).sum::<f32>(), g))
            .filter(|(s, _)| *s >= 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, g)) => g.1.push(i),
            None => groups.push((v.clone(), vec![i])),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.1.len()));
    groups
        .into_iter()
        .map(|(_, members)| {
            let mut stages: Vec<&str> = members.iter().map(|&i| questions[i].1).collect();
            stages.dedup();
            json!({
                "question": questions[members[0]].0,
                "count": members.len(),
                "examples": members.iter().take(5).map(|&i| questions[i].0.clone()).collect::<Vec<_>>(),
                "stages": stages,
            })
        })
        .collect()
}

/// JSON of the audit: per stage counts and rates, the stage that leaks most, knowledge gaps.
pub fn audit_json(state: &AppState, a: &Audit) -> Value {
    let mut stages = serde_json::Map::new();
    let mut leak: Option<(&str, f64)> = None;
    let mut unanswered: Vec<(String, &'static str)> = Vec::new();
    for s in &a.stages {
        let answers = s.answers.max(1) as f64;
        let conversations = s.conversations.max(1) as f64;
        let handoff_rate = s.handoffs as f64 / conversations;
        let idk_rate = s.idk as f64 / answers;
        let leak_score = handoff_rate + idk_rate;
        if s.answers > 0 && leak.is_none_or(|(_, l)| leak_score > l) {
            leak = Some((s.stage.as_str(), leak_score));
        }
        for q in &s.unanswered {
            unanswered.push((q.clone(), s.stage.as_str()));
        }
        stages.insert(
            s.stage.as_str().to_string(),
            json!({
                "conversations": s.conversations,
                "answers": s.answers,
                "handoffs": s.handoffs,
                "idk": s.idk,
                "handoff_rate": if s.conversations == 0 { 0.0 } else { handoff_rate },
                "idk_rate": if s.answers == 0 { 0.0 } else { idk_rate },
                // A count, and the share of conversations it is (what the UI shows as a rate).
                "resolved_without_handoff": s.conversations.saturating_sub(s.handoffs),
                "resolved_rate": if s.conversations == 0 {
                    0.0
                } else {
                    s.conversations.saturating_sub(s.handoffs) as f64 / conversations
                },
                "median_response_ms": s.response_p50_ms,
                "p90_response_ms": s.response_p90_ms,
                "unanswered": s.unanswered,
            }),
        );
    }
    json!({
        "stages": stages,
        "contacts": a.contacts,
        "leads": a.leads,
        "open_handoffs": a.open_handoffs,
        "leaking_stage": leak.filter(|(_, l)| *l > 0.0).map(|(s, _)| s),
        "knowledge_gaps": knowledge_gaps(state, &unanswered),
    })
}

/// JSON of an agent with its publication.
pub fn agent_json(
    name: &str,
    version: u32,
    config: &AgentConfig,
    toml: &str,
    publication: Option<&Publication>,
) -> Value {
    let config_json: Value =
        toml::from_str::<toml::Value>(toml).ok().and_then(|v| serde_json::to_value(v).ok()).unwrap_or(Value::Null);
    json!({
        "name": name,
        "version": version,
        "kbs": config.knowledge_bases,
        "published": publication.is_some_and(|p| p.published),
        "public_key": publication.map(|p| p.public_key.clone()),
        "allowed_origins": publication.map(|p| p.allowed_origins.clone()).unwrap_or_default(),
        "config": config_json,
        "config_toml": toml,
    })
}
