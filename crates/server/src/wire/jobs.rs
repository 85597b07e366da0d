//! Jobs (ingestion, crawls, re-syncs) as the API shows them.

use serde::Serialize;
use serde_json::{json, Value};
use throughline_core::JobRecord;
use utoipa::ToSchema;

/// A job: what it does, where it is, and its per-stage counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    /// Job id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// `ingest`, `crawl` or `resync`.
    pub kind: String,
    /// The knowledge base it works on.
    pub kb: String,
    /// Where it is in its life.
    pub status: JobState,
    /// What it was asked to do (per kind: the folder or upload, the site and its crawl settings).
    #[schema(value_type = Object)]
    pub spec: Value,
    /// Per-stage counts (`stages`), the current stage, failed and skipped items with their reasons.
    #[schema(value_type = Object)]
    pub progress: Value,
    /// Why the whole job failed.
    pub error: Option<String>,
    /// Times a worker started it (a job left running by a stopped server is resumed, at most three times).
    pub attempts: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub started_at: Option<i64>,
    /// Unix seconds.
    pub finished_at: Option<i64>,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Being worked on.
    Running,
    /// Finished; items may still have failed one by one (see `progress`).
    Succeeded,
    /// Stopped with an error for the whole job.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
}

impl From<throughline_core::JobStatus> for JobState {
    fn from(s: throughline_core::JobStatus) -> Self {
        use throughline_core::JobStatus as S;
        match s {
            S::Queued => Self::Queued,
            S::Running => Self::Running,
            S::Succeeded => Self::Succeeded,
            S::Failed => Self::Failed,
            S::Cancelled => Self::Cancelled,
        }
    }
}

impl From<&JobRecord> for Job {
    fn from(job: &JobRecord) -> Self {
        let spec: Value = serde_json::from_str(&job.spec).unwrap_or(Value::Null);
        let progress = progress_json(
            &job.kind,
            serde_json::from_str(&job.progress).unwrap_or_else(|_| Value::Object(Default::default())),
        );
        Self {
            id: job.id.to_string(),
            kind: job.kind.clone(),
            kb: job.kb.clone(),
            status: job.status.into(),
            spec,
            progress,
            error: job.error.clone(),
            attempts: job.attempts,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
        }
    }
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    /// Jobs counted (the newest 10,000 at most).
    pub total: usize,
    /// Jobs in this page.
    pub limit: usize,
    /// Jobs skipped.
    pub offset: usize,
    /// The page.
    pub jobs: Vec<Job>,
}

/// One Server-Sent Event of a stream, as it arrives: its name and its JSON data.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamEvent {
    /// The event's name (`snapshot`, `advanced`, `job_finished`, …).
    pub event: String,
    /// A JSON object with the event's `type` and its fields.
    pub data: String,
}

/// The file counters of an upload or folder job, from its progress: files found (supported ones
/// plus the skipped), read, committed (documents written by committed batches), failed, skipped.
pub fn files_json(progress: &Value) -> Value {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let extract = &progress["stages"]["extract"];
    json!({
        "found": n(&extract["total"]) + n(&progress["skipped_count"]),
        "read": n(&extract["done"]),
        "committed": n(&progress["documents_committed"]),
        "failed": n(&progress["failed_count"]),
        "skipped": n(&progress["skipped_count"]),
    })
}

/// A job's progress as JSON: crawls count pages, uploads and folders count files.
pub fn progress_json(kind: &str, mut progress: Value) -> Value {
    if kind == "ingest" && progress.is_object() {
        if let Some(o) = progress.as_object_mut() {
            o.remove("pages");
        }
        progress["files"] = files_json(&progress);
    }
    progress
}
