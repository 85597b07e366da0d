//! An agent's publication: the public key and allowed origins, the widget's settings, and the identity
//! secret a host site signs its signed-in users with.

use axum::extract::State;
use serde::Deserialize;
use throughline_core::Publication;

use crate::auth::random_token;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::widget::WidgetSettings;
use crate::wire::{ErrorBody, IdentitySecret, Published};
use crate::AppState;

/// Body of publication (optional: an empty body publishes with no origins allowed but the admin's).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// Origins whose pages may use the public key (`https://www.example.com`).
    #[serde(default)]
    #[schema(inline, value_type = Vec<OriginText>)]
    allowed_origins: Vec<String>,
}

/// An origin: scheme, host (a name whose last label starts with a letter, or an IPv4 address) and port,
/// no path.
#[derive(utoipa::ToSchema)]
#[schema(
    pattern = "^https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?/?$"
)]
#[allow(dead_code)]
struct OriginText(String);

/// What an origin may be: the schema's pattern of an allowed origin, checked on the raw value.
pub const ORIGIN_PATTERN: &str = "^https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?/?$";

// A pattern that did not compile would refuse every value rather than panic (a unit test compiles it).
static ORIGIN: std::sync::LazyLock<Option<regex::Regex>> =
    std::sync::LazyLock::new(|| regex::Regex::new(ORIGIN_PATTERN).ok());

fn check_origin(o: &str) -> ApiResult<String> {
    if !ORIGIN.as_ref().is_some_and(|r| r.is_match(o)) {
        return Err(ApiError::invalid(
            "allowed_origins",
            format!("`{o}` must be an origin like https://example.com or http://localhost:3000"),
        ));
    }
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
#[utoipa::path(post, path = "/v1/agents/{agent}/publish", operation_id = "publish_agent", tag = "publication",
    params(("agent" = String, Path, description = "Agent name")), request_body(content = Option<Publish>, description = "Optional"),
    summary = "Publish an agent: a public key for the widget and the origins allowed to use it (the key is kept across publications)",
    responses((status = 200, description = "Published", body = Published),
        (status = 400, description = "An origin that is not one (`error.field` is `allowed_origins`)", body = ErrorBody), (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn publish(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    raw: axum::body::Bytes,
) -> ApiResult<ApiJson<Published>> {
    // No body, or `null`, publishes with the origins unchanged from none.
    let body: Publish = if raw.iter().all(u8::is_ascii_whitespace) {
        Publish::default()
    } else {
        crate::error::parse_json::<Option<Publish>>(&raw)?.unwrap_or_default()
    };
    let p = publish_agent(&state, &name, &body.allowed_origins)?;
    Ok(ApiJson(Published { published: true, public_key: Some(p.public_key), allowed_origins: Some(p.allowed_origins) }))
}

/// `GET /v1/agents/{agent}/widget`: the widget settings set on the Publish screen.
#[utoipa::path(get, path = "/v1/agents/{agent}/widget", operation_id = "get_widget_settings", tag = "publication",
    params(("agent" = String, Path, description = "Agent name")), summary = "The widget's settings (defaults when none were saved)",
    responses((status = 200, description = "The settings", body = WidgetSettings), (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn widget_settings(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<WidgetSettings>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    Ok(ApiJson(crate::widget::load(state.0.jobs.as_ref(), &name)?))
}

/// `PUT /v1/agents/{agent}/widget`: saves the widget settings (greeting, suggestions, color,
/// position, avatar_url, launcher_text, title); errors name the field.
#[utoipa::path(put, path = "/v1/agents/{agent}/widget", operation_id = "put_widget_settings", tag = "publication",
    params(("agent" = String, Path, description = "Agent name")), request_body = WidgetSettings, summary = "Save the widget's settings (validated; errors name the field)",
    responses((status = 200, description = "What was saved, normalised", body = WidgetSettings),
        (status = 400, description = "A bad field (`error.field` names it)", body = ErrorBody), (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn put_widget_settings(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<WidgetSettings>,
) -> ApiResult<ApiJson<WidgetSettings>> {
    state.0.memory.agent(&name, None)?.ok_or_else(|| ApiError::not_found("agent", &name))?;
    Ok(ApiJson(crate::widget::save(state.0.jobs.as_ref(), &name, body)?))
}

/// `GET /v1/agents/{agent}/identity`: the agent's identity secret (created on first use), with which the
/// host site's backend signs its signed-in users for the widget.
#[utoipa::path(get, path = "/v1/agents/{agent}/identity", operation_id = "get_identity_secret", tag = "publication",
    params(("agent" = String, Path, description = "Agent name")), summary = "The identity secret a host site signs its signed-in users with (created on first use)",
    responses((status = 200, description = "The secret", body = IdentitySecret), (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn identity(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<IdentitySecret>> {
    identity_secret(&state, &name, false)
}

/// `POST /v1/agents/{agent}/identity/rotate`: a new identity secret; signatures made with the old one
/// stop working.
#[utoipa::path(post, path = "/v1/agents/{agent}/identity/rotate", operation_id = "rotate_identity_secret", tag = "publication",
    params(("agent" = String, Path, description = "Agent name")), summary = "A new identity secret (signatures made with the old one stop working)",
    responses((status = 200, description = "The new secret", body = IdentitySecret), (status = 404, description = "Unknown agent", body = ErrorBody)))]
pub async fn rotate_identity(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<ApiJson<IdentitySecret>> {
    identity_secret(&state, &name, true)
}

fn identity_secret(state: &AppState, name: &str, rotate: bool) -> ApiResult<ApiJson<IdentitySecret>> {
    state.0.memory.agent(name, None)?.ok_or_else(|| ApiError::not_found("agent", name))?;
    let secret = crate::identity::secret(state.0.jobs.as_ref(), name, rotate)?;
    Ok(ApiJson(IdentitySecret {
        agent: name.to_string(),
        secret,
        algorithm: "HMAC-SHA256, hex".to_string(),
        signs: "user_id, or email when there is no user_id".to_string(),
    }))
}

/// `POST /v1/agents/{agent}/unpublish`
#[utoipa::path(post, path = "/v1/agents/{agent}/unpublish", operation_id = "unpublish_agent", tag = "publication",
    params(("agent" = String, Path, description = "Agent name")), summary = "Unpublish an agent: its public key stops working until it is published again",
    responses((status = 200, description = "Unpublished", body = Published), (status = 404, description = "Unknown agent", body = ErrorBody),
        (status = 409, description = "The agent is not published (`not_published`)", body = ErrorBody)))]
pub async fn unpublish(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Published>> {
    if state.0.memory.agent(&name, None)?.is_none() {
        return Err(ApiError::not_found("agent", &name));
    }
    let Some(p) = state.0.access.publication(&name)? else {
        return Err(ApiError::of(crate::error::ErrorCode::NotPublished, format!("agent `{name}` is not published")));
    };
    state.0.access.save_publication(&Publication { published: false, ..p })?;
    Ok(ApiJson(Published { published: false, public_key: None, allowed_origins: None }))
}
