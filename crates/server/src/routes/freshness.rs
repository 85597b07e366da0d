//! Answers that quoted an old version of a page: each answer is stored with the chunk (document
//! version) and text it cited, so after a re-sync changes a price or a policy, the pages that changed
//! are listed with the conversations that quoted the old text.

use axum::extract::State;
use serde_json::Value;
use throughline_core::StaleAnswer;

use crate::agents::blocking;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::routes::kbs::existing_kb;
use crate::wire::{ErrorBody, StaleAnswers};
use crate::AppState;

/// Stale answers grouped by page, as JSON (for the CLI's `--json`: the API's view).
pub fn stale_answers_json(kb: &str, answers: &[StaleAnswer]) -> Value {
    serde_json::to_value(StaleAnswers::new(kb, answers)).unwrap_or(Value::Null)
}

/// `GET /v1/kbs/{kb}/stale-answers`: pages that changed or left the knowledge base since an answer
/// quoted them, each with the answers and conversations that quoted the old text.
#[utoipa::path(get, path = "/v1/kbs/{kb}/stale-answers", operation_id = "stale_answers", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id")),
    summary = "Pages that changed or left the knowledge base since an answer quoted them, with the answers and conversations that quoted the old text",
    responses((status = 200, description = "Stale answers by page", body = StaleAnswers),
        (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn stale_answers(
    State(state): State<AppState>,
    ApiPath(kb): ApiPath<String>,
) -> ApiResult<ApiJson<StaleAnswers>> {
    let info = existing_kb(&state, &kb)?;
    let st = state.clone();
    let name = info.name.clone();
    let answers =
        blocking(move || Ok(throughline_core::stale_answers(st.0.store.as_ref(), st.0.memory.as_ref(), &name)?))
            .await?;
    Ok(ApiJson(StaleAnswers::new(&info.name, &answers)))
}
