//! The public side of an agent as the API shows it: visitor sessions, chat messages, a session's
//! history and live events, and the widget's configuration.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::chat::Citation;
use super::memory::{LifecycleName, RoleName, StageName};
use crate::widget::WidgetSettings;

/// Body of `POST /v1/agents/{agent}/sessions` (may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// Admin only: chat as this contact key (a test contact in the playground, an email…).
    pub contact: Option<String>,
    /// Admin only: the lifecycle (`prospect`, `onboarding`, `customer`) of the contact while it is
    /// still at the default — a new contact, or one no product event has moved yet — so the
    /// playground's "Customer" and "Onboarding user" behave as such from the first message.
    pub lifecycle: Option<String>,
    /// The signed-in user's id on the host site, signed in `user_hash`.
    pub user_id: Option<String>,
    /// The signed-in user's email: signed in `user_hash` when there is no `user_id`.
    pub email: Option<String>,
    /// Hex HMAC-SHA256 of `user_id` (or of `email` without one) under the agent's identity secret.
    pub user_hash: Option<String>,
}

/// Body of `POST /v1/agents/{agent}/sessions` as documented: anonymous, or a signed-in user of the host
/// site whose identity the host site signed. (The handler reads [`NewSession`], whose errors name the
/// field.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum NewSessionBody {
    /// An anonymous visitor (or, for the admin, a named test contact).
    Anonymous(AnonymousSession),
    /// A signed-in user, by the id the host site knows it by.
    SignedUser(SignedUserSession),
    /// A signed-in user, by email.
    SignedEmail(SignedEmailSession),
}

/// An anonymous visitor's session (or, for the admin, a named test contact's).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymousSession {
    /// Admin only: chat as this contact key (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200, pattern = "[^\\s\\u0085]")]
    pub contact: Option<String>,
    /// Admin only: the contact's lifecycle while it is still at the default.
    pub lifecycle: Option<LifecycleName>,
}

/// A signed-in user's session, by the id the host site knows it by.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedUserSession {
    /// The user's id on the host site.
    #[schema(min_length = 1, max_length = 254, pattern = "[^\\s\\u0085]")]
    pub user_id: String,
    /// Hex HMAC-SHA256 of `user_id` under the agent's identity secret.
    pub user_hash: String,
    /// Admin only: the contact's lifecycle while it is still at the default.
    pub lifecycle: Option<LifecycleName>,
}

/// A signed-in user's session, by email.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedEmailSession {
    /// The user's email.
    #[schema(min_length = 1, max_length = 254, pattern = "[^\\s\\u0085]")]
    pub email: String,
    /// Hex HMAC-SHA256 of `email` under the agent's identity secret.
    pub user_hash: String,
    /// Admin only: the contact's lifecycle while it is still at the default.
    pub lifecycle: Option<LifecycleName>,
}

/// A new visitor session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    /// The session token the visitor keeps (`ses_…`).
    pub session: String,
    /// The contact it chats as.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub contact_id: String,
    /// The contact's key (`visitor-…`, `user:…`, an email).
    pub contact_key: String,
    /// The contact's lifecycle.
    pub lifecycle: LifecycleName,
}

/// Body of `POST /v1/agents/{agent}/chat`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    /// The customer's message (not blank; at most 4,000 characters).
    #[schema(min_length = 1, max_length = 4000, pattern = "[^\\s\\u0085]")]
    pub message: String,
    /// The visitor session (or header `X-Throughline-Session`).
    pub session: Option<String>,
    /// Admin only: the contact key to answer as (instead of a session): 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "[^\\s\\u0085]")]
    pub contact: Option<String>,
    /// Start a new conversation instead of continuing the last one.
    #[serde(default)]
    pub new_conversation: bool,
    /// Stream by Server-Sent Events (also with `Accept: text/event-stream`).
    #[serde(default)]
    pub stream: bool,
}

/// A message of a visitor's conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionMessage {
    /// Who wrote it.
    pub role: RoleName,
    /// Its text.
    pub text: String,
    /// The stage an answer was given in.
    pub stage: Option<StageName>,
    /// The sources an answer cites.
    pub citations: Vec<Citation>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A visitor's conversation history.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionMessages {
    /// Its messages, oldest first.
    pub messages: Vec<SessionMessage>,
}

/// What the widget shows before the first message.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetConfig {
    /// The agent.
    pub agent: String,
    /// Its widget settings.
    pub widget: WidgetSettings,
}

/// The `data` of a visitor session's live event; the event's name is its `type`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionEvent {
    /// The stream is open.
    Ready {
        /// The visitor's contact.
        #[schema(pattern = "^[0-9a-f]{16}$")]
        contact_id: String,
    },
    /// A human replied from the handoff screen.
    Reply {
        /// Always `human`.
        role: RoleName,
        /// The reply.
        text: String,
        /// Its message id.
        message_id: i64,
        /// The handoff it answers.
        #[schema(pattern = "^[0-9a-f]{16}$")]
        handoff_id: String,
    },
    /// The stream fell behind and skipped events (read the history again).
    Lagged {
        /// Events skipped.
        missed: u64,
    },
    /// The server is shutting down: reconnect in a few seconds.
    ServerStopping,
}

impl SessionEvent {
    /// The event's name: its `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ready { .. } => "ready",
            Self::Reply { .. } => "reply",
            Self::Lagged { .. } => "lagged",
            Self::ServerStopping => "server_stopping",
        }
    }
}
