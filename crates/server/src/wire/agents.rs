//! Agents and their configuration versions as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An agent with its publication, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentSummary {
    /// Its name.
    pub name: String,
    /// Its latest configuration version (from 1).
    pub version: u32,
    /// The knowledge bases it answers from.
    pub kbs: Vec<String>,
    /// Whether the widget and the public chat answer.
    pub published: bool,
    /// The key a page embeds (`pk_…`), once published.
    pub public_key: Option<String>,
    /// Origins whose pages may use the key.
    pub allowed_origins: Vec<String>,
    /// The configuration as JSON: the TOML's tables and keys (persona, stages, qualification, plans;
    /// see the README's agent configuration).
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// An agent with its configuration as saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDetail {
    /// The agent.
    #[serde(flatten)]
    pub agent: AgentSummary,
    /// The configuration, as saved (TOML).
    pub config_toml: String,
}

/// A page of agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    /// Agents in all.
    pub total: usize,
    /// Agents in this page.
    pub limit: usize,
    /// Agents skipped.
    pub offset: usize,
    /// The page.
    pub agents: Vec<AgentSummary>,
}

/// Body of `POST /v1/agents`: `kb` (defaults derived from it) or `config_toml`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// The new agent's name: 1 to 64 letters, digits, `-` or `_`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
    /// A knowledge base to derive the configuration from (product, signup/demo/pricing URLs, plans,
    /// onboarding checklist).
    pub kb: Option<String>,
    /// A whole configuration (TOML) instead.
    pub config_toml: Option<String>,
}

/// Body of `POST /v1/agents` as documented: one of its two forms. (The handler reads [`CreateAgent`], whose
/// errors name the missing field; given both, `config_toml` wins.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged, deny_unknown_fields)]
#[allow(dead_code)]
pub enum CreateAgentBody {
    /// Defaults derived from a knowledge base.
    #[schema(title = "FromKb")]
    FromKb {
        /// The new agent's name: 1 to 64 letters, digits, `-` or `_`.
        #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
        name: String,
        /// The knowledge base to derive the configuration from (product, signup/demo/pricing URLs, plans,
        /// onboarding checklist).
        kb: String,
    },
    /// A whole configuration.
    #[schema(title = "FromToml")]
    FromToml {
        /// The new agent's name: 1 to 64 letters, digits, `-` or `_`.
        #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
        name: String,
        /// The configuration (TOML).
        config_toml: String,
    },
}

/// Body of `PUT /v1/agents/{agent}` as documented: the configuration as TOML or as JSON. (The handler
/// reads [`UpdateAgent`], whose errors name the field.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged, deny_unknown_fields)]
#[allow(dead_code)]
pub enum UpdateAgentBody {
    /// As TOML.
    #[schema(title = "AsToml")]
    AsToml {
        /// The configuration as TOML.
        config_toml: String,
        /// The version the edit started from (409 `version_conflict` when a newer one exists).
        base_version: Option<u32>,
    },
    /// As JSON.
    #[schema(title = "AsJson")]
    AsJson {
        /// The configuration as JSON (the shape `GET` answers in `config`).
        #[schema(value_type = Object)]
        config: serde_json::Value,
        /// The version the edit started from (409 `version_conflict` when a newer one exists).
        base_version: Option<u32>,
    },
}

/// Body of `PUT /v1/agents/{agent}`: exactly one of `config_toml` or `config`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    /// The configuration as TOML.
    pub config_toml: Option<String>,
    /// The configuration as JSON (the shape `GET` answers in `config`).
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// The version the edit started from: when another save (another tab, a plan edit) made a newer
    /// one, the update is refused with 409 `version_conflict` instead of silently reverting that save.
    #[serde(default)]
    pub base_version: Option<u32>,
}

/// What deleting an agent removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDeleted {
    /// The agent.
    pub deleted: String,
    /// Whether it was published (its key and visitor sessions stopped working).
    pub was_published: bool,
    /// Contacts deleted with their memory.
    pub contacts_deleted: usize,
}

/// An agent's configuration versions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentVersions {
    /// The versions.
    pub versions: Vec<AgentVersionSummary>,
}

/// A configuration version.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentVersionSummary {
    /// From 1.
    pub version: u32,
    /// Unix seconds.
    pub created_at: i64,
}

/// A configuration version with its TOML.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentVersion {
    /// From 1.
    pub version: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// The configuration, as saved.
    pub config_toml: String,
}
