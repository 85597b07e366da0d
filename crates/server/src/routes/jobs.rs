//! Jobs: list, status, cancel, and the live event stream (Server-Sent Events).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::json;
use throughline_core::{JobId, JobRecord};
use tokio::sync::broadcast::error::RecvError;

use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::jobs::{job_json, HubMessage};
use crate::wire::{ErrorBody, Job, JobList, StreamEvent};
use crate::AppState;

fn parse_id(id: &str) -> ApiResult<JobId> {
    id.parse().map_err(|e: throughline_core::IdParseError| ApiError::invalid("job", e.to_string()))
}

fn find(state: &AppState, id: &str) -> ApiResult<JobRecord> {
    let id = parse_id(id)?;
    state.0.jobs.job(id)?.ok_or_else(|| ApiError::not_found("job", &id.to_string()))
}

/// Query string of the job list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this knowledge base's jobs.
    kb: Option<String>,
    /// Jobs to return (default 50, at most 1,000).
    #[param(minimum = 0)]
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    limit: Option<usize>,
    /// Jobs to skip.
    #[param(minimum = 0)]
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    offset: Option<usize>,
}

/// Most jobs counted by the list's `total` (the newest ones).
const MAX_LISTED_JOBS: usize = 10_000;

/// `GET /v1/jobs?kb=&limit=&offset=`: newest first, 50 by default.
#[utoipa::path(get, path = "/v1/jobs", operation_id = "list_jobs", tag = "jobs", params(ListQuery),
    summary = "Jobs, newest first (paged: `total`, `limit`, `offset`)",
    responses((status = 200, description = "A page of jobs", body = JobList)))]
pub async fn list(State(state): State<AppState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<ApiJson<JobList>> {
    let jobs = state.0.jobs.jobs(q.kb.as_deref(), MAX_LISTED_JOBS)?;
    let page = crate::paging::Page { limit: Some(q.limit.unwrap_or(50)), offset: q.offset }.slice(jobs);
    Ok(ApiJson(JobList {
        total: page.total,
        limit: page.limit,
        offset: page.offset,
        jobs: page.items.iter().map(Job::from).collect(),
    }))
}

/// `GET /v1/jobs/{job}`
#[utoipa::path(get, path = "/v1/jobs/{job}", operation_id = "get_job", tag = "jobs",
    params(("job" = String, Path, description = "Job id", pattern = "^[0-9a-f]{16}$")),
    summary = "A job: status, per-stage counts, errors per item",
    responses((status = 200, description = "The job", body = Job), (status = 404, description = "Unknown job", body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<ApiJson<Job>> {
    Ok(ApiJson(Job::from(&find(&state, &id)?)))
}

/// `POST /v1/jobs/{job}/cancel`: a queued job is cancelled at once, a running one at its next batch.
#[utoipa::path(post, path = "/v1/jobs/{job}/cancel", operation_id = "cancel_job", tag = "jobs",
    params(("job" = String, Path, description = "Job id", pattern = "^[0-9a-f]{16}$")),
    summary = "Cancel a job (a running one stops after its current batch)",
    responses((status = 202, description = "The job, cancelled or cancelling", body = Job),
        (status = 404, description = "Unknown job", body = ErrorBody),
        (status = 409, description = "The job already finished (`job_finished`)", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, ApiJson<Job>)> {
    let job = find(&state, &id)?;
    if job.status.is_final() {
        return Err(ApiError::of(
            crate::error::ErrorCode::JobFinished,
            format!("job {} already {}", job.id, job.status),
        ));
    }
    if state.0.jobs.cancel_queued_job(job.id)? {
        state.0.hub.cancelled_before_start(job.id);
    } else if !state.0.hub.cancel(job.id) {
        // Running on another replica: it stops at its next heartbeat.
        state.0.jobs.request_job_cancel(job.id)?;
    }
    let job = find(&state, &id)?;
    Ok((StatusCode::ACCEPTED, ApiJson(Job::from(&job))))
}

/// `GET /v1/jobs/{job}/events`: a `snapshot` event (the job as stored), then its progress events
/// (`stage_started`, `advanced`, `stage_finished`, `item_failed`, `item_skipped`, `batch_committed`),
/// then `job_finished` (or `job_interrupted` when the server stops), after which the stream ends. With
/// replicas sharing the store, a job running on another replica sends a fresh `snapshot` whenever its
/// stored progress changes (checked every two seconds), then `job_finished`.
#[utoipa::path(get, path = "/v1/jobs/{job}/events", operation_id = "job_events", tag = "jobs",
    params(("job" = String, Path, description = "Job id", pattern = "^[0-9a-f]{16}$")),
    summary = "Live progress as Server-Sent Events: snapshot, stage_started, advanced, stage_finished, item_failed, item_skipped, batch_committed, job_finished",
    responses((status = 200, description = "An event stream: each event's `data` is a JSON object with its `type`", content_type = "text/event-stream", body = StreamEvent),
        (status = 404, description = "Unknown job", body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    // An unknown job is a 404 before any channel is made for it.
    let job_id = find(&state, &id)?.id;
    // Subscribe before reading the stored state again so no event falls between the two.
    let mut rx = state.0.hub.subscribe(job_id);
    let job = find(&state, &id)?;
    let mut shutdown = state.shutdown_signal();
    let stream = async_stream(move |tx| async move {
        let snapshot = job_json(&job);
        if tx.send(Event::default().event("snapshot").data(snapshot.to_string())).await.is_err() {
            return;
        }
        if job.status.is_final() {
            let _ = tx
                .send(Event::default().event("job_finished").data(
                    json!({"type": "job_finished", "status": job.status.as_str(), "error": job.error}).to_string(),
                ))
                .await;
            return;
        }
        let mut last_progress = job.progress.clone();
        let mut poll = tokio::time::interval(Duration::from_secs(2));
        let shared = state.0.config.shared_store;
        loop {
            tokio::select! {
                _ = poll.tick(), if shared && !state.0.hub.is_local(job_id) => {
                    let st = state.clone();
                    let Ok(Ok(Some(now))) = tokio::task::spawn_blocking(move || st.0.jobs.job(job_id)).await else { continue };
                    if now.status.is_final() {
                        let v = json!({"type": "job_finished", "status": now.status.as_str(), "error": now.error});
                        let _ = tx.send(Event::default().event("job_finished").data(v.to_string())).await;
                        return;
                    }
                    if now.progress != last_progress {
                        last_progress = now.progress.clone();
                        if tx.send(Event::default().event("snapshot").data(job_json(&now).to_string())).await.is_err() { return; }
                    }
                }
                msg = rx.recv() => match msg {
                    Ok(HubMessage::Progress(v)) => {
                        let name = v["type"].as_str().unwrap_or("progress").to_string();
                        if tx.send(Event::default().event(name).data(v.to_string())).await.is_err() { return; }
                    }
                    Ok(HubMessage::Finished(v)) => {
                        let name = v["type"].as_str().unwrap_or("job_finished").to_string();
                        let _ = tx.send(Event::default().event(name).data(v.to_string())).await;
                        return;
                    }
                    Err(RecvError::Lagged(n)) => {
                        let v = json!({"type": "lagged", "missed": n});
                        if tx.send(Event::default().event("lagged").data(v.to_string())).await.is_err() { return; }
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = shutdown.changed() => {
                    let v = json!({"type": "server_stopping"});
                    let _ = tx.send(Event::default().event("server_stopping").data(v.to_string())).await;
                    return;
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A stream fed by a task through a channel (keeps handlers free of hand-written `Stream` impls).
pub(crate) fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    tokio::spawn(f(tx));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) })
}
