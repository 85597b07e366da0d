//! An agent's publication: the public key and allowed origins, the widget's settings, and the identity
//! secret a host site signs its signed-in users with.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use throughline_core::Publication;

use crate::auth::random_token;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::AppState;

/// Body of publication.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    #[serde(default)]
    allowed_origins: Vec<String>,
}

fn check_origin(o: &str) -> ApiResult<String> {
    let u =
        url::Url::parse(o).map_err(|e| ApiError::invalid("allowed_origins", format!("`{o}` is not an origin: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() || u.path() != "/" || u.query().is_some() {
        return Err(ApiError::invalid("allowed_origins", format!("`{o}` must be an origin like https://example.com")));
    }
    Ok(u.origin().ascii_serialization())
}

/// Publishes (or re-publishes with new origins) an agent; the public key is kept across publications.
pub fn publish_agent(state: &AppState, name: &str, origins: &[String]) -> ApiResult<Publication> {
    state.0.memory.agent(name, None)?.ok_or_else(|| ApiError::not_found("agent", name))?;
    let origins = origins.iter().map(|o| check_origin(o)).collect::<ApiResult<Vec<_>>>()?;
    let key = match state.0.access.publication(name)? {
        Some(p) => p.public_key,
        None => random_token("pk_")?,
    };
    let p = Publication {
        agent: name.to_string(),
        public_key: key,
        allowed_origins: origins,
        published: true,
        updated_at: 0,
    };
    state.0.access.save_publication(&p)?;
    Ok(p)
}

/// `POST /v1/agents/{agent}/publish`
pub async fn publish(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    raw: axum::body::Bytes,
) -> ApiResult<ApiJson<Value>> {
    let body: Publish =
        if raw.iter().all(u8::is_ascii_whitespace) { Publish::default() } else { crate::error::parse_json(&raw)? };
    let p = publish_agent(&state, &name, &body.allowed_origins)?;
    Ok(ApiJson(json!({"published": true, "public_key": p.public_key, "allowed_origins": p.allowed_origins})))
}

/// `GET /v1/agents/{agent}/widget`: the widget settings set on the Publish screen.
pub async fn widget_settings(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<Value>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    Ok(ApiJson(json!(crate::widget::load(state.0.jobs.as_ref(), &name)?)))
}

/// `PUT /v1/agents/{agent}/widget`: saves the widget settings (greeting, suggestions, color,
/// position, avatar_url, launcher_text, title); errors name the field.
pub async fn put_widget_settings(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<crate::widget::WidgetSettings>,
) -> ApiResult<ApiJson<Value>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    Ok(ApiJson(json!(crate::widget::save(state.0.jobs.as_ref(), &name, body)?)))
}

/// `GET /v1/agents/{agent}/identity`: the agent's identity secret (created on first use), with which the
/// host site's backend signs its signed-in users for the widget.
pub async fn identity(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    identity_json(&state, &name, false)
}

/// `POST /v1/agents/{agent}/identity/rotate`: a new identity secret; signatures made with the old one
/// stop working.
pub async fn rotate_identity(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<Value>> {
    identity_json(&state, &name, true)
}

fn identity_json(state: &AppState, name: &str, rotate: bool) -> ApiResult<ApiJson<Value>> {
    state.0.memory.agent(name, None)?.ok_or_else(|| ApiError::not_found("agent", name))?;
    let secret = crate::identity::secret(state.0.jobs.as_ref(), name, rotate)?;
    Ok(ApiJson(json!({
        "agent": name,
        "secret": secret,
        "algorithm": "HMAC-SHA256, hex",
        "signs": "user_id, or email when there is no user_id",
    })))
}

/// `POST /v1/agents/{agent}/unpublish`
pub async fn unpublish(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    if state.0.memory.agent(&name, None)?.is_none() {
        return Err(ApiError::not_found("agent", &name));
    }
    let Some(p) = state.0.access.publication(&name)? else {
        return Err(ApiError::of(crate::error::ErrorCode::NotPublished, format!("agent `{name}` is not published")));
    };
    state.0.access.save_publication(&Publication { published: false, ..p })?;
    Ok(ApiJson(json!({"published": false})))
}
