//! Agents: configuration, versioned (list, create from a knowledge base or a TOML file, read, save a new
//! version, delete, versions). Publication, visitor sessions and chat, and memory have their own modules.

use axum::extract::State;
use axum::http::StatusCode;
use throughline_agent::{Agent, AgentConfig};

use crate::agents::{agent_view, blocking};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::paging::Page;
use crate::wire::{
    AgentDeleted, AgentDetail, AgentList, AgentVersion, AgentVersionSummary, AgentVersions, CreateAgent,
    CreateAgentBody, ErrorBody, UpdateAgent, UpdateAgentBody,
};
use crate::AppState;

/// Header carrying a published agent's public key.
pub const KEY_HEADER: &str = "x-throughline-key";
/// Header carrying a visitor session token.
pub const SESSION_HEADER: &str = "x-throughline-session";

fn describe(state: &AppState, name: &str, version: Option<u32>) -> ApiResult<AgentDetail> {
    let (record, config) = Agent::load_config(state.0.memory.as_ref(), name, version)?;
    let publication = state.0.access.publication(name)?;
    Ok(agent_view(&record.name, record.version, &config, &record.config, publication.as_ref()))
}

/// `GET /v1/agents?limit=&offset=`
#[utoipa::path(get, path = "/v1/agents", operation_id = "list_agents", tag = "agents", params(Page),
    summary = "List agents with their publication (paged)",
    responses((status = 200, description = "A page of agents", body = AgentList)))]
pub async fn list(State(state): State<AppState>, ApiQuery(page): ApiQuery<Page>) -> ApiResult<ApiJson<AgentList>> {
    let st = state.clone();
    blocking(move || {
        let p = page.slice(st.0.memory.agents()?);
        let agents = p.items.iter().map(|a| Ok(describe(&st, &a.name, None)?.agent)).collect::<ApiResult<Vec<_>>>()?;
        Ok(ApiJson(AgentList { total: p.total, limit: p.limit, offset: p.offset, agents }))
    })
    .await
}

/// `POST /v1/agents`: defaults derived from the knowledge base, or a given TOML configuration.
#[utoipa::path(post, path = "/v1/agents", operation_id = "create_agent", tag = "agents", request_body = CreateAgentBody,
    summary = "Create an agent: from a knowledge base (defaults derived from it: product, signup/demo/pricing URLs, plans) or from a TOML configuration",
    responses((status = 201, description = "Created", body = AgentDetail),
        (status = 404, description = "Unknown knowledge base", body = ErrorBody),
        (status = 409, description = "An agent of that name exists (`already_exists`)", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateAgent>,
) -> ApiResult<(StatusCode, ApiJson<AgentDetail>)> {
    if state.0.memory.agent(&body.name, None)?.is_some() {
        return Err(ApiError::of(
            crate::error::ErrorCode::AlreadyExists,
            format!("agent `{}` already exists", body.name),
        ));
    }
    let st = state.clone();
    let v = blocking(move || {
        let config = match (&body.config_toml, &body.kb) {
            (Some(t), _) => AgentConfig::from_toml(t, "config_toml")
                .map_err(|e| ApiError { field: Some("config_toml".into()), ..e.into() })?,
            (None, Some(kb)) => AgentConfig::derive(st.kb(kb)?.as_ref())?,
            (None, None) => {
                return Err(ApiError::invalid("kb", "give `kb` (defaults are derived from it) or `config_toml`"))
            }
        };
        Agent::save(st.0.memory.as_ref(), &body.name, &config)
            .map_err(|e| ApiError { field: Some("name".into()), ..e.into() })?;
        describe(&st, &body.name, None)
    })
    .await?;
    crate::answering::warm(&state, &v.agent.name);
    Ok((StatusCode::CREATED, ApiJson(v)))
}

/// `GET /v1/agents/{agent}`
#[utoipa::path(get, path = "/v1/agents/{agent}", operation_id = "get_agent", tag = "agents",
    params(("agent" = String, Path, description = "Agent name")),
    summary = "An agent: its latest configuration as JSON and TOML, and its publication",
    responses((status = 200, description = "The agent", body = AgentDetail),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<AgentDetail>> {
    let st = state.clone();
    blocking(move || Ok(ApiJson(describe(&st, &name, None)?))).await
}

/// `PUT /v1/agents/{agent}`: saves a new version.
#[utoipa::path(put, path = "/v1/agents/{agent}", operation_id = "update_agent", tag = "agents",
    params(("agent" = String, Path, description = "Agent name")), request_body = UpdateAgentBody,
    summary = "Save a new configuration version (`config_toml` or `config`; with `base_version`, 409 `version_conflict` when a newer version exists)",
    responses((status = 200, description = "The agent at its new version", body = AgentDetail),
        (status = 404, description = "Unknown agent", body = ErrorBody),
        (status = 409, description = "A newer version exists (`version_conflict`)", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateAgent>,
) -> ApiResult<ApiJson<AgentDetail>> {
    let st = state.clone();
    let v = blocking(move || {
        let state = st;
        let latest = state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
        if let Some(base) = body.base_version.filter(|b| *b != latest.version) {
            return Err(ApiError {
                field: Some("base_version".into()),
                ..ApiError::of(crate::error::ErrorCode::VersionConflict,
                    format!(
                        "agent `{name}` is at version {}, not {base}: another save (another tab, or a plan edit) came first; reload to see it",
                        latest.version
                    ),
                )
            });
        }
        let (text, field) = match (body.config_toml, body.config) {
            (Some(t), None) => (t, "config_toml"),
            (None, Some(v)) => {
                let t = toml::to_string(&v)
                    .map_err(|e| ApiError::invalid("config", format!("cannot be written as TOML: {e}")))?;
                (t, "config")
            }
            _ => return Err(ApiError::invalid("config_toml", "give exactly one of `config_toml` or `config`")),
        };
        let config =
            AgentConfig::from_toml(&text, field).map_err(|e| ApiError { field: Some(field.into()), ..e.into() })?;
        for kb in &config.knowledge_bases {
            if state.0.store.kb(kb)?.is_none() {
                return Err(ApiError::invalid("knowledge_bases", format!("knowledge base `{kb}` does not exist")));
            }
        }
        Agent::save(state.0.memory.as_ref(), &name, &config)
            .map_err(|e| ApiError { field: Some(field.into()), ..e.into() })?;
        describe(&state, &name, None)
    })
    .await?;
    crate::answering::warm(&state, &v.agent.name);
    Ok(ApiJson(v))
}

/// `DELETE /v1/agents/{agent}`: deletes every version of the agent, unpublishes it (its public key and
/// visitor sessions stop working) and deletes its contacts with their memory. 404 for an unknown agent.
#[utoipa::path(delete, path = "/v1/agents/{agent}", operation_id = "delete_agent", tag = "agents",
    params(("agent" = String, Path, description = "Agent name")),
    summary = "Delete an agent: every version, its publication (the public key and visitor sessions stop working) and its contacts with their memory",
    responses((status = 200, description = "What was deleted", body = AgentDeleted),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn delete(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<AgentDeleted>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    let st = state.clone();
    let n = name.clone();
    let (was_published, contacts) = blocking(move || {
        let contacts = st.0.memory.contacts(throughline_core::AgentId::from_name(&n))?.len();
        // Unpublish first: once the agent is gone, nothing may answer on its key.
        let was_published = st.0.access.delete_publication(&n)?;
        st.0.memory.delete_agent(&n)?;
        st.0.agents.write().unwrap_or_else(|p| p.into_inner()).remove(&n);
        crate::widget::forget(st.0.jobs.as_ref(), &n)?;
        Ok((was_published, contacts))
    })
    .await?;
    Ok(ApiJson(AgentDeleted { deleted: name, was_published, contacts_deleted: contacts }))
}

/// `GET /v1/agents/{agent}/versions`
#[utoipa::path(get, path = "/v1/agents/{agent}/versions", operation_id = "list_agent_versions", tag = "agents",
    params(("agent" = String, Path, description = "Agent name")), summary = "An agent's configuration versions, newest first",
    responses((status = 200, description = "The versions", body = AgentVersions),
        (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<AgentVersions>> {
    let latest = state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    let mut versions = Vec::new();
    for v in (1..=latest.version).rev() {
        if let Some(r) = state.0.memory.agent(&name, Some(v))? {
            versions.push(AgentVersionSummary { version: r.version, created_at: r.created_at });
        }
    }
    Ok(ApiJson(AgentVersions { versions }))
}

/// `GET /v1/agents/{agent}/versions/{version}`
#[utoipa::path(get, path = "/v1/agents/{agent}/versions/{version}", operation_id = "get_agent_version", tag = "agents",
    params(("agent" = String, Path, description = "Agent name"), ("version" = u32, Path, description = "Version number (from 1)")),
    summary = "One version of an agent's configuration, as TOML",
    responses((status = 200, description = "The version", body = AgentVersion),
        (status = 404, description = "Unknown agent or version", body = ErrorBody)))]
pub async fn version(
    State(state): State<AppState>,
    ApiPath((name, version)): ApiPath<(String, u32)>,
) -> ApiResult<ApiJson<AgentVersion>> {
    let r = state
        .0
        .memory
        .agent(&name, Some(version))?
        .ok_or_else(|| ApiError::not_found("agent version", &format!("{name}@{version}")))?;
    Ok(ApiJson(AgentVersion { version: r.version, created_at: r.created_at, config_toml: r.config }))
}
