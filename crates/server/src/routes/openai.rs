//! `POST /v1/chat/completions`: an OpenAI-compatible endpoint, so any OpenAI client library can talk to
//! an agent. `model` is the agent's name; the API key is the admin token or the agent's public key;
//! `messages` is the conversation (user and assistant turns, the last one the question); `user` names the
//! contact the agent remembers across calls, and without it each call is its own anonymous conversation;
//! `max_tokens` cuts the answer (`finish_reason: "length"`); usage is counted in the embedding model's
//! word pieces; errors have OpenAI's shape. Also `GET /v1/models` and `GET /v1/models/{model}`.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use crate::agents::open_agent;
use crate::answering::{spawn_turn, Step};
use crate::auth::{bearer, is_admin};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::routes::jobs::async_stream;
use crate::wire::openai::{
    AssistantMessage, Choice, ChunkChoice, Completion, CompletionChunk, CompletionRequest, Delta, Model, ModelList,
    OpenAiError, OpenAiErrorDetail, Usage,
};
use crate::wire::Turn;
use crate::AppState;
use throughline_core::Role;

/// What a valid request asks: the question (the last message), the conversation before it, and the
/// answer's token budget.
struct Asked {
    question: String,
    history: Vec<(Role, String)>,
    max_tokens: Option<usize>,
}

/// Checks the request's parameters and messages, naming the first one that cannot be honoured.
fn asked(req: &CompletionRequest) -> Result<Asked, ApiError> {
    if req.n.is_some_and(|n| n != 1) {
        return Err(ApiError::invalid("n", "only one choice is generated per request: send `n` 1 or leave it out"));
    }
    for (name, v) in [("tools", &req.tools), ("functions", &req.functions)] {
        if v.as_ref().is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty())) {
            return Err(ApiError::invalid(
                name,
                format!("`{name}` are not supported: the agent answers from its knowledge bases and calls no tools"),
            ));
        }
    }
    if let Some(f) = &req.response_format {
        if !f.is_null() && f["type"].as_str() != Some("text") {
            return Err(ApiError::invalid(
                "response_format",
                "only `{\"type\": \"text\"}` is supported: answers are text quoted from the docs, with citations",
            ));
        }
    }
    let max_tokens = match (req.max_completion_tokens, req.max_tokens) {
        (Some(n), _) | (None, Some(n)) if n < 1 => {
            let field = if req.max_completion_tokens.is_some() { "max_completion_tokens" } else { "max_tokens" };
            return Err(ApiError::invalid(field, format!("must be at least 1 (got {n})")));
        }
        (Some(n), _) | (None, Some(n)) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        (None, None) => None,
    };
    let mut history = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.iter().enumerate() {
        let role = match m.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "system" | "developer" => {
                return Err(ApiError::invalid(
                    &format!("messages[{i}].role"),
                    format!(
                        "`{}` messages are not supported: the agent's persona and tone are part of its configuration \
                         (the agent builder, or `persona` and `tone` in its TOML); send user and assistant messages",
                        m.role
                    ),
                ))
            }
            other => {
                return Err(ApiError::invalid(
                    &format!("messages[{i}].role"),
                    format!("role `{other}` is not supported: send user and assistant messages"),
                ))
            }
        };
        history.push((role, m.text()));
    }
    let question = match history.pop() {
        Some((Role::User, q)) if !q.trim().is_empty() => q,
        Some((Role::User, _)) => {
            return Err(ApiError::invalid(
                &format!("messages[{}].content", req.messages.len() - 1),
                "the last message has no text",
            ))
        }
        Some(_) => {
            return Err(ApiError::invalid(
                &format!("messages[{}].role", req.messages.len() - 1),
                "the last message must be the user's question",
            ))
        }
        None => return Err(ApiError::invalid("messages", "no messages: send at least the user's question")),
    };
    Ok(Asked { question, history, max_tokens })
}

/// Model tokens of `text`: word pieces of the embedding model's tokenizer (the model every answer's
/// sentences were chosen with), without its two special tokens.
fn tokens(state: &AppState, text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        state.0.embedder.count_tokens(text).saturating_sub(2)
    }
}

/// The longest prefix of `text` (cut between words) of at most `limit` tokens.
fn cut_to(state: &AppState, text: &str, limit: usize) -> String {
    let ends: Vec<usize> =
        text.char_indices().filter(|(_, c)| c.is_whitespace()).map(|(i, _)| i).chain([text.len()]).collect();
    // The number of word ends whose prefix fits (prefixes only grow): binary search.
    let (mut lo, mut hi) = (0usize, ends.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if tokens(state, &text[..ends[mid - 1]]) <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 {
        String::new()
    } else {
        text[..ends[lo - 1]].trim_end().to_string()
    }
}

/// An [`ApiError`] in OpenAI's shape (`{"error": {message, type, param, code}}`), with its
/// `Retry-After`.
fn openai_shaped(e: ApiError) -> Response {
    use axum::http::StatusCode;
    let kind = match e.status {
        StatusCode::UNAUTHORIZED => "authentication_error",
        StatusCode::TOO_MANY_REQUESTS => "rate_limit_error",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request_error",
    };
    let body = OpenAiError {
        error: OpenAiErrorDetail {
            message: e.message,
            kind: kind.to_string(),
            param: e.field,
            code: e.code.to_string(),
            retry_after: e.retry_after,
        },
    };
    let mut response = (e.status, ApiJson(body)).into_response();
    if e.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, crate::error::www_authenticate());
    }
    if let Some(secs) = e.retry_after {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
    }
    response
}

/// `POST /v1/chat/completions`: errors in OpenAI's shape.
#[utoipa::path(post, path = "/v1/chat/completions", operation_id = "create_chat_completion", tag = "openai",
    request_body = CompletionRequest,
    summary = "OpenAI-compatible chat completions: model = agent name; API key = the admin token or the agent's public key; streamed or not",
    responses((status = 200, description = "The completion, or with `stream` chunks as Server-Sent Events ending with `data: [DONE]`",
            content((Completion = "application/json"), (CompletionChunk = "text/event-stream"))),
        (status = 400, description = "A parameter that cannot be honoured (`param` names it)", body = OpenAiError),
        (status = 401, description = "No API key, or one that does not open this agent", body = OpenAiError),
        (status = 404, description = "Unknown model (`model_not_found`)", body = OpenAiError),
        (status = 429, description = "Rate limited (Retry-After)", body = OpenAiError),
        (status = 503, description = "Too many chats waiting, or the server is restarting (Retry-After)", body = OpenAiError)))]
pub async fn completions(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    match complete(state, addr, headers, raw).await {
        Ok(r) => r,
        Err(e) => openai_shaped(e),
    }
}

async fn complete(
    state: AppState,
    addr: SocketAddr,
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
    let req: CompletionRequest = crate::error::parse_json(&raw)?;
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
    } else if !state.0.memory.agents()?.iter().any(|a| a.name == agent) {
        return Err(ApiError {
            field: Some("model".into()),
            ..ApiError::of(
                crate::error::ErrorCode::ModelNotFound,
                format!("The model `{agent}` does not exist (models are agent names: GET /v1/models lists them)"),
            )
        });
    }
    let Asked { question, history, max_tokens } = asked(&req)?;
    // `user` names a contact the agent remembers across calls; without it the call is its own anonymous
    // conversation. Either way the conversation is the `messages` the client sent.
    let contact_key = match &req.user {
        Some(u) if !u.trim().is_empty() => format!("openai:{}", u.trim()),
        _ => format!("openai:anonymous:{}", crate::auth::random_token("")?),
    };
    let prompt_tokens: usize = req.messages.iter().map(|m| tokens(&state, &m.text())).sum::<usize>();
    let include_usage = req.stream_options.as_ref().is_some_and(|o| o.include_usage);
    let ticket = state.admission().admit(&agent).await?;
    let st = state.clone();
    let name = agent.clone();
    let q = question.clone();
    let mut steps = spawn_turn(&state, ticket, move |emit, left| {
        let a = open_agent(&st, &name)?;
        let contact = a.contact(&contact_key)?;
        let conv = a.conversation_for_history(contact.id, &history)?;
        Ok(a.respond_until(contact.id, conv, &q, emit, left)?)
    });
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let id = format!("chatcmpl-{}", &crate::auth::random_token("")?[..24]);
    if !req.stream {
        let turn = loop {
            match steps.recv().await {
                Some(Step::Delta(_)) => continue,
                Some(Step::Done(turn)) => break turn?,
                Some(Step::Stopping) | None => return Err(crate::routes::sessions::stopping_error()),
            }
        };
        let mut content = answer_with_sources(&turn);
        let mut finish = "stop";
        if let Some(limit) = max_tokens.filter(|&l| tokens(&state, &content) > l) {
            content = cut_to(&state, &content, limit);
            finish = "length";
        }
        let completion = tokens(&state, &content);
        return Ok(ApiJson(Completion {
            id,
            object: "chat.completion".into(),
            created,
            model: agent,
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage { role: "assistant".into(), content },
                finish_reason: finish.into(),
            }],
            usage: Usage::new(prompt_tokens, completion),
            throughline: Turn::new(&turn, admin),
        })
        .into_response());
    }
    let chunk = move |delta: Delta, finish: Option<&str>| CompletionChunk {
        id: id.clone(),
        object: "chat.completion.chunk".into(),
        created,
        model: agent.clone(),
        choices: vec![ChunkChoice { index: 0, delta, finish_reason: finish.map(str::to_string) }],
        usage: include_usage.then_some(None),
    };
    let content = |text: String| Delta { role: None, content: Some(text) };
    let sse = Sse::new(async_stream(move |tx| async move {
        let send = |c: CompletionChunk| Event::default().data(serde_json::to_string(&c).unwrap_or_default());
        let first = Delta { role: Some("assistant".into()), content: Some(String::new()) };
        let _ = tx.send(send(chunk(first, None))).await;
        // Every stream ends with a finishing chunk (`stop`, or `length` at `max_tokens`), the usage chunk
        // when asked, and `[DONE]`, also when the turn failed or shutdown cut it short (the reason is then
        // the content).
        let mut sent = String::new();
        let mut finish = "stop";
        loop {
            let (mut piece, last) = match steps.recv().await {
                Some(Step::Delta(d)) => (d, false),
                Some(Step::Done(Ok(turn))) => (sources_of(&turn), true),
                Some(Step::Done(Err(e))) => (e.message, true),
                Some(Step::Stopping) | None => (crate::routes::sessions::stopping_error().message, true),
            };
            if let Some(limit) = max_tokens {
                let whole = format!("{sent}{piece}");
                if tokens(&state, &whole) > limit {
                    // What fits beyond what was sent (a piece may end inside a word: nothing is unsent).
                    piece = cut_to(&state, &whole, limit).get(sent.len()..).unwrap_or("").to_string();
                    finish = "length";
                }
            }
            if !piece.is_empty() {
                sent.push_str(&piece);
                if tx.send(send(chunk(content(piece), None))).await.is_err() {
                    return;
                }
            }
            // At the budget the rest is not waited for (dropping the turn's receiver gives it up).
            if last || finish == "length" {
                break;
            }
        }
        drop(steps);
        let _ = tx.send(send(chunk(Delta::default(), Some(finish)))).await;
        if include_usage {
            let usage = CompletionChunk {
                choices: Vec::new(),
                usage: Some(Some(Usage::new(prompt_tokens, tokens(&state, &sent)))),
                ..chunk(Delta::default(), None)
            };
            let _ = tx.send(send(usage)).await;
        }
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
    let body = OpenAiError {
        error: OpenAiErrorDetail {
            message,
            kind: kind.to_string(),
            param: param.map(str::to_string),
            code: code.to_string(),
            retry_after: None,
        },
    };
    let mut response = (status, ApiJson(body)).into_response();
    if status == axum::http::StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, crate::error::www_authenticate());
    }
    response
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

/// `GET /v1/models`: the agents this API key may use as `model`, in OpenAI's list shape.
#[utoipa::path(get, path = "/v1/models", operation_id = "list_models", tag = "openai",
    summary = "OpenAI-compatible model list: the agents this API key may use as `model` (all for the admin token, the published agent for its public key)",
    responses((status = 200, description = "The models", body = ModelList),
        (status = 401, description = "No API key, or a wrong one", body = OpenAiError)))]
pub async fn models(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match visible_models(&state, &headers, &addr) {
        Ok(list) => {
            ApiJson(ModelList { object: "list".into(), data: list.iter().map(|(n, c)| Model::new(n, *c)).collect() })
                .into_response()
        }
        Err(r) => *r,
    }
}

/// `GET /v1/models/{model}`: one agent as a model; 404 `model_not_found` for any other name.
#[utoipa::path(get, path = "/v1/models/{model}", operation_id = "get_model", tag = "openai",
    params(("model" = String, Path, description = "Agent name")),
    summary = "One agent as an OpenAI model object",
    responses((status = 200, description = "The model", body = Model),
        (status = 401, description = "No API key, or a wrong one", body = OpenAiError),
        (status = 404, description = "Not a model this key may use (`model_not_found`)", body = OpenAiError)))]
pub async fn model(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::extract::Path(model): axum::extract::Path<String>,
) -> Response {
    match visible_models(&state, &headers, &addr) {
        Ok(list) => match list.iter().find(|(n, _)| *n == model) {
            Some((n, c)) => ApiJson(Model::new(n, *c)).into_response(),
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
