//! Knowledge bases, their sources (uploads, re-sync, delete) and documents.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use throughline_core::{DocumentMeta, KbInfo, SourceId, SourceInfo, SourceKind};

use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::jobs::{enqueue, job_json, JobSpec};
use crate::{auth, AppState};

pub(crate) fn kb_json(kb: &KbInfo) -> Value {
    json!({
        "name": kb.name,
        "id": kb.id.to_string(),
        "model": kb.model_id,
        "dim": kb.dim,
        "documents": kb.documents,
        "chunks": kb.chunks,
        "created_at": kb.created_at,
    })
}

fn source_json(s: &SourceInfo, documents: usize) -> Value {
    json!({
        "id": s.id.to_string(),
        "kind": s.kind.as_str(),
        "location": s.location,
        "documents": documents,
        "last_synced_at": s.last_synced_at,
    })
}

fn doc_json(d: &DocumentMeta) -> Value {
    json!({
        "id": d.id.to_string(),
        "source_id": d.source_id.to_string(),
        "path": d.path,
        "url": d.url,
        "title": d.title,
        "page_type": d.page_type.as_str(),
        "chunks": d.chunk_count,
        "bytes": d.byte_size,
        "updated_at": d.updated_at,
    })
}

pub(crate) fn existing_kb(state: &AppState, name: &str) -> ApiResult<KbInfo> {
    state.0.store.kb(name)?.ok_or_else(|| ApiError::not_found("knowledge base", name))
}

/// `GET /v1/kbs`
pub async fn list(State(state): State<AppState>) -> ApiResult<ApiJson<Value>> {
    let kbs = state.0.store.list_kbs()?;
    Ok(ApiJson(json!({ "kbs": kbs.iter().map(kb_json).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// Body of a knowledge-base creation.
pub struct CreateKb {
    name: String,
}

/// `POST /v1/kbs`
pub async fn create(State(state): State<AppState>, ApiJson(body): ApiJson<CreateKb>) -> ApiResult<impl IntoResponse> {
    if state.0.store.kb(&body.name)?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!("knowledge base `{}` already exists", body.name),
        ));
    }
    let st = state.clone();
    let name = body.name.clone();
    tokio::task::spawn_blocking(move || st.open_kb(&name, true))
        .await
        .map_err(|e| ApiError::internal(format!("creating the knowledge base failed: {e}")))?
        .map_err(|mut e| {
            e.field = Some("name".into());
            e
        })?;
    let kb = existing_kb(&state, &body.name)?;
    Ok((StatusCode::CREATED, ApiJson(kb_json(&kb))))
}

/// `GET /v1/kbs/{kb}`
pub async fn get(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    let kb = existing_kb(&state, &name)?;
    let sources = state.0.store.sources(kb.id)?;
    let docs = state.0.store.documents(kb.id, None)?;
    let mut body = kb_json(&kb);
    body["sources"] = sources
        .iter()
        .map(|s| source_json(s, docs.iter().filter(|d| d.source_id == s.id).count()))
        .collect::<Vec<_>>()
        .into();
    let mut by_type = serde_json::Map::new();
    for d in &docs {
        let n = by_type.entry(d.page_type.as_str()).or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
    }
    body["page_types"] = Value::Object(by_type);
    Ok(ApiJson(body))
}

/// `DELETE /v1/kbs/{kb}`
pub async fn delete(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    existing_kb(&state, &name)?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        st.close_kb(&name);
        throughline_ingest::KnowledgeBase::delete(&st.0.paths, st.0.store.as_ref(), &name)
    })
    .await
    .map_err(|e| ApiError::internal(format!("deleting failed: {e}")))??;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/kbs/{kb}/documents`
pub async fn documents(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    let kb = existing_kb(&state, &name)?;
    let docs = state.0.store.documents(kb.id, None)?;
    Ok(ApiJson(json!({ "documents": docs.iter().map(doc_json).collect::<Vec<_>>() })))
}

/// `GET /v1/kbs/{kb}/sources`
pub async fn sources(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<Value>> {
    let kb = existing_kb(&state, &name)?;
    let docs = state.0.store.documents(kb.id, None)?;
    let sources = state.0.store.sources(kb.id)?;
    Ok(ApiJson(json!({
        "sources": sources.iter().map(|s| source_json(s, docs.iter().filter(|d| d.source_id == s.id).count())).collect::<Vec<_>>()
    })))
}

/// `POST /v1/kbs/{kb}/sources/upload` (multipart, parts named `files`; zip archives are unpacked).
/// Creates the knowledge base when it does not exist yet.
pub async fn upload(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    multipart: Multipart,
) -> ApiResult<impl IntoResponse> {
    if state.0.store.kb(&name)?.is_none() {
        let st = state.clone();
        let n = name.clone();
        tokio::task::spawn_blocking(move || st.open_kb(&n, true))
            .await
            .map_err(|e| ApiError::internal(format!("creating the knowledge base failed: {e}")))??;
    }
    let upload_id = auth::random_token("")[..16].to_string();
    let dest = state.0.paths.data_dir.join("uploads").join(&name).join(&upload_id);
    let received = match crate::upload::receive(multipart, &dest, state.config()).await {
        Ok(r) => r,
        Err(e) => {
            std::fs::remove_dir_all(&dest).ok();
            return Err(e);
        }
    };
    let label = format!("upload of {} file{}", received.files, if received.files == 1 { "" } else { "s" });
    let job = enqueue(&state, &name, &JobSpec::IngestPath { path: dest, label })?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(json!({
            "job": job_json(&job),
            "files": received.files,
            "bytes": received.bytes,
        })),
    ))
}

fn parse_source(id: &str) -> ApiResult<SourceId> {
    id.parse().map_err(|e: throughline_core::IdParseError| ApiError::invalid("source", e.to_string()))
}

fn find_source(state: &AppState, kb: &KbInfo, id: &str) -> ApiResult<SourceInfo> {
    let id = parse_source(id)?;
    state
        .0
        .store
        .sources(kb.id)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found("source", &id.to_string()))
}

/// `POST /v1/kbs/{kb}/sources/{source}/resync`
pub async fn resync(
    State(state): State<AppState>,
    ApiPath((name, source)): ApiPath<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let kb = existing_kb(&state, &name)?;
    let source = find_source(&state, &kb, &source)?;
    let spec = match source.kind {
        SourceKind::Folder | SourceKind::File => {
            JobSpec::IngestPath { path: source.location.clone().into(), label: "re-sync".into() }
        }
        SourceKind::Site => {
            return Err(ApiError::invalid("source", "re-syncing a site source needs the crawler"));
        }
    };
    let job = enqueue(&state, &name, &spec)?;
    Ok((StatusCode::ACCEPTED, ApiJson(json!({ "job": job_json(&job) }))))
}

/// `DELETE /v1/kbs/{kb}/sources/{source}`: its documents leave SQLite and both indexes.
pub async fn delete_source(
    State(state): State<AppState>,
    ApiPath((name, source)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<Value>> {
    let info = existing_kb(&state, &name)?;
    let source = find_source(&state, &info, &source)?;
    let kb = state.kb(&name)?;
    let id = source.id;
    let removed = tokio::task::spawn_blocking(move || kb.delete_source(id))
        .await
        .map_err(|e| ApiError::internal(format!("deleting the source failed: {e}")))??
        .unwrap_or(0);
    // Uploaded files live under the data directory: they go too.
    let uploads = std::fs::canonicalize(state.0.paths.data_dir.join("uploads")).ok();
    let location = std::path::Path::new(&source.location);
    if uploads.is_some_and(|u| location.starts_with(u)) {
        std::fs::remove_dir_all(location).ok();
    }
    Ok(ApiJson(json!({ "deleted_documents": removed, "source": source.id.to_string() })))
}
