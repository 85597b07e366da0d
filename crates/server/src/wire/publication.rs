//! An agent's publication as the API shows it.

use serde::Serialize;
use utoipa::ToSchema;

/// Whether an agent is published, with its public key and allowed origins when it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct Published {
    /// Whether the widget and the public chat answer.
    pub published: bool,
    /// The key a page embeds (`pk_…`); absent once unpublished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Origins whose pages may use it; absent once unpublished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
}

/// The secret a host site's backend signs its signed-in users with.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitySecret {
    /// The agent.
    pub agent: String,
    /// The secret (hexadecimal).
    pub secret: String,
    /// How to sign.
    pub algorithm: String,
    /// What to sign.
    pub signs: String,
}
