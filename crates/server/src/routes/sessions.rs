//! The public side of an agent: who is calling (admin token, or public key from an allowed origin),
//! CORS, visitor sessions, chat (JSON or streamed by SSE), a session's history and live events, and the
//! widget's configuration.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use throughline_agent::Agent;
use throughline_core::{ContactId, Lifecycle};

use crate::agents::{blocking, open_agent};
use crate::answering::Step;
use crate::auth::{is_admin, random_token};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::routes::jobs::async_stream;
use crate::wire::memory::message_citations;
use crate::wire::{
    ChatBody, ErrorBody, NewSession, NewSessionBody, SessionCreated, SessionEvent, SessionMessage, SessionMessages,
    StreamEvent, Turn, WidgetConfig,
};
use crate::AppState;

use crate::routes::agents::{KEY_HEADER, SESSION_HEADER};

/// Query of the public widget configuration.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WidgetQuery {
    /// The agent's public key (also accepted in `X-Throughline-Key`): in the query, the request needs
    /// no CORS preflight, so a page on a wrong origin still reads why it is refused.
    key: Option<String>,
}

/// `GET /v1/agents/{agent}/widget-config?key=pk_…`: what the widget shows before the first message
/// (its settings), for a page of an allowed origin. Refusals carry CORS headers for the asking origin
/// so the widget can show their reason (`origin_not_allowed` names the origin) instead of a bare
/// network error.
#[utoipa::path(get, path = "/v1/agents/{agent}/widget-config", operation_id = "get_widget_config", tag = "chat",
    params(("agent" = String, Path, description = "Agent name"), WidgetQuery),
    summary = "What the widget shows before the first message, for a page of an allowed origin (public key in `?key=` or X-Throughline-Key); refusals carry CORS headers so the widget can show why",
    responses((status = 200, description = "The widget's settings", body = WidgetConfig),
        (status = 401, description = "No key, or a key that does not open this agent", body = ErrorBody),
        (status = 403, description = "The page's origin is not allowed (`origin_not_allowed` names it)", body = ErrorBody),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
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
        Ok(with_cors(ApiJson(WidgetConfig { agent: agent.clone(), widget: settings }).into_response(), &who))
    })();
    match result {
        Ok(r) => r,
        Err(e) => with_cors(e.into_response(), &Caller::Visitor { origin }),
    }
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
            return Err(ApiError::of(
                crate::error::ErrorCode::OriginNotAllowed,
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
        return ApiError::of(
            crate::error::ErrorCode::OriginNotAllowed,
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
#[utoipa::path(post, path = "/v1/agents/{agent}/sessions", operation_id = "create_session", tag = "chat",
    params(("agent" = String, Path, description = "Agent name")),
    request_body(content = Option<NewSessionBody>, description = "Optional: a verified identity signed by the host site ({user_id | email, user_hash}) makes it a customer whose memory it continues; the admin may name the contact and its lifecycle"),
    summary = "Mint a visitor session (public key in X-Throughline-Key from an allowed origin, or the admin token)",
    responses((status = 201, description = "The session", body = SessionCreated),
        (status = 401, description = "No key, a wrong key, or a user_hash that does not sign the identity", body = ErrorBody),
        (status = 403, description = "The page's origin is not allowed", body = ErrorBody),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn create_session(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath(agent): ApiPath<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let who = caller(&state, &headers, &addr, &agent)?;
    state.0.memory.agent(&agent, None)?.ok_or_else(|| ApiError::not_found("agent", &agent))?;
    // No body, or `null`, is a session with nothing asked.
    let body: NewSession = if raw.iter().all(u8::is_ascii_whitespace) {
        NewSession::default()
    } else {
        crate::error::parse_json::<Option<NewSession>>(&raw)?.unwrap_or_default()
    };
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
            ApiJson(SessionCreated {
                session: token,
                contact_id: contact.id.to_string(),
                contact_key: key,
                lifecycle: contact.lifecycle.into(),
            }),
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

/// `POST /v1/agents/{agent}/chat`
#[utoipa::path(post, path = "/v1/agents/{agent}/chat", operation_id = "chat", tag = "chat",
    params(("agent" = String, Path, description = "Agent name")), request_body = ChatBody,
    summary = "Ask the agent: the JSON turn, or with `stream` Server-Sent Events `delta` {text}, then `turn` (the turn), `error` {code, message} or `server_stopping`, then `done`",
    responses((status = 200, description = "The turn (its trace for the admin only), or the event stream",
            content((Turn = "application/json"), (StreamEvent = "text/event-stream"))),
        (status = 401, description = "No key or session, or a wrong one", body = ErrorBody),
        (status = 403, description = "The page's origin is not allowed", body = ErrorBody),
        (status = 404, description = "Unknown agent", body = ErrorBody),
        (status = 503, description = "Too many chats waiting, or the server is restarting (Retry-After)", body = ErrorBody)))]
pub async fn chat(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiPath(agent): ApiPath<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    // The key, origin and session checks read SQLite: on the blocking pool, so a crowd of visitors never
    // holds the async workers that answer /health and accept connections.
    let (who, body, key) = {
        let (st, headers, agent) = (state.clone(), headers.clone(), agent.clone());
        blocking(move || -> ApiResult<(Caller, ChatBody, String)> {
            let who = caller(&st, &headers, &addr, &agent)?;
            let body: ChatBody = crate::error::parse_json(&raw)?;
            let session = body
                .session
                .clone()
                .or_else(|| headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string));
            let key = match (&who, &body.contact, &session) {
                (Caller::Admin, Some(c), _) => c.clone(),
                (Caller::Visitor { .. }, Some(_), _) => {
                    return Err(ApiError::invalid("contact", "only the admin may choose the contact"))
                }
                (_, None, Some(s)) => session_contact(&st, &agent, s)?,
                (_, None, None) => {
                    return Err(ApiError::unauthorized("send the session (`session` or `X-Throughline-Session`)"))
                }
            };
            Ok((who, body, key))
        })
        .await?
    };
    if body.message.trim().is_empty() {
        return Err(ApiError::invalid("message", "the message is empty"));
    }
    // Checked before any answering starts, so a streamed chat refuses it with 400 too (not an `error`
    // event after 200).
    throughline_agent::contact_key(&key).map_err(|e| match e {
        throughline_agent::AgentError::BadMessage { reason } => ApiError::invalid("contact", reason),
        other => ApiError::from(other),
    })?;
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
                    return Ok(with_cors(ApiJson(Turn::new(&turn?, admin)).into_response(), &who));
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
                Some(Step::Done(Ok(turn))) => Event::default()
                    .event("turn")
                    .data(serde_json::to_string(&Turn::new(&turn, admin)).unwrap_or_default()),
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
    ApiError::of(crate::error::ErrorCode::ServerStopping, "the server is restarting; ask again in a few seconds")
        .retry_after(5)
}

/// `GET /v1/agents/{agent}/sessions/{session}/messages`: the visitor's conversation history.
#[utoipa::path(get, path = "/v1/agents/{agent}/sessions/{session}/messages", operation_id = "session_messages", tag = "chat",
    params(("agent" = String, Path, description = "Agent name"), ("session" = String, Path, description = "Session token")),
    summary = "A visitor's conversation history",
    responses((status = 200, description = "The messages", body = SessionMessages),
        (status = 401, description = "No key, a wrong key or an unknown session", body = ErrorBody),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
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
    let messages = view
        .conversations
        .iter()
        .flat_map(|(_, msgs)| msgs.iter())
        .map(|m| SessionMessage {
            role: m.role.into(),
            text: m.text.clone(),
            stage: m.stage.map(Into::into),
            citations: message_citations(&m.citations),
            created_at: m.created_at,
        })
        .collect();
    Ok(with_cors(ApiJson(SessionMessages { messages }).into_response(), &who))
}

/// `GET /v1/agents/{agent}/sessions/{session}/events`: the session's live events as Server-Sent Events
/// (authenticated like the session's other public routes: the public key from an allowed origin, or the
/// admin token). First `ready`, then a `reply` for every message a human sends from the handoff screen
/// into the visitor's conversation, and `server_stopping` when the server shuts down.
#[utoipa::path(get, path = "/v1/agents/{agent}/sessions/{session}/events", operation_id = "session_events", tag = "chat",
    params(("agent" = String, Path, description = "Agent name"), ("session" = String, Path, description = "Session token")),
    summary = "Live events of a visitor session (Server-Sent Events): `ready`, a `reply` for each message a human sends from the handoff screen, `lagged`, `server_stopping`",
    responses((status = 200, description = "An event stream: each event is named by its data's `type`", content_type = "text/event-stream", body = SessionEvent),
        (status = 401, description = "No key, a wrong key or an unknown session", body = ErrorBody),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
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
        let send =
            |e: SessionEvent| Event::default().event(e.name()).data(serde_json::to_string(&e).unwrap_or_default());
        if tx.send(send(SessionEvent::Ready { contact_id: contact.to_string() })).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(e) => {
                        if tx.send(send(e)).await.is_err() { return; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        if tx.send(send(SessionEvent::Lagged { missed: n })).await.is_err() { return; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = shutdown.changed() => {
                    let _ = tx.send(send(SessionEvent::ServerStopping)).await;
                    return;
                }
            }
        }
    });
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(with_cors(sse.into_response(), &who))
}
