//! Knowledge bases, their sources (uploads, re-sync, delete) and documents.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{json, Value};
use throughline_core::{DocumentMeta, KbInfo, SourceId, SourceInfo, SourceKind};

use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::jobs::{enqueue, job_json, JobSpec};
use crate::paging::Page;
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

/// The settings key holding the name of what an upload sent (`docs.zip`, `guide.md`, `docs/`).
fn upload_name_key(kb: &str, upload_id: &str) -> String {
    format!("upload_name/{kb}/{upload_id}")
}

fn source_json(state: &AppState, kb: &str, s: &SourceInfo, documents: usize) -> ApiResult<Value> {
    let mut v = json!({
        "id": s.id.to_string(),
        "kind": s.kind.as_str(),
        "name": s.location,
        "location": s.location,
        "documents": documents,
        "last_synced_at": s.last_synced_at,
    });
    // An upload lives in a server folder named by a random id: list it under the uploaded name.
    let location = std::path::Path::new(&s.location);
    if matches!(s.kind, SourceKind::Folder | SourceKind::File) && state.is_upload(location) {
        // `…/uploads/<kb>/<upload id>[/file]`: the id is the folder after the knowledge base's.
        let parts: Vec<String> = location.components().map(|c| c.as_os_str().to_string_lossy().to_string()).collect();
        let id = parts
            .windows(3)
            .find(|w| w[0] == "uploads" && w[1] == kb)
            .map(|w| w[2].clone())
            .unwrap_or_else(|| location.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
        let name = state.0.jobs.setting(&upload_name_key(kb, &id))?.unwrap_or_else(|| format!("upload {id}"));
        v["kind"] = json!("upload");
        v["name"] = json!(name);
    }
    Ok(v)
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

/// `request` with a knowledge base's id in `/v1/kbs/{id}/…` replaced by its name (a name always wins:
/// the id is looked up only when no knowledge base has that name).
pub fn by_id(state: &AppState, mut request: axum::extract::Request) -> axum::extract::Request {
    let path = request.uri().path();
    let Some(rest) = path.strip_prefix("/v1/kbs/") else { return request };
    let (segment, tail) = rest.split_once('/').map_or((rest, ""), |(s, t)| (s, t));
    if segment.len() != 16 || !segment.bytes().all(|b| b.is_ascii_hexdigit()) {
        return request;
    }
    if !matches!(state.0.store.kb(segment), Ok(None)) {
        return request;
    }
    let Ok(kbs) = state.0.store.list_kbs() else { return request };
    let Some(kb) = kbs.iter().find(|k| k.id.to_string() == segment) else { return request };
    let mut rewritten = format!("/v1/kbs/{}", kb.name);
    if !tail.is_empty() || path.ends_with('/') {
        rewritten.push('/');
        rewritten.push_str(tail);
    }
    if let Some(q) = request.uri().query() {
        rewritten.push('?');
        rewritten.push_str(q);
    }
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = rewritten.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

pub(crate) fn existing_kb(state: &AppState, name: &str) -> ApiResult<KbInfo> {
    state.0.store.kb(name)?.ok_or_else(|| ApiError::not_found("knowledge base", name))
}

/// `GET /v1/kbs?limit=&offset=`
pub async fn list(State(state): State<AppState>, ApiQuery(page): ApiQuery<Page>) -> ApiResult<ApiJson<Value>> {
    let kbs = state.0.store.list_kbs()?;
    Ok(ApiJson(page.list("kbs", kbs, |k| Ok(kb_json(&k)))?))
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
        return Err(ApiError::of(
            crate::error::ErrorCode::AlreadyExists,
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
        .map(|s| source_json(&state, &name, s, docs.iter().filter(|d| d.source_id == s.id).count()))
        .collect::<ApiResult<Vec<_>>>()?
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

/// `GET /v1/kbs/{kb}/documents?limit=&offset=`
pub async fn documents(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Value>> {
    let kb = existing_kb(&state, &name)?;
    let docs = state.0.store.documents(kb.id, None)?;
    Ok(ApiJson(page.list("documents", docs, |d| Ok(doc_json(&d)))?))
}

/// `GET /v1/kbs/{kb}/sources?limit=&offset=`
pub async fn sources(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Value>> {
    let kb = existing_kb(&state, &name)?;
    let docs = state.0.store.documents(kb.id, None)?;
    let sources = state.0.store.sources(kb.id)?;
    Ok(ApiJson(page.list("sources", sources, |s| {
        source_json(&state, &name, &s, docs.iter().filter(|d| d.source_id == s.id).count())
    })?))
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
    let upload_id = auth::random_token("")?[..16].to_string();
    let dest = state.uploads_dir().join(&name).join(&upload_id);
    let received = match crate::upload::receive(multipart, &dest, state.config()).await {
        Ok(r) => r,
        Err(e) => {
            std::fs::remove_dir_all(&dest).ok();
            return Err(e);
        }
    };
    let display = received.display_name();
    // The source is listed under what the user uploaded, not the server's folder for it.
    state.0.jobs.set_setting(&upload_name_key(&name, &upload_id), &display)?;
    let label = format!("upload of {display} ({} file{})", received.files, if received.files == 1 { "" } else { "s" });
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
            let options = crate::jobs::saved_options(&state, &name, &source.location);
            JobSpec::Crawl { url: source.location.clone(), options }
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
    if state.is_upload(std::path::Path::new(&source.location)) {
        std::fs::remove_dir_all(&source.location).ok();
    }
    Ok(ApiJson(json!({ "deleted_documents": removed, "source": source.id.to_string() })))
}

/// Body of `POST /v1/kbs/{kb}/sources/site`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddSite {
    /// The start URL (`https://docs.example.com`).
    url: String,
    /// Crawl options.
    #[serde(flatten)]
    options: crate::jobs::CrawlOptions,
}

/// `POST /v1/kbs/{kb}/sources/site`: crawls a site into the knowledge base (created when missing) as a job.
pub async fn add_site(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<AddSite>,
) -> ApiResult<impl IntoResponse> {
    let parsed = url::Url::parse(body.url.trim())
        .map_err(|e| ApiError::invalid("url", format!("`{}` is not a URL: {e}", body.url)))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::invalid("url", format!("`{}` must be an http or https URL with a host", body.url)));
    }
    if let Some(h) = body.options.resync_hours {
        if !(h.is_finite() && (0.1..=24.0 * 365.0).contains(&h)) {
            return Err(ApiError::invalid("resync_hours", "must be between 0.1 and 8760 hours"));
        }
    }
    if body.options.max_pages == Some(0) {
        return Err(ApiError::invalid("max_pages", "must be at least 1"));
    }
    if state.0.store.kb(&name)?.is_none() {
        let st = state.clone();
        let n = name.clone();
        tokio::task::spawn_blocking(move || st.open_kb(&n, true))
            .await
            .map_err(|e| ApiError::internal(format!("creating the knowledge base failed: {e}")))??;
    }
    let url = parsed.to_string();
    state.0.jobs.set_setting(
        &crate::jobs::options_key(&name, &url),
        &serde_json::to_string(&body.options).map_err(|e| ApiError::internal(e.to_string()))?,
    )?;
    let job = enqueue(&state, &name, &JobSpec::Crawl { url, options: body.options })?;
    Ok((StatusCode::ACCEPTED, ApiJson(json!({ "job": job_json(&job) }))))
}

/// Query of the crawl report.
#[derive(Deserialize)]
pub struct ReportQuery {
    status: Option<String>,
}

/// `GET /v1/kbs/{kb}/sources/{source}/report[?status=skipped]`: every URL the crawl discovered, with its
/// outcome and reason.
pub async fn report(
    State(state): State<AppState>,
    ApiPath((name, source)): ApiPath<(String, String)>,
    crate::error::ApiQuery(q): crate::error::ApiQuery<ReportQuery>,
) -> ApiResult<ApiJson<Value>> {
    let info = existing_kb(&state, &name)?;
    let source = find_source(&state, &info, &source)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<throughline_core::CrawlStatus>().map_err(|_| {
            ApiError::invalid("status", format!("`{s}` is not a status (indexed, unchanged, skipped, failed)"))
        })?),
    };
    let rows = throughline_ingest::crawl_report_in(state.0.store.as_ref(), info.id, Some(source.id), status)?;
    let mut counts = serde_json::Map::new();
    for r in &rows {
        let n = counts.entry(r.status.as_str()).or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
    }
    Ok(ApiJson(json!({
        "source": source.id.to_string(),
        "counts": counts,
        "pages": rows.iter().map(|r| json!({"url": r.url, "status": r.status.as_str(), "reason": r.reason, "depth": r.depth, "path": r.doc_path, "checked_at": r.checked_at})).collect::<Vec<_>>(),
    })))
}
