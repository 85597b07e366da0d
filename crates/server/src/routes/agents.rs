//! Agents: configuration (versioned), publication, visitor sessions, chat (JSON or streamed by SSE),
//! contacts and memory, events, leads, handoffs and the audit.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use throughline_agent::{Agent, AgentConfig};
use throughline_core::{ContactId, HandoffId, Lifecycle, Publication};

use crate::agents::{
    agent_json, audit_json, blocking, handoff_json, lead_json, memory_json, message_citations_json, open_agent,
    proactive_json, turn_json,
};
use crate::answering::Step;
use crate::auth::{is_admin, random_token};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::paging::Page;
use crate::routes::jobs::async_stream;
use crate::AppState;

/// Header carrying a published agent's public key.
pub const KEY_HEADER: &str = "x-throughline-key";
/// Header carrying a visitor session token.
pub const SESSION_HEADER: &str = "x-throughline-session";

fn describe(state: &AppState, name: &str, version: Option<u32>) -> ApiResult<Value> {
    let (record, config) = Agent::load_config(state.0.memory.as_ref(), name, version)?;
    let publication = state.0.access.publication(name)?;
    Ok(agent_json(&record.name, record.version, &config, &record.config, publication.as_ref()))
}

/// `GET /v1/agents?limit=&offset=`
pub async fn list(State(state): State<AppState>, ApiQuery(page): ApiQuery<Page>) -> ApiResult<ApiJson<Value>> {
    Ok(ApiJson(page.list("agents", state.0.memory.agents()?, |a| {
        let mut v = describe(&state, &a.name, None)?;
        v.as_object_mut().map(|o| o.remove("config_toml"));
        Ok(v)
    })?))
}

/// Body of agent creation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    name: String,
    kb: Option<String>,
    config_toml: Option<String>,
}

/// `POST /v1/agents`: defaults derived from the knowledge base, or a given TOML configuration.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateAgent>,
) -> ApiResult<impl IntoResponse> {
    if state.0.memory.agent(&body.name, None)?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!("agent `{}` already exists", body.name),
        ));
    }
    let st = state.clone();
    let v = blocking(move || {
        let config = match (&body.config_toml, &body.kb) {
            (Some(t), _) => AgentConfig::from_toml(t, "config_toml")
                .map_err(|e| ApiError { field: Some("config_toml".into()), ..e.into() })?,
            (None, Some(kb)) => AgentConfig::derive(st.kb(kb)?.as_ref())?,
            (None, None) => {
                return Err(ApiError::invalid("kb", "give `kb` (defaults are derived from it) or `config_toml`"))
            }
        };
        Agent::save(st.0.memory.as_ref(), &body.name, &config)
            .map_err(|e| ApiError { field: Some("name".into()), ..e.into() })?;
        describe(&st, &body.name, None)
    })
    .await?;
    if let Some(name) = v["name"].as_str() {
        crate::answering::warm(&state, name);
    }
    Ok((StatusCode::CREATED, ApiJson(v)))
}

/// `GET /v1/agents/{agent}`
pub async fn get(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    Ok(ApiJson(describe(&state, &name, None)?))
}

/// Body of an agent update.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    config_toml: Option<String>,
    config: Option<Value>,
    /// The version the edit started from: when another save (another tab, a plan edit) made a newer
    /// one, the update is refused with 409 instead of silently reverting that save.
    #[serde(default)]
    base_version: Option<u32>,
}

/// `PUT /v1/agents/{agent}`: saves a new version.
pub async fn update(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAgent>,
) -> ApiResult<ApiJson<Value>> {
    let latest = state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    if let Some(base) = body.base_version.filter(|b| *b != latest.version) {
        return Err(ApiError {
            field: Some("base_version".into()),
            ..ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "version_conflict",
                format!(
                    "agent `{name}` is at version {}, not {base}: another save (another tab, or a plan edit) came first; reload to see it",
                    latest.version
                ),
            )
        });
    }
    let (text, field) = match (body.config_toml, body.config) {
        (Some(t), None) => (t, "config_toml"),
        (None, Some(v)) => {
            let t = toml::to_string(&v)
                .map_err(|e| ApiError::invalid("config", format!("cannot be written as TOML: {e}")))?;
            (t, "config")
        }
        _ => return Err(ApiError::invalid("config_toml", "give exactly one of `config_toml` or `config`")),
    };
    let config =
        AgentConfig::from_toml(&text, field).map_err(|e| ApiError { field: Some(field.into()), ..e.into() })?;
    for kb in &config.knowledge_bases {
        if state.0.store.kb(kb)?.is_none() {
            return Err(ApiError::invalid("knowledge_bases", format!("knowledge base `{kb}` does not exist")));
        }
    }
    Agent::save(state.0.memory.as_ref(), &name, &config)
        .map_err(|e| ApiError { field: Some(field.into()), ..e.into() })?;
    crate::answering::warm(&state, &name);
    Ok(ApiJson(describe(&state, &name, None)?))
}

/// `DELETE /v1/agents/{agent}`: deletes every version of the agent, unpublishes it (its public key and
/// visitor sessions stop working) and deletes its contacts with their memory. 404 for an unknown agent.
pub async fn delete(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    let st = state.clone();
    let n = name.clone();
    let (was_published, contacts) = blocking(move || {
        let contacts = st.0.memory.contacts(throughline_core::AgentId::from_name(&n))?.len();
        // Unpublish first: once the agent is gone, nothing may answer on its key.
        let was_published = st.0.access.delete_publication(&n)?;
        st.0.memory.delete_agent(&n)?;
        st.0.agents.write().unwrap_or_else(|p| p.into_inner()).remove(&n);
        crate::widget::forget(st.0.jobs.as_ref(), &n)?;
        Ok((was_published, contacts))
    })
    .await?;
    Ok(ApiJson(json!({"deleted": name, "was_published": was_published, "contacts_deleted": contacts})))
}

/// `GET /v1/agents/{agent}/versions`
pub async fn versions(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    let latest = state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    let mut out = Vec::new();
    for v in (1..=latest.version).rev() {
        if let Some(r) = state.0.memory.agent(&name, Some(v))? {
            out.push(json!({"version": r.version, "created_at": r.created_at}));
        }
    }
    Ok(ApiJson(json!({ "versions": out })))
}

/// `GET /v1/agents/{agent}/versions/{version}`
pub async fn version(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, u32)>,
) -> ApiResult<ApiJson<Value>> {
    let r = state
        .0
        .memory
        .agent(&name, Some(version))?
        .ok_or_else(|| ApiError::not_found("agent version", &format!("{name}@{version}")))?;
    Ok(ApiJson(json!({"version": r.version, "created_at": r.created_at, "config_toml": r.config})))
}

/// Body of publication.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    #[serde(default)]
    allowed_origins: Vec<String>,
}

fn check_origin(o: &str) -> ApiResult<String> {
    let u =
        url::Url::parse(o).map_err(|e| ApiError::invalid("allowed_origins", format!("`{o}` is not an origin: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() || u.path() != "/" || u.query().is_some() {
        return Err(ApiError::invalid("allowed_origins", format!("`{o}` must be an origin like https://example.com")));
    }
    Ok(u.origin().ascii_serialization())
}

/// Publishes (or re-publishes with new origins) an agent; the public key is kept across publications.
pub fn publish_agent(state: &AppState, name: &str, origins: &[String]) -> ApiResult<Publication> {
    state.0.memory.agent(name, None)?.ok_or_else(|| ApiError::not_found("agent", name))?;
    let origins = origins.iter().map(|o| check_origin(o)).collect::<ApiResult<Vec<_>>>()?;
    let key = match state.0.access.publication(name)? {
        Some(p) => p.public_key,
        None => random_token("pk_")?,
    };
    let p = Publication {
        agent: name.to_string(),
        public_key: key,
        allowed_origins: origins,
        published: true,
        updated_at: 0,
    };
    state.0.access.save_publication(&p)?;
    Ok(p)
}

/// `POST /v1/agents/{agent}/publish`
pub async fn publish(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    raw: axum::body::Bytes,
) -> ApiResult<ApiJson<Value>> {
    let body: Publish =
        if raw.iter().all(u8::is_ascii_whitespace) { Publish::default() } else { crate::error::parse_json(&raw)? };
    let p = publish_agent(&state, &name, &body.allowed_origins)?;
    Ok(ApiJson(json!({"published": true, "public_key": p.public_key, "allowed_origins": p.allowed_origins})))
}

/// `GET /v1/agents/{agent}/widget`: the widget settings set on the Publish screen.
pub async fn widget_settings(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<Value>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    Ok(ApiJson(json!(crate::widget::load(state.0.jobs.as_ref(), &name)?)))
}

/// `PUT /v1/agents/{agent}/widget`: saves the widget settings (greeting, suggestions, color,
/// position, avatar_url, launcher_text, title); errors name the field.
pub async fn put_widget_settings(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<crate::widget::WidgetSettings>,
) -> ApiResult<ApiJson<Value>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    Ok(ApiJson(json!(crate::widget::save(state.0.jobs.as_ref(), &name, body)?)))
}

/// Query of the public widget configuration.
#[derive(Deserialize, Default)]
pub struct WidgetQuery {
    /// The agent's public key (also accepted in `X-Throughline-Key`): in the query, the request needs
    /// no CORS preflight, so a page on a wrong origin still reads why it is refused.
    key: Option<String>,
}

/// `GET /v1/agents/{agent}/widget-config?key=pk_…`: what the widget shows before the first message
/// (its settings), for a page of an allowed origin. Refusals carry CORS headers for the asking origin
/// so the widget can show their reason (`origin_not_allowed` names the origin) instead of a bare
/// network error.
pub async fn widget_config(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    mut headers: HeaderMap,
    ApiPath(agent): ApiPath<String>,
    axum::extract::Query(q): axum::extract::Query<WidgetQuery>,
) -> Response {
    let origin = headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(k) = q.key.as_deref().and_then(|k| axum::http::HeaderValue::from_str(k).ok()) {
        if !headers.contains_key(KEY_HEADER) {
            headers.insert(KEY_HEADER, k);
        }
    }
    let result = (|| -> ApiResult<Response> {
        let who = caller(&state, &headers, &addr, &agent).map_err(|e| {
            if e.code == "origin_not_allowed" {
                ApiError {
                    message: format!(
                        "{}: add it to the agent's allowed origins on the Publish screen (or POST /v1/agents/{agent}/publish)",
                        e.message
                    ),
                    ..e
                }
            } else {
                e
            }
        })?;
        state.0.memory.agent(&agent, None)?.ok_or_else(|| ApiError::not_found("agent", &agent))?;
        let settings = crate::widget::load(state.0.jobs.as_ref(), &agent)?;
        Ok(with_cors(ApiJson(json!({"agent": agent, "widget": settings})).into_response(), &who))
    })();
    match result {
        Ok(r) => r,
        Err(e) => with_cors(e.into_response(), &Caller::Visitor { origin }),
    }
}

/// `GET /v1/agents/{agent}/identity`: the agent's identity secret (created on first use), with which the
/// host site's backend signs its signed-in users for the widget.
pub async fn identity(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    identity_json(&state, &name, false)
}

/// `POST /v1/agents/{agent}/identity/rotate`: a new identity secret; signatures made with the old one
/// stop working.
pub async fn rotate_identity(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<Value>> {
    identity_json(&state, &name, true)
}

fn identity_json(state: &AppState, name: &str, rotate: bool) -> ApiResult<ApiJson<Value>> {
    state.0.memory.agent(name, None)?.ok_or_else(|| ApiError::not_found("agent", name))?;
    let secret = crate::identity::secret(state.0.jobs.as_ref(), name, rotate)?;
    Ok(ApiJson(json!({
        "agent": name,
        "secret": secret,
        "algorithm": "HMAC-SHA256, hex",
        "signs": "user_id, or email when there is no user_id",
    })))
}

/// `POST /v1/agents/{agent}/unpublish`
pub async fn unpublish(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    if state.0.memory.agent(&name, None)?.is_none() {
        return Err(ApiError::not_found("agent", &name));
    }
    let Some(p) = state.0.access.publication(&name)? else {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_published", format!("agent `{name}` is not published")));
    };
    state.0.access.save_publication(&Publication { published: false, ..p })?;
    Ok(ApiJson(json!({"published": false})))
}

/// Who is calling a chat route.
enum Caller {
    Admin,
    Visitor { origin: Option<String> },
}

/// Checks the admin token, or a published agent's key (and the page's origin); rate-limits visitors.
fn caller(state: &AppState, headers: &HeaderMap, addr: &SocketAddr, agent: &str) -> ApiResult<Caller> {
    if is_admin(state, headers) {
        return Ok(Caller::Admin);
    }
    state.0.limiter.check(&format!("public:{}", addr.ip()))?;
    let key =
        headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()).or_else(|| crate::auth::bearer(headers)).ok_or_else(
            || ApiError::unauthorized("send the agent's public key in `X-Throughline-Key` (or the admin token)"),
        )?;
    let p =
        state.0.access.publication_by_key(key)?.filter(|p| p.published && p.agent == agent).ok_or_else(|| {
            ApiError::unauthorized(format!("this key does not open the public chat of agent `{agent}`"))
        })?;
    let origin = headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(o) = &origin {
        if !p.allowed_origins.iter().any(|a| a == o) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                format!("origin `{o}` is not allowed for agent `{agent}`"),
            ));
        }
    }
    Ok(Caller::Visitor { origin })
}

fn session_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

fn with_cors(mut response: Response, caller: &Caller) -> Response {
    if let Caller::Visitor { origin: Some(o) } = caller {
        if let Ok(v) = o.parse() {
            response.headers_mut().insert("access-control-allow-origin", v);
            response.headers_mut().insert("vary", axum::http::HeaderValue::from_static("Origin"));
            // The widget reads a refusal's Retry-After to say when it retries.
            response
                .headers_mut()
                .insert("access-control-expose-headers", axum::http::HeaderValue::from_static("Retry-After"));
        }
    }
    response
}

/// `OPTIONS` on the public routes: CORS preflight, answered for the origins the agent allows.
pub async fn preflight(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<Vec<(String, String)>>,
) -> Response {
    let agent = path.iter().find(|(k, _)| k == "agent").map(|(_, v)| v.clone()).unwrap_or_default();
    let origin = headers.get("origin").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let allowed = state
        .0
        .access
        .publication(&agent)
        .ok()
        .flatten()
        .is_some_and(|p| p.published && p.allowed_origins.contains(&origin));
    if !allowed {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            format!("origin `{origin}` is not allowed for agent `{agent}`"),
        )
        .into_response();
    }
    (
        StatusCode::NO_CONTENT,
        [
            ("access-control-allow-origin", origin),
            ("access-control-allow-methods", "GET, POST, OPTIONS".to_string()),
            (
                "access-control-allow-headers",
                "content-type, x-throughline-key, x-throughline-session, accept".to_string(),
            ),
            ("access-control-max-age", "600".to_string()),
            ("vary", "Origin".to_string()),
        ],
    )
        .into_response()
}

/// Body of a session request.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// Admin only: chat as this contact key (a test contact in the playground, an email…).
    contact: Option<String>,
    /// Admin only: the lifecycle (`prospect`, `onboarding`, `customer`) of the contact while it is
    /// still at the default — a new contact, or one no product event has moved yet — so the
    /// playground's "Customer" and "Onboarding user" behave as such from the first message.
    lifecycle: Option<String>,
    /// The signed-in user's id on the host site, signed in `user_hash` (see [`crate::identity`]).
    user_id: Option<String>,
    /// The signed-in user's email: signed in `user_hash` when there is no `user_id`.
    email: Option<String>,
    /// Hex HMAC-SHA256 of `user_id` (or of `email` without one) under the agent's identity secret.
    user_hash: Option<String>,
}

/// The contact key of a verified identity in a session request, if it carries one.
fn verified_identity(state: &AppState, agent: &str, body: &NewSession) -> ApiResult<Option<String>> {
    // The signed value, the field it came from, and the contact key it opens.
    let (field, value, key) = match (&body.user_id, &body.email) {
        (Some(id), _) => ("user_id", id.trim(), format!("user:{}", id.trim())),
        (None, Some(email)) => ("email", email.trim(), email.trim().to_lowercase()),
        (None, None) if body.user_hash.is_some() => {
            return Err(ApiError::invalid("user_hash", "signs `user_id` (or `email`): send the one it signs"))
        }
        (None, None) => return Ok(None),
    };
    if value.is_empty() || value.chars().count() > 254 {
        return Err(ApiError::invalid(field, "must be 1 to 254 characters"));
    }
    let Some(hash) = body.user_hash.as_deref() else {
        return Err(ApiError::invalid(
            "user_hash",
            "an identity must be signed by the host site: user_hash = hex HMAC-SHA256 of user_id (or email) \
             under the agent's identity secret (GET /v1/agents/{agent}/identity); a claimed email is only a fact",
        ));
    };
    let secret = crate::identity::secret(state.0.jobs.as_ref(), agent, false)?;
    if !crate::identity::verify(&secret, value, hash) {
        return Err(ApiError::unauthorized(
            "user_hash does not sign this user_id (or email) with the agent's identity secret",
        ));
    }
    Ok(Some(key))
}

/// `POST /v1/agents/{agent}/sessions`: the server mints a visitor session (a random token the visitor
/// keeps); the admin may name the contact.
pub async fn create_session(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath(agent): ApiPath<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let who = caller(&state, &headers, &addr, &agent)?;
    state.0.memory.agent(&agent, None)?.ok_or_else(|| ApiError::not_found("agent", &agent))?;
    let body: NewSession =
        if raw.iter().all(u8::is_ascii_whitespace) { NewSession::default() } else { crate::error::parse_json(&raw)? };
    let identity = verified_identity(&state, &agent, &body)?;
    let lifecycle = match (&who, body.lifecycle.as_deref()) {
        (_, None) => None,
        (Caller::Visitor { .. }, Some(_)) => {
            return Err(ApiError::invalid("lifecycle", "only the admin may choose the contact's lifecycle"))
        }
        (Caller::Admin, Some(l)) => Some(Lifecycle::parse(l).ok_or_else(|| {
            ApiError::invalid("lifecycle", format!("`{l}` is not a lifecycle: prospect, onboarding or customer"))
        })?),
    };
    let key = match (&who, body.contact, identity) {
        (Caller::Admin, Some(c), _) => c,
        (Caller::Visitor { .. }, Some(_), _) => {
            return Err(ApiError::invalid("contact", "only the admin may choose the contact"))
        }
        (_, None, Some(k)) => k,
        (_, None, None) => format!("visitor-{}", &random_token("")?[..20]),
    };
    let token = random_token("ses_")?;
    state.0.access.create_session(&session_hash(&token), &agent, &key)?;
    let st = state.clone();
    let (a, k) = (agent.clone(), key.clone());
    let contact = blocking(move || {
        let mut contact = open_agent(&st, &a)?.contact(&k)?;
        if let Some(l) = lifecycle {
            let untouched = contact.lifecycle == Lifecycle::Prospect && st.0.memory.events(contact.id)?.is_empty();
            if untouched && l != contact.lifecycle {
                contact.lifecycle = l;
                st.0.memory.update_contact(&contact)?;
            }
        }
        Ok(contact)
    })
    .await?;
    Ok(with_cors(
        (
            StatusCode::CREATED,
            ApiJson(json!({
                "session": token, "contact_id": contact.id.to_string(), "contact_key": key,
                "lifecycle": contact.lifecycle.as_str(),
            })),
        )
            .into_response(),
        &who,
    ))
}

/// The contact key of a session token, which must belong to `agent`.
fn session_contact(state: &AppState, agent: &str, token: &str) -> ApiResult<String> {
    let s = state
        .0
        .access
        .session(&session_hash(token))?
        .filter(|s| s.agent == agent)
        .ok_or_else(|| ApiError::unauthorized("unknown session: get one from POST /v1/agents/{agent}/sessions"))?;
    Ok(s.contact_key)
}

/// Body of a chat message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    /// The customer's message.
    message: String,
    /// The visitor session (or header `X-Throughline-Session`).
    session: Option<String>,
    /// Admin only: the contact key to answer as (instead of a session).
    contact: Option<String>,
    /// Start a new conversation instead of continuing the last one.
    #[serde(default)]
    new_conversation: bool,
    /// Stream by Server-Sent Events (also with `Accept: text/event-stream`).
    #[serde(default)]
    stream: bool,
}

/// `POST /v1/agents/{agent}/chat`
pub async fn chat(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath(agent): ApiPath<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let who = caller(&state, &headers, &addr, &agent)?;
    let body: ChatBody = crate::error::parse_json(&raw)?;
    let session =
        body.session.clone().or_else(|| headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string));
    let key = match (&who, &body.contact, &session) {
        (Caller::Admin, Some(c), _) => c.clone(),
        (Caller::Visitor { .. }, Some(_), _) => {
            return Err(ApiError::invalid("contact", "only the admin may choose the contact"))
        }
        (_, None, Some(s)) => session_contact(&state, &agent, s)?,
        (_, None, None) => {
            return Err(ApiError::unauthorized("send the session (`session` or `X-Throughline-Session`)"))
        }
    };
    if body.message.trim().is_empty() {
        return Err(ApiError::invalid("message", "the message is empty"));
    }
    let admin = matches!(who, Caller::Admin);
    let agent_name = agent.clone();
    let stream = body.stream
        || headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/event-stream"));
    let st = state.clone();
    let prepare = move || -> ApiResult<(std::sync::Arc<Agent>, ContactId, throughline_core::ConversationId)> {
        let a = open_agent(&st, &agent)?;
        let contact = a.contact(&key)?;
        let conv = match st.0.memory.conversations(contact.id)?.into_iter().max_by_key(|c| c.started_at) {
            Some(c) if !body.new_conversation => c.id,
            _ => a.start_conversation(contact.id)?.id,
        };
        Ok((a, contact.id, conv))
    };
    let message = body.message.clone();
    // Admission after the cheap checks: a refusal is 503 with Retry-After, readable by the widget.
    let ticket = match state.admission().admit(&agent_name).await {
        Ok(t) => t,
        Err(e) => return Ok(with_cors(e.into_response(), &who)),
    };
    let mut steps = crate::answering::spawn_turn(&state, ticket, move |emit, left| {
        let (a, contact, conv) = prepare()?;
        Ok(a.respond_until(contact, conv, &message, emit, left)?)
    });
    if !stream {
        loop {
            match steps.recv().await {
                Some(Step::Delta(_)) => continue,
                Some(Step::Done(turn)) => {
                    return Ok(with_cors(ApiJson(turn_json(&turn?, admin)).into_response(), &who));
                }
                Some(Step::Stopping) | None => {
                    return Ok(with_cors(stopping_error().into_response(), &who));
                }
            }
        }
    }
    let sse = Sse::new(async_stream(move |tx| async move {
        // Every stream ends with `done`, after `turn`, `error` or `server_stopping`.
        loop {
            let event = match steps.recv().await {
                Some(Step::Delta(d)) => {
                    if tx.send(Event::default().event("delta").data(json!({"text": d}).to_string())).await.is_err() {
                        return;
                    }
                    continue;
                }
                Some(Step::Done(Ok(turn))) => Event::default().event("turn").data(turn_json(&turn, admin).to_string()),
                Some(Step::Done(Err(e))) => {
                    Event::default().event("error").data(json!({"code": e.code, "message": e.message}).to_string())
                }
                Some(Step::Stopping) | None => {
                    let e = stopping_error();
                    Event::default()
                        .event("server_stopping")
                        .data(json!({"type": "server_stopping", "message": e.message}).to_string())
                }
            };
            let _ = tx.send(event).await;
            break;
        }
        let _ = tx.send(Event::default().event("done").data("{}")).await;
    }))
    .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(with_cors(sse.into_response(), &who))
}

/// The refusal of a chat that shutdown cut short (its turn is kept if it finishes).
pub(crate) fn stopping_error() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_stopping",
        "the server is restarting; ask again in a few seconds",
    )
    .retry_after(5)
}

/// `GET /v1/agents/{agent}/sessions/{session}/messages`: the visitor's conversation history.
pub async fn session_messages(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath((agent, session)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let who = caller(&state, &headers, &addr, &agent)?;
    let key = session_contact(&state, &agent, &session)?;
    let st = state.clone();
    let view = blocking(move || {
        let a = open_agent(&st, &agent)?;
        let c = a.contact(&key)?;
        Ok(a.memory_view(c.id)?)
    })
    .await?;
    let messages: Vec<Value> = view
        .conversations
        .iter()
        .flat_map(|(_, msgs)| msgs.iter())
        .map(|m| {
            json!({
                "role": m.role.as_str(), "text": m.text, "stage": m.stage.map(|s| s.as_str()),
                "citations": message_citations_json(&m.citations), "created_at": m.created_at,
            })
        })
        .collect();
    Ok(with_cors(ApiJson(json!({ "messages": messages })).into_response(), &who))
}

/// `GET /v1/agents/{agent}/sessions/{session}/events`: the session's live events as Server-Sent Events
/// (authenticated like the session's other public routes: the public key from an allowed origin, or the
/// admin token). First `ready`, then a `reply` for every message a human sends from the handoff screen
/// into the visitor's conversation, and `server_stopping` when the server shuts down.
pub async fn session_events(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath((agent, session)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let who = caller(&state, &headers, &addr, &agent)?;
    let key = session_contact(&state, &agent, &session)?;
    let st = state.clone();
    let a = agent.clone();
    let contact = blocking(move || Ok(open_agent(&st, &a)?.contact(&key)?.id)).await?;
    // Subscribed before the response starts, so no reply sent after this request is missed.
    let mut rx = state.0.live.subscribe(&agent, contact);
    let mut shutdown = state.shutdown_signal();
    let stream = async_stream(move |tx| async move {
        let ready = json!({"type": "ready", "contact_id": contact.to_string()});
        if tx.send(Event::default().event("ready").data(ready.to_string())).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(v) => {
                        let name = v["type"].as_str().unwrap_or("message").to_string();
                        if tx.send(Event::default().event(name).data(v.to_string())).await.is_err() { return; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        let v = json!({"type": "lagged", "missed": n});
                        if tx.send(Event::default().event("lagged").data(v.to_string())).await.is_err() { return; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = shutdown.changed() => {
                    let v = json!({"type": "server_stopping"});
                    let _ = tx.send(Event::default().event("server_stopping").data(v.to_string())).await;
                    return;
                }
            }
        }
    });
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(with_cors(sse.into_response(), &who))
}

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
