//! The OpenAI-compatible chat completions and models, in the shapes OpenAI's SDKs parse.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::chat::Turn;

/// A part of a message's content; the text of `text` parts is read, other parts are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ContentPart {
    /// `text` (others are ignored).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The part's text.
    #[serde(default)]
    pub text: Option<String>,
}

/// A message's content: text, or parts whose text is joined by newlines.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    /// Text.
    Text(String),
    /// Parts.
    Parts(Vec<ContentPart>),
}

impl MessageContent {
    /// Its text.
    pub fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Parts(parts) => parts.iter().filter_map(|p| p.text.as_deref()).collect::<Vec<_>>().join("\n"),
        }
    }
}

/// One message of the conversation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatMessage {
    /// `user` or `assistant` (`system` and `developer` are refused: the persona is the agent's
    /// configuration).
    pub role: String,
    /// Its content.
    #[serde(default)]
    pub content: Option<MessageContent>,
}

impl ChatMessage {
    /// Its text (empty without content).
    pub fn text(&self) -> String {
        self.content.as_ref().map(MessageContent::text).unwrap_or_default()
    }
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StreamOptions {
    /// Send a last chunk with the usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// Body of `POST /v1/chat/completions`. Parameters that change what a model generates and that an agent
/// answering from its documents cannot honour (`n` > 1, `tools`, `functions`, a `response_format` other
/// than text) are refused with 400 naming them; sampling parameters (`temperature`, `top_p`, penalties,
/// `seed`, `stop`, `logit_bias`) are accepted and have no effect on an answer quoted from the docs.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompletionRequest {
    /// The agent's name.
    pub model: String,
    /// The conversation: user and assistant turns, the last one the question.
    pub messages: Vec<ChatMessage>,
    /// Stream chunks as Server-Sent Events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Names the contact the agent remembers across calls; without it each call is its own anonymous
    /// conversation (up to 193 characters: the contact's key is `openai:` and it).
    #[schema(max_length = 193)]
    pub user: Option<String>,
    /// The answer's budget in model tokens (`finish_reason: "length"` when cut).
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub max_tokens: Option<i64>,
    /// The same, by its newer name (wins over `max_tokens`).
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub max_completion_tokens: Option<i64>,
    /// Choices: only 1.
    #[serde(default, deserialize_with = "super::de::opt_int")]
    pub n: Option<i64>,
    /// Refused unless empty: the agent calls no tools.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub tools: Option<Value>,
    /// Refused unless empty.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub functions: Option<Value>,
    /// Only `{"type": "text"}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub response_format: Option<Value>,
}

/// The assistant's message.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: String,
    /// The answer, with its sources listed after it.
    pub content: String,
}

/// The one choice of a completion.
#[derive(Debug, Serialize, ToSchema)]
pub struct Choice {
    /// Always 0.
    pub index: u32,
    /// The answer.
    pub message: AssistantMessage,
    /// `stop`, or `length` when `max_tokens` cut it.
    pub finish_reason: String,
}

/// Tokens counted in the embedding model's word pieces.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Usage {
    /// Tokens of the messages sent.
    pub prompt_tokens: usize,
    /// Tokens of the answer.
    pub completion_tokens: usize,
    /// Their sum.
    pub total_tokens: usize,
}

impl Usage {
    /// Usage of a prompt and a completion.
    pub fn new(prompt_tokens: usize, completion_tokens: usize) -> Self {
        Self { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
    }
}

/// A chat completion.
#[derive(Debug, Serialize, ToSchema)]
pub struct Completion {
    /// `chatcmpl-…`.
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The agent.
    pub model: String,
    /// The one choice.
    pub choices: Vec<Choice>,
    /// Tokens counted.
    pub usage: Usage,
    /// The agent's turn: citations, stage, confidence (and for the admin its trace).
    pub throughline: Turn,
}

/// What a streamed chunk adds.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Delta {
    /// `assistant`, in the first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// More of the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// The choice of a streamed chunk.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChunkChoice {
    /// Always 0.
    pub index: u32,
    /// What it adds.
    pub delta: Delta,
    /// In the finishing chunk: `stop` or `length`.
    pub finish_reason: Option<String>,
}

/// A streamed chunk (each Server-Sent Event's `data`; the stream ends with `data: [DONE]`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionChunk {
    /// The completion's id.
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The agent.
    pub model: String,
    /// The choice (none in the usage chunk).
    pub choices: Vec<ChunkChoice>,
    /// With `include_usage`: null, except in the last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Usage>)]
    pub usage: Option<Option<Usage>>,
}

/// An agent as an OpenAI model.
#[derive(Debug, Serialize, ToSchema)]
pub struct Model {
    /// The agent's name.
    pub id: String,
    /// Always `model`.
    pub object: String,
    /// Unix seconds.
    pub created: i64,
    /// Always `throughline`.
    pub owned_by: String,
}

impl Model {
    /// The model of agent `name`.
    pub fn new(name: &str, created: i64) -> Self {
        Self { id: name.to_string(), object: "model".into(), created, owned_by: "throughline".into() }
    }
}

/// The models an API key may use.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    /// Always `list`.
    pub object: String,
    /// The models.
    pub data: Vec<Model>,
}

/// An error in OpenAI's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiError {
    /// The error.
    pub error: OpenAiErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiErrorDetail {
    /// A sentence naming the problem.
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error` or `server_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The request field at fault (`messages[2].role`).
    pub param: Option<String>,
    /// A stable code (`model_not_found`, `invalid`, `unauthorized`).
    pub code: String,
    /// Seconds to wait before retrying (also in `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}
