//! What an agent remembers: contacts and their memory, product events, leads, handoffs with replies, and
//! the conversation audit.

use axum::extract::State;
use axum::http::StatusCode;
use throughline_core::{ContactId, HandoffId};

use crate::agents::{audit_report, blocking, open_agent};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::paging::Page;
use crate::wire::{
    AuditReport, ContactList, ContactSummary, ErrorBody, EventBody, EventOutcome, Handoff, HandoffEntry, HandoffList,
    HandoffMessage, Lead, LeadEntry, LeadList, Memory, Proactive, ReplyBody, ReplySent, ResolveBody, RoleName,
    SessionEvent,
};
use crate::AppState;

fn parse_handoff(id: &str) -> ApiResult<HandoffId> {
    id.parse().map_err(|e: throughline_core::IdParseError| ApiError::invalid("handoff", e.to_string()))
}

fn parse_contact(id: &str) -> ApiResult<ContactId> {
    id.parse().map_err(|e: throughline_core::IdParseError| ApiError::invalid("contact", e.to_string()))
}

/// `GET /v1/agents/{agent}/contacts`
#[utoipa::path(get, path = "/v1/agents/{agent}/contacts", operation_id = "list_contacts", tag = "memory",
    params(("agent" = String, Path, description = "Agent name"), Page), summary = "Contacts of an agent (paged)",
    responses((status = 200, description = "A page of contacts", body = ContactList),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn contacts(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<ContactList>> {
    let st = state.clone();
    blocking(move || {
        let record = st.0.memory.agent(&agent, None)?.ok_or_else(|| ApiError::not_found("agent", &agent))?;
        let p = page.slice(st.0.memory.contacts(record.id)?);
        let mut contacts = Vec::with_capacity(p.items.len());
        for c in p.items {
            contacts.push(ContactSummary {
                id: c.id.to_string(),
                facts: st.0.memory.facts(c.id)?.len(),
                key: c.key,
                lifecycle: c.lifecycle.into(),
                summary: c.summary,
                created_at: c.created_at,
            });
        }
        Ok(ApiJson(ContactList { total: p.total, limit: p.limit, offset: p.offset, contacts }))
    })
    .await
}

/// `GET /v1/agents/{agent}/contacts/{contact}`: the contact's memory (id or key).
#[utoipa::path(get, path = "/v1/agents/{agent}/contacts/{contact}", operation_id = "get_contact", tag = "memory",
    params(("agent" = String, Path, description = "Agent name"), ("contact" = String, Path, description = "Contact id or key")),
    summary = "A contact's memory: lifecycle, facts with their source message, summary, conversations, events, leads, handoffs",
    responses((status = 200, description = "The contact's memory", body = Memory),
        (status = 404, description = "Unknown agent or contact", body = ErrorBody)))]
pub async fn contact(
    State(state): State<AppState>,
    ApiPath((agent, contact)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<Memory>> {
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
    Ok(ApiJson(Memory::from(&view)))
}

/// `DELETE /v1/agents/{agent}/contacts/{contact}`: the contact and everything about it.
#[utoipa::path(delete, path = "/v1/agents/{agent}/contacts/{contact}", operation_id = "delete_contact", tag = "memory",
    params(("agent" = String, Path, description = "Agent name"),
        ("contact" = String, Path, description = "Contact id", pattern = "^[0-9a-f]{16}$")),
    summary = "Delete a contact and everything about it (memory, conversations, visitor sessions)",
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "Unknown agent or contact", body = ErrorBody)))]
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

/// `POST /v1/events`: a product event; answers with the proactive message it causes, if any.
#[utoipa::path(post, path = "/v1/events", operation_id = "record_event", tag = "memory", request_body = EventBody,
    summary = "Record a product event; answers the proactive message it causes (next onboarding step, what the next plan unlocks)",
    responses((status = 200, description = "Recorded", body = EventOutcome),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn event(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EventBody>,
) -> ApiResult<ApiJson<EventOutcome>> {
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
    Ok(ApiJson(EventOutcome { proactive: out.as_ref().map(Proactive::from) }))
}

/// `GET /v1/agents/{agent}/leads`
#[utoipa::path(get, path = "/v1/agents/{agent}/leads", operation_id = "list_leads", tag = "memory",
    params(("agent" = String, Path, description = "Agent name"), Page),
    summary = "Leads (a prospect who gave an email, or every qualification field), newest first (paged)",
    responses((status = 200, description = "A page of leads", body = LeadList),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn leads(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<LeadList>> {
    let st = state.clone();
    let leads = blocking(move || {
        let opened = open_agent(&st, &agent)?;
        let id = throughline_core::AgentId::from_name(&agent);
        // Each lead with who it is (the contact's key, its email) and its latest conversation, so a
        // human can follow up from the lead.
        let p = page.slice(opened.leads()?);
        let mut leads = Vec::with_capacity(p.items.len());
        for l in p.items {
            let contact = st.0.memory.contact(id, l.contact)?;
            leads.push(LeadEntry {
                contact_key: contact.as_ref().map(|c| c.key.clone()),
                lifecycle: contact.as_ref().map(|c| c.lifecycle.into()),
                email: l.facts.iter().find(|(k, _)| k == "email").map(|(_, v)| v.clone()),
                conversation_id: st.0.memory.conversations(l.contact)?.last().map(|c| c.id.to_string()),
                lead: Lead::from(&l),
            });
        }
        Ok(LeadList { total: p.total, limit: p.limit, offset: p.offset, leads })
    })
    .await?;
    Ok(ApiJson(leads))
}

/// `GET /v1/agents/{agent}/handoffs`
#[utoipa::path(get, path = "/v1/agents/{agent}/handoffs", operation_id = "list_handoffs", tag = "memory",
    params(("agent" = String, Path, description = "Agent name"), Page),
    summary = "Handoffs to a human with transcript, summary, facts, reason and the conversation as it stands (paged)",
    responses((status = 200, description = "A page of handoffs", body = HandoffList),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn handoffs(
    State(state): State<AppState>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<HandoffList>> {
    let st = state.clone();
    let list = blocking(move || {
        let a = open_agent(&st, &agent)?;
        // Each handoff with its conversation as it stands now (the visitor's messages, the agent's
        // answers and the humans' replies), so an anonymous visitor — no facts, no email — can still
        // be followed up from what they asked.
        let p = page.slice(a.handoffs()?);
        let mut handoffs = Vec::with_capacity(p.items.len());
        for h in p.items {
            let contact = st.0.memory.contact(a.id(), h.contact)?;
            let messages = st.0.memory.messages(h.conversation)?;
            handoffs.push(HandoffEntry {
                contact_key: contact.as_ref().map(|c| c.key.clone()),
                lifecycle: contact.as_ref().map(|c| c.lifecycle.into()),
                messages: messages
                    .into_iter()
                    .map(|m| HandoffMessage { role: m.role.into(), text: m.text, created_at: m.created_at })
                    .collect(),
                handoff: Handoff::from(&h),
            });
        }
        Ok(HandoffList { total: p.total, limit: p.limit, offset: p.offset, handoffs })
    })
    .await?;
    Ok(ApiJson(list))
}

/// `POST /v1/agents/{agent}/handoffs/{handoff}/reply`: a human's reply goes into the visitor's conversation.
#[utoipa::path(post, path = "/v1/agents/{agent}/handoffs/{handoff}/reply", operation_id = "reply_to_handoff", tag = "memory",
    params(("agent" = String, Path, description = "Agent name"),
        ("handoff" = String, Path, description = "Handoff id", pattern = "^[0-9a-f]{16}$")),
    request_body = ReplyBody,
    summary = "A human's reply, added to the visitor's conversation and pushed live to its open widget",
    responses((status = 200, description = "Sent", body = ReplySent),
        (status = 404, description = "Unknown agent or handoff", body = ErrorBody)))]
pub async fn reply(
    State(state): State<AppState>,
    ApiPath((agent, handoff)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<ApiJson<ReplySent>> {
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
    let delivered = crate::replicas::publish(
        &state,
        &agent_name,
        contact,
        SessionEvent::Reply { role: RoleName::Human, text, message_id: msg, handoff_id: id.to_string() },
    );
    Ok(ApiJson(ReplySent { message_id: msg, delivered_live: delivered }))
}

/// `POST /v1/agents/{agent}/handoffs/{handoff}/resolve`: written into the contact's memory; the agent
/// takes the conversation back.
#[utoipa::path(post, path = "/v1/agents/{agent}/handoffs/{handoff}/resolve", operation_id = "resolve_handoff", tag = "memory",
    params(("agent" = String, Path, description = "Agent name"),
        ("handoff" = String, Path, description = "Handoff id", pattern = "^[0-9a-f]{16}$")),
    request_body = ResolveBody,
    summary = "Resolve a handoff: the resolution is written into the contact's memory and the agent takes over again",
    responses((status = 200, description = "The resolved handoff", body = Handoff),
        (status = 404, description = "Unknown agent or handoff", body = ErrorBody)))]
pub async fn resolve(
    State(state): State<AppState>,
    ApiPath((agent, handoff)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<ApiJson<Handoff>> {
    let id = parse_handoff(&handoff)?;
    let st = state.clone();
    let h = blocking(move || Ok(open_agent(&st, &agent)?.resolve_handoff(id, &body.resolution)?)).await?;
    Ok(ApiJson(Handoff::from(&h)))
}

/// `GET /v1/agents/{agent}/audit`
#[utoipa::path(get, path = "/v1/agents/{agent}/audit", operation_id = "get_audit", tag = "audit",
    params(("agent" = String, Path, description = "Agent name")),
    summary = "The conversation audit: per stage conversations, handoff and I-don't-know rates, response times; the leaking stage; knowledge gaps",
    responses((status = 200, description = "The audit", body = AuditReport),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn audit(State(state): State<AppState>, ApiPath(agent): ApiPath<String>) -> ApiResult<ApiJson<AuditReport>> {
    let st = state.clone();
    let v = blocking(move || {
        let a = open_agent(&st, &agent)?;
        Ok(audit_report(&st, &a.audit()?))
    })
    .await?;
    Ok(ApiJson(v))
}
