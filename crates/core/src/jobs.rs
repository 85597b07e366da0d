//! Background jobs (ingestion of uploads, crawls, re-syncs) and small settings, as records the server
//! persists so that work survives a restart: a queued or running job is resumed or marked failed with a
//! reason, never silently lost.

use std::fmt;
use std::str::FromStr;

use crate::{CoreError, JobId};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for the worker.
    Queued,
    /// Being worked on.
    Running,
    /// Finished; items may still have failed individually (see the job's counts).
    Succeeded,
    /// Stopped with an error for the whole job.
    Failed,
    /// Cancelled by a user before it finished.
    Cancelled,
}

impl JobStatus {
    /// Lowercase name for storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            other => {
                return Err(CoreError::new(
                    crate::ErrorKind::InvalidInput,
                    format!("`{other}` is not a job status (queued, running, succeeded, failed, cancelled)"),
                ))
            }
        })
    }
}

/// A persisted job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Its id.
    pub id: JobId,
    /// What it does (`ingest`, `crawl`, `resync`): the runner's business.
    pub kind: String,
    /// The knowledge base it works on.
    pub kb: String,
    /// Its parameters, as JSON chosen by the runner.
    pub spec: String,
    /// Its status.
    pub status: JobStatus,
    /// Progress counters and per-item errors, as JSON chosen by the runner (last checkpoint).
    pub progress: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// How many times a worker started it.
    pub attempts: u32,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// When a worker last started it.
    pub started_at: Option<i64>,
    /// When it reached a final status.
    pub finished_at: Option<i64>,
}

/// What happened to a job found unfinished when the server started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredJob {
    /// The job.
    pub id: JobId,
    /// Queued again (true) or marked failed because it already used its attempts (false).
    pub requeued: bool,
}

/// Persistence of jobs and of small key/value settings (the hashed admin token, for instance).
pub trait JobStore: Send + Sync {
    /// Records a new queued job.
    fn create_job(&self, kind: &str, kb: &str, spec: &str) -> Result<JobRecord, CoreError>;
    /// Records a new queued job that only this process may run, because its input lives on this
    /// process's disk (an upload). With replicas sharing the store, the job waits for this replica if
    /// it stops (and resumes when it restarts on the same data directory); a store serving one process
    /// records an ordinary job.
    fn create_job_here(&self, kind: &str, kb: &str, spec: &str) -> Result<JobRecord, CoreError> {
        self.create_job(kind, kb, spec)
    }
    /// One job.
    fn job(&self, id: JobId) -> Result<Option<JobRecord>, CoreError>;
    /// Jobs, newest first, optionally of one knowledge base.
    fn jobs(&self, kb: Option<&str>, limit: usize) -> Result<Vec<JobRecord>, CoreError>;
    /// Takes the oldest queued job of a knowledge base that has no running job and marks it running (one
    /// attempt more): jobs of one knowledge base run one after another, in order; jobs of different
    /// knowledge bases may run side by side.
    fn claim_next_job(&self) -> Result<Option<JobRecord>, CoreError>;
    /// Saves a progress checkpoint of a running job.
    fn save_job_progress(&self, id: JobId, progress: &str) -> Result<(), CoreError>;
    /// Moves a job to a final status.
    fn finish_job(&self, id: JobId, status: JobStatus, progress: &str, error: Option<&str>) -> Result<(), CoreError>;
    /// Requests cancellation of a queued job (it becomes cancelled at once); returns whether it was queued.
    fn cancel_queued_job(&self, id: JobId) -> Result<bool, CoreError>;
    /// At start-up: jobs left running by a stopped process are queued again while they have attempts left
    /// (`max_attempts`), or marked failed with a reason.
    fn recover_jobs(&self, max_attempts: u32) -> Result<Vec<RecoveredJob>, CoreError>;
    /// Jobs whose process stopped while running them, found while this one runs: with several replicas
    /// sharing one store, a job whose claim (lease) ran out because its replica died is queued again or
    /// failed, as [`recover_jobs`](Self::recover_jobs) does at start. A store serving one process has
    /// none (its running jobs are its own).
    fn take_over_jobs(&self, _max_attempts: u32) -> Result<Vec<RecoveredJob>, CoreError> {
        Ok(Vec::new())
    }
    /// Renews this process's claim on a running job; returns whether a cancellation was requested
    /// (through [`request_job_cancel`](Self::request_job_cancel), perhaps by another replica).
    fn heartbeat_job(&self, _id: JobId) -> Result<bool, CoreError> {
        Ok(false)
    }
    /// Asks whichever process runs the job to stop it at its next checkpoint; returns whether a running
    /// job was found. A store serving one process cancels in memory instead and returns false.
    fn request_job_cancel(&self, _id: JobId) -> Result<bool, CoreError> {
        Ok(false)
    }
    /// Takes or renews the lease called `name` for `ttl` unless another process holds it; returns whether
    /// this process holds it now. Periodic work (scheduling re-syncs) runs only in the holder, so it
    /// happens once however many replicas share the store. A store serving one process always grants it.
    fn acquire_lease(&self, _name: &str, _ttl: std::time::Duration) -> Result<bool, CoreError> {
        Ok(true)
    }
    /// Announces `payload` to every process sharing the store on `channel` (see the backend's listener);
    /// a store serving one process has no one else to tell.
    fn announce(&self, _channel: &str, _payload: &str) -> Result<(), CoreError> {
        Ok(())
    }
    /// A setting.
    fn setting(&self, key: &str) -> Result<Option<String>, CoreError>;
    /// Writes a setting.
    fn set_setting(&self, key: &str, value: &str) -> Result<(), CoreError>;
}
