//! A Model Context Protocol server at `/mcp` (streamable HTTP transport, JSON responses): the knowledge
//! bases and agents exposed as tools (`search`, and `ask` when agents are served). JSON-RPC 2.0 over POST;
//! notifications get 202; `GET /mcp` answers 405 (no server-initiated stream). Needs the admin token.
//! Tool arguments are checked against each tool's declared input schema (-32602 naming the argument);
//! each tool declares an output schema and its behaviour annotations (`readOnlyHint`, …); a batch entry
//! that is no JSON-RPC message (not an object, an `id` neither string nor integer, `params` not an
//! object…), or an empty batch, is an invalid request (-32600), and a batch holding one is refused whole
//! (400, nothing in it runs).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use throughline_core::{SearchMode, SearchRequest};

use crate::agents::open_agent;
use crate::error::ApiResult;
use crate::wire;
use crate::wire::mcp::{RpcError, RpcMessage, RpcReply, RpcResponse};
use crate::wire::ErrorBody;
use crate::AppState;
use throughline_agent::Turn;

/// Protocol versions this server speaks, newest first.
pub const PROTOCOL_VERSIONS: [&str; 3] = ["2025-06-18", "2025-03-26", "2024-11-05"];

fn rpc_error(id: Value, code: i64, message: impl Into<String>) -> RpcResponse {
    RpcResponse { jsonrpc: "2.0", id, result: None, error: Some(RpcError { code, message: message.into() }) }
}

fn rpc_result(id: Value, result: Value) -> RpcResponse {
    RpcResponse { jsonrpc: "2.0", id, result: Some(result), error: None }
}

/// A tool call's outcome: text for the model, structured data for programs, and whether it failed.
pub struct ToolOutput {
    /// Text content.
    pub text: String,
    /// Structured content.
    pub structured: Value,
    /// Whether the tool failed (the model sees the message).
    pub is_error: bool,
}

fn tool_list(state: &AppState) -> Value {
    let mut tools = vec![json!({
        "name": "search",
        "title": "Search a knowledge base",
        "description": "Hybrid keyword + semantic search over a Throughline knowledge base (docs, help center, pricing). Returns the best passages with their titles and URLs.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "kb": {"type": "string", "description": "Knowledge base name (default: the only one, or `sample`)"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                "mode": {"type": "string", "enum": ["hybrid", "bm25", "vector"], "default": "hybrid"}
            },
            "required": ["query"],
            "additionalProperties": false
        },
        "outputSchema": {
            "type": "object",
            "properties": {
                "kb": {"type": "string"},
                "hits": {"type": "array", "items": {"type": "object"}}
            },
            "required": ["kb", "hits"]
        },
        "annotations": {"title": "Search a knowledge base", "readOnlyHint": true, "idempotentHint": true, "openWorldHint": false}
    })];
    tools.extend(agent_tools(state));
    json!({ "tools": tools })
}

fn default_kb(state: &AppState) -> Option<String> {
    let kbs = state.0.store.list_kbs().ok()?;
    if kbs.len() == 1 {
        return Some(kbs[0].name.clone());
    }
    kbs.iter().find(|k| k.name == "sample").map(|k| k.name.clone())
}

fn search_tool(state: &AppState, args: &Value) -> ToolOutput {
    let fail = |text: String| ToolOutput { text, structured: json!({}), is_error: true };
    let Some(query) = args["query"].as_str().filter(|q| !q.trim().is_empty()) else {
        return fail("`query` is required and must be a non-empty string".into());
    };
    let Some(kb_name) = args["kb"].as_str().map(str::to_string).or_else(|| default_kb(state)) else {
        return fail("`kb` is required: there are several knowledge bases".into());
    };
    let limit = args["limit"].as_u64().unwrap_or(5).clamp(1, 20) as usize;
    let mode = match args["mode"].as_str() {
        None => SearchMode::Hybrid,
        Some(m) => match m.parse() {
            Ok(m) => m,
            Err(_) => return fail(format!("`mode` must be hybrid, bm25 or vector, not `{m}`")),
        },
    };
    let kb = match state.kb(&kb_name) {
        Ok(kb) => kb,
        Err(e) => return fail(e.message),
    };
    match kb.search(&SearchRequest { limit, mode, ..SearchRequest::new(query) }) {
        Ok(hits) => {
            let mut text = String::new();
            for (i, h) in hits.iter().enumerate() {
                let place = h.url.clone().unwrap_or_else(|| h.path.clone());
                text.push_str(&format!("[{}] {} ({})\n{}\n\n", i + 1, h.title, place, h.snippet));
            }
            if hits.is_empty() {
                text.push_str("No results.");
            }
            let structured =
                json!({"kb": kb_name, "hits": hits.iter().map(|h| wire::Hit::new(h, false)).collect::<Vec<_>>()});
            ToolOutput { text, structured, is_error: false }
        }
        Err(e) => fail(e.to_string()),
    }
}

/// Checks a tool call's `args` against the tool's declared input schema (the subset the tools use: an
/// object with typed properties, integer bounds, enums, required names, no others); the error names the
/// argument and what it must be.
fn check_arguments(schema: &Value, args: &Value) -> Result<(), String> {
    let Some(args) = args.as_object() else { return Err("`arguments` must be an object".into()) };
    let props = schema["properties"].as_object().cloned().unwrap_or_default();
    for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !args.contains_key(name) {
            return Err(format!("`{name}` is required"));
        }
    }
    for (name, value) in args {
        let Some(p) = props.get(name) else {
            let known: Vec<&str> = props.keys().map(String::as_str).collect();
            return Err(format!("unknown argument `{name}` (expected {})", known.join(", ")));
        };
        let ty = p["type"].as_str().unwrap_or("string");
        let fits = match ty {
            "string" => value.is_string(),
            "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        };
        if !fits {
            return Err(format!("`{name}` must be {} {ty}, not {value}", if ty == "integer" { "an" } else { "a" }));
        }
        if let Some(n) = value.as_f64() {
            let (min, max) = (p["minimum"].as_f64(), p["maximum"].as_f64());
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(format!(
                    "`{name}` must be between {} and {}, not {value}",
                    min.map_or("-∞".to_string(), |m| m.to_string()),
                    max.map_or("∞".to_string(), |m| m.to_string())
                ));
            }
        }
        if let Some(allowed) = p["enum"].as_array() {
            if !allowed.contains(value) {
                let names: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
                return Err(format!("`{name}` must be one of {}, not {value}", names.join(", ")));
            }
        }
    }
    Ok(())
}

/// The JSON-RPC error of a message that is no valid request, notification or response (-32600), or
/// `None` for a valid one.
fn invalid_message(msg: &Value) -> Option<RpcResponse> {
    if !msg.is_object() {
        return Some(rpc_error(Value::Null, -32600, "invalid request: each message must be a JSON-RPC 2.0 object"));
    }
    let id = msg.get("id").cloned();
    let method = msg["method"].as_str().unwrap_or_default();
    let Some(id) = id else {
        // A notification (`notifications/initialized`, `notifications/cancelled`…) or a response: no reply.
        // Anything else is no JSON-RPC message.
        let params_ok = msg.get("params").is_none_or(|p| p.is_null() || p.is_object());
        let notification = msg["jsonrpc"] == "2.0" && !method.is_empty() && params_ok;
        let response = msg.get("result").is_some() || msg.get("error").is_some();
        if notification || response {
            return None;
        }
        return Some(rpc_error(
            Value::Null,
            -32600,
            "invalid request: neither a request, a notification nor a response",
        ));
    };
    // A string, a whole number (`7`, `7.0`) a 64-bit integer holds, or null (JSON-RPC 2.0: numbers
    // without fractional parts).
    let whole = id.is_i64() || id.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.2e18);
    if !(id.is_string() || whole || id.is_null()) {
        return Some(rpc_error(Value::Null, -32600, "invalid request: `id` must be a string or an integer"));
    }
    if msg.get("params").is_some_and(|p| !p.is_null() && !p.is_object()) {
        return Some(rpc_error(id, -32600, "invalid request: `params` must be an object"));
    }
    if msg["jsonrpc"] != "2.0" || method.is_empty() {
        return Some(rpc_error(id, -32600, "invalid request: expected a JSON-RPC 2.0 request with a method"));
    }
    None
}

fn handle(state: &AppState, msg: &Value) -> Option<RpcResponse> {
    if let Some(error) = invalid_message(msg) {
        return Some(error);
    }
    // A notification or a response: no reply.
    let id = msg.get("id").cloned()?;
    let method = msg["method"].as_str().unwrap_or_default();
    let params = &msg["params"];
    Some(match method {
        "initialize" => {
            let asked = params["protocolVersion"].as_str().unwrap_or(PROTOCOL_VERSIONS[0]);
            let version = PROTOCOL_VERSIONS.iter().find(|v| **v == asked).copied().unwrap_or(PROTOCOL_VERSIONS[0]);
            rpc_result(
                id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": "throughline", "version": env!("CARGO_PKG_VERSION")},
                    "instructions": "Use `search` to find passages in the company's knowledge bases; use `ask` for a grounded answer with citations from a Throughline agent."
                }),
            )
        }
        "ping" => rpc_result(id, json!({})),
        "tools/list" => rpc_result(id, tool_list(state)),
        "tools/call" => {
            let name = params["name"].as_str().unwrap_or_default();
            let args = params.get("arguments").cloned().unwrap_or_else(|| json!({}));
            let tools = tool_list(state);
            let Some(tool) = tools["tools"].as_array().and_then(|t| t.iter().find(|t| t["name"] == name)) else {
                return Some(rpc_error(id, -32602, format!("unknown tool `{name}`")));
            };
            if let Err(why) = check_arguments(&tool["inputSchema"], &args) {
                return Some(rpc_error(id, -32602, format!("invalid arguments for `{name}`: {why}")));
            }
            let out = match name {
                "search" => search_tool(state, &args),
                other => match agent_call(state, other, &args) {
                    Some(out) => out,
                    None => return Some(rpc_error(id, -32602, format!("unknown tool `{other}`"))),
                },
            };
            // A failed call has no structured content (it would not match the tool's output schema).
            let mut result = json!({"content": [{"type": "text", "text": out.text}], "isError": out.is_error});
            if !out.is_error {
                result["structuredContent"] = out.structured;
            }
            rpc_result(id, result)
        }
        other => rpc_error(id, -32601, format!("method `{other}` is not supported")),
    })
}

/// `POST /mcp`
#[utoipa::path(post, path = "/mcp", operation_id = "mcp_post", tag = "mcp", request_body = RpcMessage,
    summary = "Model Context Protocol server (streamable HTTP, JSON-RPC 2.0): initialize, ping, tools/list, tools/call with tools `search` and `ask`",
    responses((status = 200, description = "A JSON-RPC response, or for a batch the array of responses", body = RpcReply),
        (status = 202, description = "Only notifications or responses were sent: no body"),
        (status = 400, description = "Not a JSON-RPC request, or an unsupported MCP-Protocol-Version: JSON-RPC error responses (-32700 parse error, -32600 invalid request). A batch holding any message that is no JSON-RPC message is refused whole, before anything in it runs, with one error per such message", body = RpcReply)))]
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(v) = headers.get("mcp-protocol-version").and_then(|v| v.to_str().ok()) {
        if !PROTOCOL_VERSIONS.contains(&v) {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(rpc_error(Value::Null, -32600, format!("unsupported MCP-Protocol-Version `{v}`"))),
            )
                .into_response();
        }
    }
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, axum::Json(rpc_error(Value::Null, -32700, format!("parse error: {e}"))))
                .into_response()
        }
    };
    let msg_is_batch = matches!(&msg, Value::Array(b) if !b.is_empty());
    // A batch holding a message that is no JSON-RPC message is refused whole, before anything in it runs:
    // the reply carries the error of each such message.
    if let Value::Array(batch) = &msg {
        let errors: Vec<RpcResponse> = batch.iter().filter_map(invalid_message).collect();
        if !errors.is_empty() {
            return with_session(
                &headers,
                (StatusCode::BAD_REQUEST, axum::Json(RpcReply::Batch(errors))).into_response(),
            );
        }
    }
    let st = state.clone();
    let replies = tokio::task::spawn_blocking(move || match &msg {
        Value::Array(batch) if batch.is_empty() => {
            vec![rpc_error(Value::Null, -32600, "invalid request: an empty batch")]
        }
        Value::Array(batch) => batch.iter().filter_map(|m| handle(&st, m)).collect::<Vec<_>>(),
        single => handle(&st, single).into_iter().collect(),
    })
    .await
    .unwrap_or_else(|_| vec![rpc_error(Value::Null, -32603, "internal error")]);
    // An empty batch is no batch: its error is a single response (JSON-RPC 2.0, section 6).
    let is_batch = msg_is_batch;
    let response = if replies.is_empty() {
        StatusCode::ACCEPTED.into_response()
    } else if is_batch {
        axum::Json(RpcReply::Batch(replies)).into_response()
    } else {
        match replies.into_iter().next() {
            // A message that is no JSON-RPC request at all is refused (with its JSON-RPC error).
            Some(reply) if reply.error.as_ref().is_some_and(|e| e.code == -32600) => {
                (StatusCode::BAD_REQUEST, axum::Json(RpcReply::Single(reply))).into_response()
            }
            Some(reply) => axum::Json(RpcReply::Single(reply)).into_response(),
            None => StatusCode::ACCEPTED.into_response(),
        }
    };
    with_session(&headers, response)
}

/// `GET /mcp`: this server does not open server-initiated streams.
#[utoipa::path(get, path = "/mcp", operation_id = "mcp_get", tag = "mcp",
    summary = "No server-initiated stream is offered: always 405 with `Allow: POST, DELETE`",
    responses((status = 405, description = "This server opens no server-initiated stream", body = ErrorBody)))]
pub async fn get() -> Response {
    let error = crate::error::ApiError::of(
        crate::error::ErrorCode::MethodNotAllowed,
        "GET /mcp opens no stream here: this server answers each POST in its body",
    );
    ([("allow", "POST, DELETE")], error).into_response()
}

/// `DELETE /mcp`: sessions carry no state here; ending one always succeeds.
#[utoipa::path(delete, path = "/mcp", operation_id = "mcp_delete", tag = "mcp",
    summary = "Ends an MCP session (sessions carry no state here, so this always succeeds)",
    responses((status = 200, description = "The session ended")))]
pub async fn delete() -> StatusCode {
    StatusCode::OK
}

/// MCP tools the agents add: `ask`.
pub fn agent_tools(_state: &AppState) -> Vec<Value> {
    vec![json!({
        "name": "ask",
        "title": "Ask a Throughline agent",
        "description": "Ask the company's customer agent a question. The answer is grounded in the knowledge base with numbered citations, or an honest \"I don't know\".",
        "inputSchema": {
            "type": "object",
            "properties": {
                "question": {"type": "string"},
                "agent": {"type": "string", "description": "Agent name (default: the only one, or `demo`)"},
                "contact": {"type": "string", "description": "Contact key, so the agent remembers the conversation (default `mcp-client`)"}
            },
            "required": ["question"],
            "additionalProperties": false
        },
        "outputSchema": {
            "type": "object",
            "properties": {
                "answer": {"type": "string"},
                "citations": {"type": "array", "items": {"type": "object"}},
                "stage": {"type": "string", "enum": ["acquisition", "activation", "support", "expansion"]},
                "idk": {"type": "boolean"},
                "confidence": {"type": "number"},
                "contact_id": {"type": "string"},
                "conversation_id": {"type": "string"}
            },
            "required": ["answer", "citations", "stage", "idk"]
        },
        // It records the question and the answer in the contact's memory: not read-only, not idempotent.
        "annotations": {"title": "Ask a Throughline agent", "readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false}
    })]
}

/// Runs an agent tool of the MCP server; `None` when `name` is not one.
pub fn agent_call(state: &AppState, name: &str, args: &Value) -> Option<ToolOutput> {
    if name != "ask" {
        return None;
    }
    let fail = |text: String| Some(ToolOutput { text, structured: json!({}), is_error: true });
    let Some(question) = args["question"].as_str().filter(|q| !q.trim().is_empty()) else {
        return fail("`question` is required".into());
    };
    let agent_name = match args["agent"].as_str() {
        Some(a) => a.to_string(),
        None => match state.0.memory.agents() {
            Ok(list) if list.len() == 1 => list[0].name.clone(),
            Ok(list) if list.iter().any(|a| a.name == "demo") => "demo".into(),
            _ => return fail("`agent` is required: there are several agents".into()),
        },
    };
    let contact_key = args["contact"].as_str().unwrap_or("mcp-client");
    let run = || -> ApiResult<Turn> {
        let agent = open_agent(state, &agent_name)?;
        let contact = agent.contact(contact_key)?;
        let conversation = agent.start_conversation(contact.id)?;
        Ok(agent.respond(contact.id, conversation.id, question, &mut |_| {})?)
    };
    match run() {
        Ok(turn) => {
            let mut text = turn.answer.clone();
            if !turn.citations.is_empty() {
                text.push_str("\n\nSources:\n");
                for c in &turn.citations {
                    text.push_str(&format!(
                        "[{}] {} ({})\n",
                        c.number,
                        c.title,
                        c.url.clone().unwrap_or_else(|| c.path.clone())
                    ));
                }
            }
            Some(ToolOutput {
                text,
                structured: serde_json::to_value(wire::Turn::new(&turn, false)).unwrap_or(Value::Null),
                is_error: false,
            })
        }
        Err(e) => fail(e.message),
    }
}

/// `response` with the `Mcp-Session-Id` header: the client's own, else `stateless`.
fn with_session(headers: &HeaderMap, mut response: Response) -> Response {
    if let Some(v) = headers.get("mcp-session-id") {
        response.headers_mut().insert("mcp-session-id", v.clone());
    } else {
        response.headers_mut().insert("mcp-session-id", HeaderValue::from_static("stateless"));
    }
    response
}
