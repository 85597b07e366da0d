//! What an agent remembers: contacts and their memory, product events, leads, handoffs with replies, and
//! the conversation audit.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use throughline_core::{ContactId, HandoffId};

use crate::agents::{audit_json, blocking, handoff_json, lead_json, memory_json, open_agent, proactive_json};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::paging::Page;
use crate::AppState;

fn parse_handoff(id: &str) -> ApiResult<HandoffId> {
    id.parse().map_err(|e: throughline_core::IdParseError| ApiError::invalid("handoff", e.to_string()))
}

fn parse_contact(id: &str) -> ApiResult<ContactId> {
    id.parse().map_err(|e: throughline_core::IdParseError| ApiError::invalid("contact", e.to_string()))
}

/// `GET /v1/agents/{agent}/contacts`
pub async fn contacts(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Value>> {
    let record = state.0.memory.agent(&agent, None)?.ok_or_else(|| ApiError::not_found("agent", &agent))?;
    Ok(ApiJson(page.list("contacts", state.0.memory.contacts(record.id)?, |c| {
        let facts = state.0.memory.facts(c.id)?;
        Ok(json!({"id": c.id.to_string(), "key": c.key, "lifecycle": c.lifecycle.as_str(), "facts": facts.len(), "summary": c.summary, "created_at": c.created_at}))
    })?))
}

/// `GET /v1/agents/{agent}/contacts/{contact}`: the contact's memory (id or key).
pub async fn contact(
    State(state): State<AppState>,
    ApiPath((agent, contact)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<Value>> {
    let st = state.clone();
    let view = blocking(move || {
        let a = open_agent(&st, &agent)?;
        let id = match parse_contact(&contact) {
            Ok(id) => id,
            Err(_) => {
                st.0.memory
                    .contact_by_key(a.id(), &contact)?
                    .ok_or_else(|| ApiError::not_found("contact", &contact))?
                    .id
            }
        };
        Ok(a.memory_view(id)?)
    })
    .await?;
    Ok(ApiJson(memory_json(&view)))
}

/// `DELETE /v1/agents/{agent}/contacts/{contact}`: the contact and everything about it.
pub async fn delete_contact(
    State(state): State<AppState>,
    ApiPath((agent, contact)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = parse_contact(&contact)?;
    let st = state.clone();
    blocking(move || {
        let a = open_agent(&st, &agent)?;
        let record = st.0.memory.contact(a.id(), id)?.ok_or_else(|| ApiError::not_found("contact", &id.to_string()))?;
        a.delete_contact(id)?;
        st.0.access.delete_sessions(&agent, &record.key)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /v1/events`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    agent: String,
    /// Contact key (or id).
    contact: String,
    name: String,
    #[serde(default)]
    properties: serde_json::Map<String, Value>,
}

/// `POST /v1/events`: a product event; answers with the proactive message it causes, if any.
pub async fn event(State(state): State<AppState>, ApiJson(body): ApiJson<EventBody>) -> ApiResult<ApiJson<Value>> {
    let props: Vec<(String, String)> = body
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
        .collect();
    let st = state.clone();
    let out = blocking(move || {
        let a = open_agent(&st, &body.agent)?;
        let contact = a.contact(&body.contact)?;
        a.record_event(contact.id, &body.name, &props).map_err(|e| ApiError { field: Some("name".into()), ..e.into() })
    })
    .await?;
    Ok(ApiJson(json!({ "proactive": out.as_ref().map(proactive_json) })))
}

/// `GET /v1/agents/{agent}/leads`
pub async fn leads(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Value>> {
    let st = state.clone();
    let leads = blocking(move || {
        let opened = open_agent(&st, &agent)?;
        let id = throughline_core::AgentId::from_name(&agent);
        // Each lead with who it is (the contact's key, its email) and its latest conversation, so a
        // human can follow up from the lead.
        page.list("leads", opened.leads()?, |l| {
            let mut v = lead_json(&l);
            let contact = st.0.memory.contact(id, l.contact)?;
            let conversation = st.0.memory.conversations(l.contact)?.last().map(|c| c.id.to_string());
            v["contact_key"] = json!(contact.as_ref().map(|c| c.key.clone()));
            v["lifecycle"] = json!(contact.as_ref().map(|c| c.lifecycle.as_str()));
            v["email"] = json!(l.facts.iter().find(|(k, _)| k == "email").map(|(_, v)| v));
            v["conversation_id"] = json!(conversation);
            Ok(v)
        })
    })
    .await?;
    Ok(ApiJson(leads))
}

/// `GET /v1/agents/{agent}/handoffs`
pub async fn handoffs(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Value>> {
    let st = state.clone();
    let list = blocking(move || {
        let a = open_agent(&st, &agent)?;
        // Each handoff with its conversation as it stands now (the visitor's messages, the agent's
        // answers and the humans' replies), so an anonymous visitor — no facts, no email — can still
        // be followed up from what they asked.
        page.list("handoffs", a.handoffs()?, |h| {
            let mut v = handoff_json(&h);
            let contact = st.0.memory.contact(a.id(), h.contact)?;
            v["contact_key"] = json!(contact.as_ref().map(|c| c.key.clone()));
            v["lifecycle"] = json!(contact.as_ref().map(|c| c.lifecycle.as_str()));
            v["messages"] = json!(st
                .0
                .memory
                .messages(h.conversation)?
                .iter()
                .map(|m| json!({"role": m.role.as_str(), "text": m.text, "created_at": m.created_at}))
                .collect::<Vec<_>>());
            Ok(v)
        })
    })
    .await?;
    Ok(ApiJson(list))
}

/// Body of a handoff reply.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    message: String,
}

/// `POST /v1/agents/{agent}/handoffs/{handoff}/reply`: a human's reply goes into the visitor's conversation.
pub async fn reply(
    State(state): State<AppState>,
    ApiPath((agent, handoff)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<ApiJson<Value>> {
    let agent_name = agent.clone();
    let id = parse_handoff(&handoff)?;
    let st = state.clone();
    let (msg, contact, text) = blocking(move || {
        let a = open_agent(&st, &agent)?;
        let msg = a.reply_to_handoff(id, &body.message)?;
        let h = st.0.memory.handoff(a.id(), id)?.ok_or_else(|| ApiError::not_found("handoff", &id.to_string()))?;
        Ok((msg, h.contact, body.message.trim().to_string()))
    })
    .await?;
    // Live to the visitor's open widget (every open event stream of the contact's sessions).
    let delivered = state.0.live.publish(
        &agent_name,
        contact,
        json!({"type": "reply", "role": "human", "text": text, "message_id": msg, "handoff_id": id.to_string()}),
    );
    Ok(ApiJson(json!({ "message_id": msg, "delivered_live": delivered })))
}

/// Body of a handoff resolution.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    resolution: String,
}

/// `POST /v1/agents/{agent}/handoffs/{handoff}/resolve`: written into the contact's memory; the agent
/// takes the conversation back.
pub async fn resolve(
    State(state): State<AppState>,
    ApiPath((agent, handoff)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<ApiJson<Value>> {
    let id = parse_handoff(&handoff)?;
    let st = state.clone();
    let h = blocking(move || Ok(open_agent(&st, &agent)?.resolve_handoff(id, &body.resolution)?)).await?;
    Ok(ApiJson(handoff_json(&h)))
}

/// `GET /v1/agents/{agent}/audit`
pub async fn audit(State(state): State<AppState>, ApiPath(agent): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    let st = state.clone();
    let v = blocking(move || {
        let a = open_agent(&st, &agent)?;
        Ok(audit_json(&st, &a.audit()?))
    })
    .await?;
    Ok(ApiJson(v))
}
