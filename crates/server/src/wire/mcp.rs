//! The JSON-RPC 2.0 envelopes of the Model Context Protocol endpoint (`/mcp`). What travels inside them
//! (`initialize`, `tools/list`, `tools/call` with each tool's declared input and output schemas) is
//! defined by the MCP specification; the tools' schemas are served by `tools/list`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// A request id: a string, a number, or null in an error about an unreadable request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RpcId {
    /// A number.
    Number(i64),
    /// A string.
    Text(String),
}

/// A JSON-RPC request or notification (no `id`). Methods: `initialize`, `notifications/initialized`,
/// `ping`, `tools/list`, `tools/call` (tools `search`, and `ask` when agents are served).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RpcRequest {
    /// Always `2.0`.
    #[schema(pattern = "^2\\.0$")]
    pub jsonrpc: String,
    /// Absent in a notification.
    pub id: Option<RpcId>,
    /// The method.
    #[schema(min_length = 1)]
    pub method: String,
    /// Its parameters (`tools/call`: `{name, arguments}`, the arguments checked against the tool's input
    /// schema: -32602 names the argument).
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
}

/// A message sent to `/mcp`: one request, or a batch of them (not empty).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RpcMessage {
    /// One request or notification.
    Single(RpcRequest),
    /// A batch.
    Batch(Vec<RpcRequest>),
}

impl utoipa::PartialSchema for RpcMessage {
    fn schema() -> RefOr<Schema> {
        let request = || Ref::from_schema_name(RpcRequest::name());
        OneOfBuilder::new()
            .description(Some("One JSON-RPC request or notification, or a batch of them (not empty)."))
            .item(request())
            .item(ArrayBuilder::new().items(request()).min_items(Some(1)))
            .into()
    }
}

impl ToSchema for RpcMessage {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((RpcRequest::name().into(), RpcRequest::schema()));
        <RpcRequest as ToSchema>::schemas(schemas);
    }
}

/// A JSON-RPC error.
#[derive(Debug, Serialize, ToSchema)]
pub struct RpcError {
    /// -32700 parse error, -32600 invalid request, -32601 unknown method, -32602 invalid params,
    /// -32603 internal error.
    pub code: i64,
    /// What went wrong.
    pub message: String,
}

/// A JSON-RPC response: a `result` or an `error`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RpcResponse {
    /// Always `2.0`.
    pub jsonrpc: &'static str,
    /// The request's id (null when the request could not be read).
    #[schema(value_type = Option<RpcId>)]
    pub id: Value,
    /// The method's result.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// The error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

/// What `/mcp` answers: one response, or the responses of a batch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RpcReply {
    /// One response.
    Single(RpcResponse),
    /// A batch's responses.
    Batch(Vec<RpcResponse>),
}
