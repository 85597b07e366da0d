//! The error body every failing request gets (`{"error": {"code", "message", "field"?, "retry_after"?}}`),
//! whose `code` is one of [`crate::error::ErrorCode`].

use std::borrow::Cow;

use serde::Serialize;
use serde_json::json;
use utoipa::openapi::{RefOr, Schema};

/// The body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong: a stable code, a message for people, and the bad field when there is one.
#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    /// One of the stable codes of [`crate::error::ErrorCode`].
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The request field at fault (`plans[1].prices[0].amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before retrying (429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl utoipa::PartialSchema for ErrorBody {
    fn schema() -> RefOr<Schema> {
        let codes = crate::error::ErrorCode::ALL;
        let schema = json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": codes.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                        "description": codes
                            .iter()
                            .map(|c| format!("`{}` ({}): {}", c.as_str(), c.status().as_u16(), c.meaning()))
                            .collect::<Vec<_>>()
                            .join("; "),
                    },
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "The request field at fault"},
                    "retry_after": {"type": "integer", "minimum": 0, "description": "Seconds to wait (429)"}
                }
            }}
        });
        // The schema above is valid OpenAPI by construction; an empty object is the impossible fallback.
        RefOr::T(serde_json::from_value(schema).unwrap_or_default())
    }
}

impl utoipa::ToSchema for ErrorBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Error")
    }
}
