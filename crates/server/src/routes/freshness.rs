//! Answers that quoted an old version of a page: each answer is stored with the chunk (document
//! version) and text it cited, so after a re-sync changes a price or a policy, the pages that changed
//! are listed with the conversations that quoted the old text.

use axum::extract::State;
use serde_json::{json, Value};
use throughline_core::StaleAnswer;

use crate::agents::blocking;
use crate::error::{ApiJson, ApiPath, ApiResult};
use crate::routes::kbs::existing_kb;
use crate::AppState;

/// Stale answers grouped by page (in the order given: by path, oldest answer first).
pub fn stale_answers_json(kb: &str, answers: &[StaleAnswer]) -> Value {
    let mut pages: Vec<Value> = Vec::new();
    for a in answers {
        let c = &a.cited.citation;
        if pages.last().is_none_or(|p| p["path"] != json!(c.path)) {
            pages.push(json!({
                "path": c.path,
                "title": c.title,
                "url": c.url,
                "change": a.change.as_str(),
                "page_updated_at": a.page_updated_at,
                "answers": [],
            }));
        }
        if let Some(Value::Array(list)) = pages.last_mut().map(|p| &mut p["answers"]) {
            list.push(json!({
                "agent": a.cited.agent,
                "contact_id": a.cited.contact.to_string(),
                "conversation_id": a.cited.conversation.to_string(),
                "message_id": a.cited.message_id,
                "answered_at": a.cited.answered_at,
                "citation": c.number,
                "quoted": c.quote,
                "answer": a.cited.answer,
            }));
        }
    }
    json!({
        "kb": kb,
        "pages": pages,
        "answers": answers.len(),
        "conversations": crate::jobs::conversation_count(answers),
    })
}

/// `GET /v1/kbs/{kb}/stale-answers`: pages that changed or left the knowledge base since an answer
/// quoted them, each with the answers and conversations that quoted the old text.
pub async fn stale_answers(State(state): State<AppState>, ApiPath(kb): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    let info = existing_kb(&state, &kb)?;
    let st = state.clone();
    let name = info.name.clone();
    let answers =
        blocking(move || Ok(throughline_core::stale_answers(st.0.store.as_ref(), st.0.memory.as_ref(), &name)?))
            .await?;
    Ok(ApiJson(stale_answers_json(&info.name, &answers)))
}
