//! `POST /v1/chat/completions`: an OpenAI-compatible endpoint, so any OpenAI client library can talk to
//! an agent. `model` is the agent's name; the API key is the admin token or the agent's public key;
//! `user` names the contact (the agent remembers it); the last user message is the question.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::agents::{open_agent, turn_json};
use crate::answering::{spawn_turn, Step};
use crate::auth::{bearer, is_admin};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::routes::jobs::async_stream;
use crate::AppState;

/// One message of the request.
#[derive(Deserialize)]
pub struct Message {
    role: String,
    #[serde(default)]
    content: Value,
}

/// The request (fields OpenAI clients send that do not apply here are accepted and ignored).
#[derive(Deserialize)]
pub struct Completion {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
    user: Option<String>,
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

/// `POST /v1/chat/completions`
pub async fn completions(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let admin = is_admin(&state, &headers);
    if !admin {
        let key = bearer(&headers)
            .ok_or_else(|| ApiError::unauthorized("send the admin token or the agent's public key as the API key"))?;
        if !state.0.access.publication_by_key(key)?.is_some_and(|p| p.published) {
            state.0.limiter.check(&format!("auth:{}", addr.ip()))?;
            return Err(ApiError::unauthorized("the API key is neither the admin token nor a published agent's key"));
        }
    }
    let req: Completion = crate::error::parse_json(&raw)?;
    let agent = req.model.clone();
    if !admin {
        state.0.limiter.check(&format!("public:{}", addr.ip()))?;
        let key = bearer(&headers)
            .ok_or_else(|| ApiError::unauthorized("send the admin token or the agent's public key as the API key"))?;
        state
            .0
            .access
            .publication_by_key(key)?
            .filter(|p| p.published && p.agent == agent)
            .ok_or_else(|| ApiError::unauthorized(format!("this key does not open agent `{agent}`")))?;
    }
    let question = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| text_of(&m.content))
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("messages", "no user message with text"))?;
    let contact_key = format!("openai:{}", req.user.clone().unwrap_or_else(|| "default".into()));
    let ticket = state.admission().admit(&agent).await?;
    let st = state.clone();
    let name = agent.clone();
    let q = question.clone();
    let mut steps = spawn_turn(&state, ticket, move |emit| {
        let a = open_agent(&st, &name)?;
        let contact = a.contact(&contact_key)?;
        let conv = match st.0.memory.conversations(contact.id)?.into_iter().max_by_key(|c| c.started_at) {
            Some(c) => c.id,
            None => a.start_conversation(contact.id)?.id,
        };
        Ok(a.respond(contact.id, conv, &q, emit)?)
    });
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let id = format!("chatcmpl-{}", &crate::auth::random_token("")?[..24]);
    let prompt_tokens = question.split_whitespace().count();
    if !req.stream {
        let turn = loop {
            match steps.recv().await {
                Some(Step::Delta(_)) => continue,
                Some(Step::Done(turn)) => break turn?,
                Some(Step::Stopping) | None => return Err(crate::routes::agents::stopping_error()),
            }
        };
        let content = answer_with_sources(&turn);
        let words = content.split_whitespace().count();
        return Ok(ApiJson(json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": agent,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": words, "total_tokens": words + prompt_tokens},
            "throughline": turn_json(&turn, admin),
        }))
        .into_response());
    }
    let chunk = move |delta: Value, finish: Option<&str>| {
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": agent,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let sse = Sse::new(async_stream(move |tx| async move {
        let _ = tx.send(Event::default().data(chunk(json!({"role": "assistant", "content": ""}), None))).await;
        // Every stream ends with a `stop` chunk and `[DONE]`, also when the turn failed or shutdown cut
        // it short (the reason is then the content).
        loop {
            match steps.recv().await {
                Some(Step::Delta(d)) => {
                    if tx.send(Event::default().data(chunk(json!({"content": d}), None))).await.is_err() {
                        return;
                    }
                }
                Some(Step::Done(Ok(turn))) => {
                    let sources = sources_of(&turn);
                    if !sources.is_empty() {
                        let _ = tx.send(Event::default().data(chunk(json!({"content": sources}), None))).await;
                    }
                    break;
                }
                Some(Step::Done(Err(e))) => {
                    let _ = tx.send(Event::default().data(chunk(json!({"content": e.message}), None))).await;
                    break;
                }
                Some(Step::Stopping) | None => {
                    let e = crate::routes::agents::stopping_error();
                    let _ = tx.send(Event::default().data(chunk(json!({"content": e.message}), None))).await;
                    break;
                }
            }
        }
        let _ = tx.send(Event::default().data(chunk(json!({}), Some("stop")))).await;
        let _ = tx.send(Event::default().data("[DONE]")).await;
    }))
    .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(sse.into_response())
}

fn sources_of(turn: &throughline_agent::Turn) -> String {
    if turn.citations.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n\nSources:");
    for c in &turn.citations {
        s.push_str(&format!("\n[{}] {} ({})", c.number, c.title, c.url.clone().unwrap_or_else(|| c.path.clone())));
    }
    s
}

fn answer_with_sources(turn: &throughline_agent::Turn) -> String {
    format!("{}{}", turn.answer, sources_of(turn))
}

/// An OpenAI-style error (`{"error": {message, type, param, code}}`), what OpenAI client libraries parse.
fn openai_error(status: axum::http::StatusCode, message: String, param: Option<&str>, code: &str) -> Response {
    let kind =
        if status == axum::http::StatusCode::UNAUTHORIZED { "authentication_error" } else { "invalid_request_error" };
    (status, ApiJson(json!({"error": {"message": message, "type": kind, "param": param, "code": code}})))
        .into_response()
}

/// The agents a caller may talk to through this endpoint: every agent for the admin token, the agent a
/// published public key opens otherwise.
fn visible_models(
    state: &AppState,
    headers: &HeaderMap,
    addr: &SocketAddr,
) -> Result<Vec<(String, i64)>, Box<Response>> {
    let agents = state.0.memory.agents().map_err(|e| Box::new(ApiError::from(e).into_response()))?;
    if is_admin(state, headers) {
        return Ok(agents.into_iter().map(|a| (a.name, a.created_at)).collect());
    }
    let unauthorized =
        |m: &str| Box::new(openai_error(axum::http::StatusCode::UNAUTHORIZED, m.to_string(), None, "unauthorized"));
    let Some(key) = bearer(headers) else {
        return Err(unauthorized("send the admin token or the agent's public key as the API key"));
    };
    match state.0.access.publication_by_key(key).map_err(|e| Box::new(ApiError::from(e).into_response()))? {
        Some(p) if p.published => {
            Ok(agents.into_iter().filter(|a| a.name == p.agent).map(|a| (a.name, a.created_at)).collect())
        }
        _ => {
            if let Err(e) = state.0.limiter.check(&format!("auth:{}", addr.ip())) {
                return Err(Box::new(e.into_response()));
            }
            Err(unauthorized("the API key is neither the admin token nor a published agent's key"))
        }
    }
}

fn model_json(name: &str, created: i64) -> Value {
    json!({"id": name, "object": "model", "created": created, "owned_by": "throughline"})
}

/// `GET /v1/models`: the agents this API key may use as `model`, in OpenAI's list shape.
pub async fn models(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match visible_models(&state, &headers, &addr) {
        Ok(list) => ApiJson(json!({
            "object": "list",
            "data": list.iter().map(|(n, c)| model_json(n, *c)).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(r) => *r,
    }
}

/// `GET /v1/models/{model}`: one agent as a model; 404 `model_not_found` for any other name.
pub async fn model(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::extract::Path(model): axum::extract::Path<String>,
) -> Response {
    match visible_models(&state, &headers, &addr) {
        Ok(list) => match list.iter().find(|(n, _)| *n == model) {
            Some((n, c)) => ApiJson(model_json(n, *c)).into_response(),
            None => openai_error(
                axum::http::StatusCode::NOT_FOUND,
                format!("The model `{model}` does not exist or this API key cannot use it (models are agent names)"),
                Some("model"),
                "model_not_found",
            ),
        },
        Err(r) => *r,
    }
}
