//! Agents served over HTTP: opened on first use over the knowledge bases they name (and reopened when
//! their configuration gets a new version), and the audit report with its knowledge gaps.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use throughline_agent::{Agent, AgentConfig, Audit, ChatBackend};
use throughline_core::{Publication, Retriever, Stage};

use crate::error::{ApiError, ApiResult};
use crate::wire::{AgentDetail, AgentSummary, AuditReport, KnowledgeGap, StageAudit, StageName};
use crate::AppState;

impl From<throughline_agent::AgentError> for ApiError {
    fn from(e: throughline_agent::AgentError) -> Self {
        ApiError::from(throughline_core::CoreError::new(e.kind(), e.to_string()))
    }
}

/// The open agent `name` at its latest version (blocking: call from `spawn_blocking`). The version is
/// read from the store each time, so an agent edited (or deleted and made anew) through another replica
/// is reopened here.
pub fn open_agent(state: &AppState, name: &str) -> ApiResult<Arc<Agent>> {
    let latest = state.0.memory.agent(name, None)?.ok_or_else(|| ApiError::not_found("agent", name))?;
    if let Some(a) = state.0.agents.read().unwrap_or_else(|p| p.into_inner()).get(name) {
        if (a.version(), a.saved_at()) == (latest.version, latest.created_at) {
            return Ok(a.clone());
        }
    }
    // One opening at a time: simultaneous first chats wait for it instead of each training the router.
    let _opening = state.0.opening.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(a) = state.0.agents.read().unwrap_or_else(|p| p.into_inner()).get(name) {
        if (a.version(), a.saved_at()) == (latest.version, latest.created_at) {
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

/// Unanswered questions grouped by meaning (greedy clustering of their embeddings at cosine ≥ 0.7),
/// largest group first: the knowledge gaps.
pub fn knowledge_gaps(state: &AppState, questions: &[(String, Stage)]) -> Vec<KnowledgeGap> {
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
            let mut stages: Vec<StageName> = members.iter().map(|&i| questions[i].1.into()).collect();
            stages.dedup();
            KnowledgeGap {
                question: questions[members[0]].0.clone(),
                count: members.len(),
                examples: members.iter().take(5).map(|&i| questions[i].0.clone()).collect(),
                stages,
            }
        })
        .collect()
}

/// The audit report: per stage counts and rates, the stage that leaks most, knowledge gaps.
pub fn audit_report(state: &AppState, a: &Audit) -> AuditReport {
    let mut stages = BTreeMap::new();
    let mut leak: Option<(Stage, f64)> = None;
    let mut unanswered: Vec<(String, Stage)> = Vec::new();
    for s in &a.stages {
        let answers = s.answers.max(1) as f64;
        let conversations = s.conversations.max(1) as f64;
        let handoff_rate = s.handoffs as f64 / conversations;
        let idk_rate = s.idk as f64 / answers;
        let leak_score = handoff_rate + idk_rate;
        if s.answers > 0 && leak.is_none_or(|(_, l)| leak_score > l) {
            leak = Some((s.stage, leak_score));
        }
        for q in &s.unanswered {
            unanswered.push((q.clone(), s.stage));
        }
        stages.insert(
            s.stage.as_str().to_string(),
            StageAudit {
                conversations: s.conversations,
                answers: s.answers,
                handoffs: s.handoffs,
                idk: s.idk,
                handoff_rate: if s.conversations == 0 { 0.0 } else { handoff_rate },
                idk_rate: if s.answers == 0 { 0.0 } else { idk_rate },
                // A count, and the share of conversations it is (what the UI shows as a rate).
                resolved_without_handoff: s.conversations.saturating_sub(s.handoffs),
                resolved_rate: if s.conversations == 0 {
                    0.0
                } else {
                    s.conversations.saturating_sub(s.handoffs) as f64 / conversations
                },
                median_response_ms: s.response_p50_ms,
                p90_response_ms: s.response_p90_ms,
                unanswered: s.unanswered.clone(),
            },
        );
    }
    AuditReport {
        stages,
        contacts: a.contacts,
        leads: a.leads,
        open_handoffs: a.open_handoffs,
        leaking_stage: leak.filter(|(_, l)| *l > 0.0).map(|(s, _)| s.into()),
        knowledge_gaps: knowledge_gaps(state, &unanswered),
    }
}

/// An agent's view: its latest (or given) version with its publication.
pub fn agent_view(
    name: &str,
    version: u32,
    config: &AgentConfig,
    toml: &str,
    publication: Option<&Publication>,
) -> AgentDetail {
    let config_json: Value =
        toml::from_str::<toml::Value>(toml).ok().and_then(|v| serde_json::to_value(v).ok()).unwrap_or(Value::Null);
    AgentDetail {
        agent: AgentSummary {
            name: name.to_string(),
            version,
            kbs: config.knowledge_bases.clone(),
            published: publication.is_some_and(|p| p.published),
            public_key: publication.map(|p| p.public_key.clone()),
            allowed_origins: publication.map(|p| p.allowed_origins.clone()).unwrap_or_default(),
            config: config_json,
        },
        config_toml: toml.to_string(),
    }
}
