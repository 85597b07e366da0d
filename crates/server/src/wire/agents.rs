//! Agents' configuration versions as the API shows them.

use serde::Serialize;
use utoipa::ToSchema;

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
