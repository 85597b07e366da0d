//! Knowledge bases, their sources (uploads, re-sync, delete) and documents.

use std::collections::BTreeMap;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use serde::Deserialize;
use throughline_core::{KbInfo, SourceId, SourceInfo, SourceKind};

use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::jobs::{enqueue, JobSpec};
use crate::paging::Page;
use crate::wire::{
    CrawlPage, CrawlReport, CreateKb, Document, DocumentList, ErrorBody, Job, JobAccepted, Kb, KbDetail, KbList,
    Source, SourceDeleted, SourceList, UploadAccepted,
};
use crate::{auth, AppState};

/// The settings key holding the name of what an upload sent (`docs.zip`, `guide.md`, `docs/`).
fn upload_name_key(kb: &str, upload_id: &str) -> String {
    format!("upload_name/{kb}/{upload_id}")
}

fn source_view(state: &AppState, kb: &str, s: &SourceInfo, documents: usize) -> ApiResult<Source> {
    let mut v = Source {
        id: s.id.to_string(),
        kind: s.kind.as_str().to_string(),
        name: s.location.clone(),
        location: s.location.clone(),
        documents,
        last_synced_at: s.last_synced_at,
    };
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
        v.kind = "upload".to_string();
        v.name = name;
    }
    Ok(v)
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
#[utoipa::path(get, path = "/v1/kbs", operation_id = "list_kbs", tag = "knowledge", params(Page),
    summary = "List knowledge bases (paged: `total`, `limit`, `offset`)",
    responses((status = 200, description = "A page of knowledge bases", body = KbList)))]
pub async fn list(State(state): State<AppState>, ApiQuery(page): ApiQuery<Page>) -> ApiResult<ApiJson<KbList>> {
    let p = page.slice(state.0.store.list_kbs()?);
    Ok(ApiJson(KbList {
        total: p.total,
        limit: p.limit,
        offset: p.offset,
        kbs: p.items.iter().map(Kb::from).collect(),
    }))
}

/// `POST /v1/kbs`
#[utoipa::path(post, path = "/v1/kbs", operation_id = "create_kb", tag = "knowledge", request_body = CreateKb,
    summary = "Create an empty knowledge base",
    responses((status = 201, description = "Created", body = Kb),
        (status = 409, description = "A knowledge base of that name exists (`already_exists`)", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateKb>,
) -> ApiResult<(StatusCode, ApiJson<Kb>)> {
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
    Ok((StatusCode::CREATED, ApiJson(Kb::from(&kb))))
}

/// `GET /v1/kbs/{kb}`
#[utoipa::path(get, path = "/v1/kbs/{kb}", operation_id = "get_kb", tag = "knowledge", params(("kb" = String, Path, description = "Knowledge base name or id")),
    summary = "A knowledge base with its sources and page types",
    responses((status = 200, description = "The knowledge base", body = KbDetail), (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<ApiJson<KbDetail>> {
    let kb = existing_kb(&state, &name)?;
    let sources = state.0.store.sources(kb.id)?;
    let docs = state.0.store.documents(kb.id, None)?;
    let sources = sources
        .iter()
        .map(|s| source_view(&state, &name, s, docs.iter().filter(|d| d.source_id == s.id).count()))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut page_types = BTreeMap::new();
    for d in &docs {
        *page_types.entry(d.page_type.as_str().to_string()).or_insert(0) += 1;
    }
    Ok(ApiJson(KbDetail { kb: Kb::from(&kb), sources, page_types }))
}

/// `DELETE /v1/kbs/{kb}`
#[utoipa::path(delete, path = "/v1/kbs/{kb}", operation_id = "delete_kb", tag = "knowledge", params(("kb" = String, Path, description = "Knowledge base name or id")),
    summary = "Delete a knowledge base with its documents, indexes and uploads",
    responses((status = 204, description = "Deleted"), (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
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
#[utoipa::path(get, path = "/v1/kbs/{kb}/documents", operation_id = "list_documents", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id"), Page),
    summary = "Documents of a knowledge base (paged)",
    responses((status = 200, description = "A page of documents", body = DocumentList), (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn documents(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<DocumentList>> {
    let kb = existing_kb(&state, &name)?;
    let p = page.slice(state.0.store.documents(kb.id, None)?);
    Ok(ApiJson(DocumentList {
        total: p.total,
        limit: p.limit,
        offset: p.offset,
        documents: p.items.iter().map(Document::from).collect(),
    }))
}

/// `GET /v1/kbs/{kb}/sources?limit=&offset=`
#[utoipa::path(get, path = "/v1/kbs/{kb}/sources", operation_id = "list_sources", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id"), Page),
    summary = "Sources of a knowledge base: uploads, folders and sites (paged)",
    responses((status = 200, description = "A page of sources", body = SourceList), (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn sources(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<SourceList>> {
    let kb = existing_kb(&state, &name)?;
    let docs = state.0.store.documents(kb.id, None)?;
    let p = page.slice(state.0.store.sources(kb.id)?);
    let sources = p
        .items
        .iter()
        .map(|s| source_view(&state, &name, s, docs.iter().filter(|d| d.source_id == s.id).count()))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ApiJson(SourceList { total: p.total, limit: p.limit, offset: p.offset, sources }))
}

/// `POST /v1/kbs/{kb}/sources/upload` (multipart, parts named `files`; zip archives are unpacked).
/// Creates the knowledge base when it does not exist yet.
#[utoipa::path(post, path = "/v1/kbs/{kb}/sources/upload", operation_id = "upload", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id")),
    request_body(content = UploadForm, content_type = "multipart/form-data",
        description = "Parts named `files`: Markdown, MDX, HTML, text, JSON FAQ, or zip archives of them"),
    summary = "Upload files or zip archives; ingested by a job (the knowledge base is created when missing)",
    responses((status = 202, description = "The queued ingestion job", body = UploadAccepted),
        (status = 400, description = "An empty, unreadable or hostile upload", body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    multipart: Multipart,
) -> ApiResult<(StatusCode, ApiJson<UploadAccepted>)> {
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
        ApiJson(UploadAccepted { job: Job::from(&job), files: received.files, bytes: received.bytes }),
    ))
}

/// The multipart form of an upload: parts named `files`, nothing else.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct UploadForm {
    /// One part per file (at least one).
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1)]
    files: Vec<Vec<u8>>,
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
#[utoipa::path(post, path = "/v1/kbs/{kb}/sources/{source}/resync", operation_id = "resync_source", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id"), ("source" = String, Path, description = "Source id", pattern = "^[0-9a-f]{16}$")),
    summary = "Re-sync a source now (re-read the folder, re-crawl the site with conditional requests)",
    responses((status = 202, description = "The queued job", body = JobAccepted),
        (status = 404, description = "Unknown knowledge base or source", body = ErrorBody)))]
pub async fn resync(
    State(state): State<AppState>,
    ApiPath((name, source)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, ApiJson<JobAccepted>)> {
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
    Ok((StatusCode::ACCEPTED, ApiJson(JobAccepted { job: Job::from(&job) })))
}

/// `DELETE /v1/kbs/{kb}/sources/{source}`: its documents leave SQLite and both indexes.
#[utoipa::path(delete, path = "/v1/kbs/{kb}/sources/{source}", operation_id = "delete_source", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id"), ("source" = String, Path, description = "Source id", pattern = "^[0-9a-f]{16}$")),
    summary = "Remove a source and its documents",
    responses((status = 200, description = "Removed", body = SourceDeleted),
        (status = 404, description = "Unknown knowledge base or source", body = ErrorBody)))]
pub async fn delete_source(
    State(state): State<AppState>,
    ApiPath((name, source)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<SourceDeleted>> {
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
    Ok(ApiJson(SourceDeleted { deleted_documents: removed, source: source.id.to_string() }))
}

/// Body of `POST /v1/kbs/{kb}/sources/site`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSite {
    /// The start URL (`https://docs.example.com`).
    #[schema(min_length = 1, pattern = "^https?://")]
    url: String,
    /// Crawl options.
    #[serde(flatten)]
    options: crate::jobs::CrawlOptions,
}

/// `POST /v1/kbs/{kb}/sources/site`: crawls a site into the knowledge base (created when missing) as a job.
#[utoipa::path(post, path = "/v1/kbs/{kb}/sources/site", operation_id = "add_site", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id")), request_body = AddSite,
    summary = "Crawl a site into the knowledge base (created when missing) as a job",
    responses((status = 202, description = "The queued crawl", body = JobAccepted),
        (status = 400, description = "A bad field (`error.field` names it)", body = ErrorBody)))]
pub async fn add_site(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<AddSite>,
) -> ApiResult<(StatusCode, ApiJson<JobAccepted>)> {
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
    Ok((StatusCode::ACCEPTED, ApiJson(JobAccepted { job: Job::from(&job) })))
}

/// Query of the crawl report.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Only URLs of this outcome: `indexed`, `unchanged`, `skipped` or `failed`.
    #[param(pattern = "^(indexed|unchanged|skipped|failed)$")]
    status: Option<String>,
}

/// `GET /v1/kbs/{kb}/sources/{source}/report[?status=skipped]`: every URL the crawl discovered, with its
/// outcome and reason.
#[utoipa::path(get, path = "/v1/kbs/{kb}/sources/{source}/report", operation_id = "crawl_report", tag = "knowledge",
    params(("kb" = String, Path, description = "Knowledge base name or id"), ("source" = String, Path, description = "Source id", pattern = "^[0-9a-f]{16}$"), ReportQuery),
    summary = "Every URL a crawl discovered, with its outcome and reason",
    responses((status = 200, description = "The report", body = CrawlReport),
        (status = 404, description = "Unknown knowledge base or source", body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    ApiPath((name, source)): ApiPath<(String, String)>,
    crate::error::ApiQuery(q): crate::error::ApiQuery<ReportQuery>,
) -> ApiResult<ApiJson<CrawlReport>> {
    let info = existing_kb(&state, &name)?;
    let source = find_source(&state, &info, &source)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<throughline_core::CrawlStatus>().map_err(|_| {
            ApiError::invalid("status", format!("`{s}` is not a status (indexed, unchanged, skipped, failed)"))
        })?),
    };
    let rows = throughline_ingest::crawl_report_in(state.0.store.as_ref(), info.id, Some(source.id), status)?;
    let mut counts = BTreeMap::new();
    for r in &rows {
        *counts.entry(r.status.as_str().to_string()).or_insert(0) += 1;
    }
    Ok(ApiJson(CrawlReport {
        source: source.id.to_string(),
        counts,
        pages: rows.iter().map(CrawlPage::from).collect(),
    }))
}
