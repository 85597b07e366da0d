//! The widget's look and first words, set on the Publish screen and served to the widget: greeting,
//! suggested questions, colour, position, avatar and launcher text. Stored per agent as JSON in the
//! settings table (`widget/{agent}`); validated field by field, errors name the field.

use serde::{Deserialize, Serialize};
use throughline_core::JobStore;

use crate::error::{ApiError, ApiResult};

/// The widget settings of one agent (every field optional; the widget has defaults). Text fields are
/// trimmed and take no control characters but line breaks (where a field is one line, none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettings {
    /// The panel's title.
    #[serde(default)]
    #[schema(max_length = 80, pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$")]
    pub title: String,
    /// The first message the widget shows (not sent to the agent).
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^[^\\u0000-\\u0009\\u000B-\\u001F\\u007F-\\u009F]*$")]
    pub greeting: String,
    /// Questions offered as one-click buttons before the first message (one line each).
    #[serde(default)]
    #[schema(max_items = 6, inline, value_type = Vec<SuggestionText>)]
    pub suggestions: Vec<String>,
    /// The accent colour, `#rrggbb`.
    #[serde(default)]
    #[schema(pattern = "^\\s*(#[0-9A-Fa-f]{6})?\\s*$")]
    pub color: String,
    /// `right` (default) or `left`.
    #[serde(default)]
    #[schema(pattern = "^\\s*(left|right)?\\s*$")]
    pub position: String,
    /// An http(s) image URL shown in the header (a host name whose last label starts with a letter, or an
    /// IPv4 address).
    #[serde(default)]
    #[schema(
        max_length = 2000,
        pattern = "^\\s*(https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(/[A-Za-z0-9._~/%?=&+-]*)?)?\\s*$"
    )]
    pub avatar_url: String,
    /// Text beside the launcher bubble (empty: the bubble alone).
    #[serde(default)]
    #[schema(max_length = 40, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub launcher_text: String,
}

/// A suggested question: one line, at most 140 characters.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{0,140}$")]
#[allow(dead_code)]
struct SuggestionText(String);

fn key(agent: &str) -> String {
    format!("widget/{agent}")
}

fn limit(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let v = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("at most {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid(field, "control characters are not allowed"));
    }
    Ok(v.to_string())
}

impl WidgetSettings {
    /// Checks and normalises every field (trimmed; colour lower-cased; empty position = right).
    pub fn validated(self) -> ApiResult<Self> {
        let title = limit("title", &self.title, 80)?;
        let greeting = limit("greeting", &self.greeting, 500)?;
        if self.suggestions.len() > 6 {
            return Err(ApiError::invalid("suggestions", "at most 6 suggested questions"));
        }
        let mut suggestions = Vec::new();
        for (i, s) in self.suggestions.iter().enumerate() {
            let s = limit(&format!("suggestions[{i}]"), s, 140)?;
            if s.contains('\n') {
                return Err(ApiError::invalid(&format!("suggestions[{i}]"), "one line per question"));
            }
            if !s.is_empty() {
                suggestions.push(s);
            }
        }
        let color = self.color.trim().to_ascii_lowercase();
        let hex = color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !color.is_empty() && !hex {
            return Err(ApiError::invalid("color", format!("`{}` is not a colour like #3b5bdb", self.color.trim())));
        }
        let position = match self.position.trim() {
            "" | "right" => "right".to_string(),
            "left" => "left".to_string(),
            other => return Err(ApiError::invalid("position", format!("`{other}` is not `left` or `right`"))),
        };
        let avatar_url = limit("avatar_url", &self.avatar_url, 2000)?;
        if !avatar_url.is_empty() {
            let ok = AVATAR_URL.as_ref().is_some_and(|r| r.is_match(&self.avatar_url))
                && url::Url::parse(&avatar_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(ApiError::invalid("avatar_url", "must be an http(s) URL"));
            }
        }
        let launcher_text = limit("launcher_text", &self.launcher_text, 40)?;
        if launcher_text.contains('\n') {
            return Err(ApiError::invalid("launcher_text", "one line"));
        }
        Ok(Self { title, greeting, suggestions, color, position, avatar_url, launcher_text })
    }
}

/// What an avatar URL may be: the schema's `avatar_url` pattern, checked on the raw value, so the server
/// accepts what the document says and nothing else (a host name whose last label starts with a letter,
/// or an IPv4 address; a port; a path without spaces).
pub const AVATAR_URL_PATTERN: &str = "^\\s*(https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?(/[A-Za-z0-9._~/%?=&+-]*)?)?\\s*$";

// A pattern that did not compile would refuse every value rather than panic (a unit test compiles it).
static AVATAR_URL: std::sync::LazyLock<Option<regex::Regex>> =
    std::sync::LazyLock::new(|| regex::Regex::new(AVATAR_URL_PATTERN).ok());

/// The agent's widget settings (defaults when none were saved).
pub fn load(jobs: &dyn JobStore, agent: &str) -> ApiResult<WidgetSettings> {
    match jobs.setting(&key(agent))? {
        Some(s) if !s.is_empty() => serde_json::from_str(&s)
            .map_err(|e| ApiError::internal(format!("the stored widget settings of `{agent}` are unreadable: {e}"))),
        _ => Ok(WidgetSettings { position: "right".into(), ..WidgetSettings::default() }),
    }
}

/// Saves the agent's widget settings (validated); returns what was stored.
pub fn save(jobs: &dyn JobStore, agent: &str, settings: WidgetSettings) -> ApiResult<WidgetSettings> {
    let s = settings.validated()?;
    let text = serde_json::to_string(&s).map_err(|e| ApiError::internal(e.to_string()))?;
    jobs.set_setting(&key(agent), &text)?;
    Ok(s)
}

/// Forgets the agent's widget settings (the agent was deleted).
pub fn forget(jobs: &dyn JobStore, agent: &str) -> ApiResult<()> {
    jobs.set_setting(&key(agent), "")?;
    Ok(())
}
