//! Background ingestion jobs. Jobs are rows in the store (so they survive a restart); a few workers
//! (`ServerConfig::job_workers`, two by default) take them in order, one job per knowledge base at a
//! time, so a long crawl of one knowledge base never holds another's upload behind it. Each job's progress
//! events go to live subscribers (Server-Sent Events) through [`JobHub`] and are folded into a
//! [`JobProgress`] checkpoint saved with the job after every committed batch.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use throughline_core::{CancelToken, JobId, JobRecord, JobStatus, ProgressEvent, ProgressSink, SourceId, SourceInfo};
use throughline_ingest::{crawl_site, ingest_path, IngestConfig, IngestError, KnowledgeBase};
use tokio::sync::{broadcast, Notify};

use crate::AppState;

/// What a job does, as stored in its `spec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobSpec {
    /// Ingest (or re-sync) a folder or file source.
    IngestPath {
        /// The folder or file.
        path: PathBuf,
        /// What the user did ("upload of 3 files", "re-sync").
        label: String,
    },
    /// Crawl (or re-crawl) a site.
    Crawl {
        /// The start URL.
        url: String,
        /// Crawl options.
        #[serde(default)]
        options: CrawlOptions,
    },
}

/// Crawl options a client may set (the rest are the server's defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrawlOptions {
    /// Most pages (default 500, at most 10,000).
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    #[schema(minimum = 1)]
    pub max_pages: Option<usize>,
    /// Most link hops from the start URL (default 10).
    #[serde(default, deserialize_with = "crate::wire::de::opt_count_u32")]
    pub max_depth: Option<u32>,
    /// Only URLs matching one of these globs (or `re:REGEX`).
    #[serde(default)]
    pub include: Vec<String>,
    /// Never URLs matching one of these.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Re-crawl every this many hours with conditional requests (none when absent).
    #[serde(default)]
    #[schema(minimum = 0.1, maximum = 8760.0)]
    pub resync_hours: Option<f64>,
    /// Remove stored pages even when the crawl would remove more than half of them (otherwise such a
    /// crawl keeps them and its summary says why).
    #[serde(default)]
    pub confirm_removal: bool,
}

impl JobSpec {
    /// The job kind stored with it.
    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::IngestPath { .. } => "ingest",
            JobSpec::Crawl { .. } => "crawl",
        }
    }
}

/// A problem with one item of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemIssue {
    /// File path or URL.
    pub item: String,
    /// Why.
    pub reason: String,
}

/// Counts of one stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageCounts {
    /// Units of work when known.
    pub total: Option<u64>,
    /// Units done.
    pub done: u64,
    /// Milliseconds spent, once the stage finished.
    pub elapsed_ms: Option<u64>,
}

/// Page counts of a crawl.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageCounts {
    /// URLs discovered.
    pub discovered: u64,
    /// Responses received.
    pub fetched: u64,
    /// Pages newly indexed or re-indexed.
    pub indexed: u64,
    /// Pages unchanged since the last crawl.
    pub unchanged: u64,
}

impl PageCounts {
    /// No page counted (every job but a crawl).
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// A job's progress, folded from its events (persisted as the job's checkpoint).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    /// The stage that last started.
    pub stage: Option<String>,
    /// Per-stage counts.
    pub stages: BTreeMap<String, StageCounts>,
    /// Committed batches.
    pub batches: u64,
    /// Documents written or deleted by committed batches.
    pub documents_committed: u64,
    /// Chunks written by committed batches.
    pub chunks_committed: u64,
    /// Word pieces embedded.
    pub tokens_embedded: u64,
    /// Items that failed (first 500).
    pub failed: Vec<ItemIssue>,
    /// Items skipped on purpose (first 500).
    pub skipped: Vec<ItemIssue>,
    /// Pages a crawl discovered, fetched and put in the knowledge base (indexed or unchanged); left
    /// out for uploads and folders, whose counters are files (see [`crate::wire::jobs::files_json`]).
    #[serde(default, skip_serializing_if = "PageCounts::is_zero")]
    pub pages: PageCounts,
    /// Failed items in all.
    pub failed_count: u64,
    /// Skipped items in all.
    pub skipped_count: u64,
    /// The final summary, once finished.
    pub summary: Option<Value>,
}

const MAX_LISTED: usize = 500;

/// The persisted form of a progress checkpoint (`{}` if it could not be written, which plain data never hits).
fn checkpoint_json(p: &JobProgress) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "{}".to_string())
}

impl JobProgress {
    /// Folds one event in.
    pub fn apply(&mut self, event: &ProgressEvent) {
        match event {
            ProgressEvent::StageStarted { stage, total } => {
                self.stage = Some(stage.as_str().to_string());
                self.stages.entry(stage.as_str().to_string()).or_default().total = *total;
            }
            ProgressEvent::Advanced { stage, done, tokens } => {
                self.stages.entry(stage.as_str().to_string()).or_default().done += done;
                self.tokens_embedded += tokens;
            }
            ProgressEvent::StageFinished { stage, elapsed } => {
                self.stages.entry(stage.as_str().to_string()).or_default().elapsed_ms =
                    Some(elapsed.as_millis() as u64);
            }
            ProgressEvent::ItemProblem { item, failed, reason } => {
                let (list, count) = if *failed {
                    (&mut self.failed, &mut self.failed_count)
                } else {
                    (&mut self.skipped, &mut self.skipped_count)
                };
                *count += 1;
                if list.len() < MAX_LISTED {
                    list.push(ItemIssue { item: item.clone(), reason: reason.clone() });
                }
            }
            ProgressEvent::BatchCommitted { documents, chunks, .. } => {
                self.batches += 1;
                self.documents_committed += documents;
                self.chunks_committed += chunks;
            }
            ProgressEvent::PageDiscovered { .. } => self.pages.discovered += 1,
            ProgressEvent::PageFetched { .. } => self.pages.fetched += 1,
            ProgressEvent::PageIndexed { unchanged, .. } => {
                if *unchanged {
                    self.pages.unchanged += 1
                } else {
                    self.pages.indexed += 1
                }
            }
            ProgressEvent::PageSkipped { url, reason } | ProgressEvent::PageFailed { url, reason } => {
                let failed = matches!(event, ProgressEvent::PageFailed { .. });
                self.apply(&ProgressEvent::ItemProblem { item: url.clone(), failed, reason: reason.clone() });
            }
        }
    }
}

/// The JSON form of a progress event, as streamed to clients (`type` names the event).
pub fn event_json(event: &ProgressEvent) -> Value {
    match event {
        ProgressEvent::StageStarted { stage, total } => {
            json!({"type": "stage_started", "stage": stage.as_str(), "total": total})
        }
        ProgressEvent::Advanced { stage, done, tokens } => {
            json!({"type": "advanced", "stage": stage.as_str(), "done": done, "tokens": tokens})
        }
        ProgressEvent::StageFinished { stage, elapsed } => {
            json!({"type": "stage_finished", "stage": stage.as_str(), "elapsed_ms": elapsed.as_millis() as u64})
        }
        ProgressEvent::ItemProblem { item, failed, reason } => {
            json!({"type": if *failed { "item_failed" } else { "item_skipped" }, "item": item, "reason": reason})
        }
        ProgressEvent::BatchCommitted { seq, documents, chunks } => {
            json!({"type": "batch_committed", "seq": seq, "documents": documents, "chunks": chunks})
        }
        ProgressEvent::PageDiscovered { url, depth } => json!({"type": "page_discovered", "url": url, "depth": depth}),
        ProgressEvent::PageFetched { url, status, bytes } => {
            json!({"type": "page_fetched", "url": url, "status": status, "bytes": bytes})
        }
        ProgressEvent::PageSkipped { url, reason } => json!({"type": "page_skipped", "url": url, "reason": reason}),
        ProgressEvent::PageFailed { url, reason } => json!({"type": "page_failed", "url": url, "reason": reason}),
        ProgressEvent::PageIndexed { url, path, unchanged } => {
            json!({"type": "page_indexed", "url": url, "path": path, "unchanged": unchanged})
        }
    }
}

/// A message to live subscribers of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum HubMessage {
    /// A progress event (JSON, see [`event_json`]).
    Progress(Value),
    /// The job reached a final status; the stream ends after this.
    Finished(Value),
}

/// Live channels and cancellation tokens of jobs.
#[derive(Default)]
pub struct JobHub {
    channels: Mutex<HashMap<JobId, broadcast::Sender<HubMessage>>>,
    cancels: Mutex<HashMap<JobId, CancelToken>>,
    wake: Notify,
}

impl JobHub {
    /// Subscribes to a job's live messages (the channel is created if the job has not started).
    pub fn subscribe(&self, id: JobId) -> broadcast::Receiver<HubMessage> {
        self.sender(id).subscribe()
    }

    fn sender(&self, id: JobId) -> broadcast::Sender<HubMessage> {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_insert_with(|| broadcast::channel(1024).0)
            .clone()
    }

    fn close(&self, id: JobId) {
        self.channels.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        self.cancels.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// Ends the live streams of a job cancelled before it started (its subscribers would otherwise wait
    /// for a worker that never takes it).
    pub fn cancelled_before_start(&self, id: JobId) {
        let sender = self.channels.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        if let Some(tx) = sender {
            let _ = tx.send(HubMessage::Finished(
                json!({"type": "job_finished", "status": "cancelled", "error": "cancelled before it started"}),
            ));
        }
    }

    /// Whether this process runs the job.
    pub fn is_local(&self, id: JobId) -> bool {
        self.cancels.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&id)
    }

    /// Asks a running job to stop; returns whether one was running.
    pub fn cancel(&self, id: JobId) -> bool {
        match self.cancels.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Stops every running job at its next checkpoint (shutdown).
    pub fn cancel_all(&self) {
        for token in self.cancels.lock().unwrap_or_else(|p| p.into_inner()).values() {
            token.cancel();
        }
        self.wake.notify_waiters();
    }

    /// Wakes an idle worker (a job was queued).
    pub fn notify(&self) {
        self.wake.notify_one();
    }
}

/// The JSON form of a job for the API.
pub fn job_json(job: &JobRecord) -> Value {
    serde_json::to_value(crate::wire::Job::from(job)).unwrap_or(Value::Null)
}

/// Queues a job and wakes an idle worker. A job that reads files from this process's disk (an upload,
/// a server folder) is pinned to this replica when replicas share the store; a crawl may run anywhere.
pub fn enqueue(state: &AppState, kb: &str, spec: &JobSpec) -> Result<JobRecord, throughline_core::CoreError> {
    let spec_json = serde_json::to_string(spec)
        .map_err(|e| throughline_core::CoreError::new(throughline_core::ErrorKind::Internal, e.to_string()))?;
    let job = match spec {
        JobSpec::IngestPath { .. } => state.0.jobs.create_job_here(spec.kind(), kb, &spec_json)?,
        JobSpec::Crawl { .. } => state.0.jobs.create_job(spec.kind(), kb, &spec_json)?,
    };
    state.0.hub.notify();
    Ok(job)
}

/// Runs queued jobs until shutdown with `job_workers` workers, each taking the oldest queued job of a
/// knowledge base that has none running. Call once at start, after [`recover`]; it returns when every
/// worker has stopped.
pub async fn worker(state: AppState) {
    let n = state.0.config.job_workers.max(1);
    let workers: Vec<_> = (0..n).map(|_| tokio::spawn(work(state.clone()))).collect();
    for w in workers {
        let _ = w.await;
    }
}

/// One worker: claims and runs jobs until shutdown.
async fn work(state: AppState) {
    let mut shutdown = state.shutdown_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimed = state.0.jobs.claim_next_job();
        match claimed {
            Ok(Some(job)) => {
                let st = state.clone();
                let id = job.id;
                let handle = tokio::task::spawn_blocking(move || run_job(&st, job));
                if let Err(e) = handle.await {
                    tracing::error!(job = %id, error = %e, "job panicked");
                    let _ =
                        state.0.jobs.finish_job(id, JobStatus::Failed, "{}", Some("internal error: the job panicked"));
                    state.0.hub.close(id);
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = state.0.hub.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the job queue");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// The lease that makes one replica of several the scheduler of re-syncs.
const SCHEDULER_LEASE: &str = "resync-scheduler";

/// Every minute, queues re-crawls of site sources whose re-sync interval has passed. With replicas
/// sharing the store, only the holder of the scheduler's lease does (so a re-sync fires once); another
/// replica takes the lease over three minutes after its holder stopped.
pub async fn freshness(state: AppState) {
    let mut shutdown = state.shutdown_signal();
    loop {
        let st = state.clone();
        match tokio::task::spawn_blocking(move || schedule_once(&st)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(queued = n, "re-sync of site sources queued"),
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot schedule re-syncs"),
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// At start: jobs a stopped process left running are queued again (ingestion is idempotent: committed
/// batches are skipped as unchanged) or failed after too many attempts.
pub fn recover(state: &AppState) -> Result<(), throughline_core::CoreError> {
    for r in state.0.jobs.recover_jobs(state.0.config.job_max_attempts)? {
        if r.requeued {
            tracing::info!(job = %r.id, "resuming a job interrupted by a stop");
        } else {
            tracing::warn!(job = %r.id, "a job interrupted too many times is marked failed");
        }
    }
    Ok(())
}

struct JobSink {
    state: AppState,
    id: JobId,
    progress: Mutex<JobProgress>,
    tx: broadcast::Sender<HubMessage>,
}

impl ProgressSink for JobSink {
    fn emit(&self, event: ProgressEvent) {
        let mut p = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        p.apply(&event);
        if matches!(event, ProgressEvent::BatchCommitted { .. }) {
            let checkpoint = checkpoint_json(&p);
            if let Err(e) = self.state.0.jobs.save_job_progress(self.id, &checkpoint) {
                tracing::warn!(job = %self.id, error = %e, "cannot save a job checkpoint");
            }
        }
        drop(p);
        let _ = self.tx.send(HubMessage::Progress(event_json(&event)));
    }
}

fn run_job(state: &AppState, job: JobRecord) {
    let id = job.id;
    let token = CancelToken::new();
    state.0.hub.cancels.lock().unwrap_or_else(|p| p.into_inner()).insert(id, token.clone());
    let tx = state.0.hub.sender(id);
    let _heartbeat = Heartbeat::start(state, id, token.clone());
    let sink = JobSink { state: state.clone(), id, progress: Mutex::new(JobProgress::default()), tx: tx.clone() };
    let _ = tx.send(HubMessage::Progress(json!({"type": "job_started", "attempt": job.attempts})));
    tracing::info!(job = %id, kind = %job.kind, kb = %job.kb, "job started");

    let outcome = execute(state, &job, &sink, token.clone());
    let mut progress = sink.progress.into_inner().unwrap_or_else(|p| p.into_inner());
    let shutting_down = *state.shutdown_signal().borrow();
    let (status, error) = match outcome {
        Ok(summary) => {
            // A job that left its source with no page at all failed, whatever was committed: say why.
            let failure = nothing_indexed(&summary, &progress);
            progress.summary = Some(summary);
            match failure {
                Some(reason) => (JobStatus::Failed, Some(reason)),
                None => (JobStatus::Succeeded, None),
            }
        }
        Err(IngestError::Cancelled) if shutting_down => {
            // Leave it running: the next start resumes it from its last committed batch.
            let checkpoint = checkpoint_json(&progress);
            let _ = state.0.jobs.save_job_progress(id, &checkpoint);
            let _ = tx.send(HubMessage::Finished(json!({"type": "job_interrupted", "reason": "the server is stopping; the job resumes at the next start"})));
            state.0.hub.close(id);
            return;
        }
        Err(IngestError::Cancelled) => (JobStatus::Cancelled, Some("cancelled by a user".to_string())),
        Err(e) => (JobStatus::Failed, Some(e.to_string())),
    };
    let checkpoint = checkpoint_json(&progress);
    if let Err(e) = state.0.jobs.finish_job(id, status, &checkpoint, error.as_deref()) {
        tracing::error!(job = %id, error = %e, "cannot record the end of a job");
    }
    tracing::info!(job = %id, status = %status, error = ?error, "job finished");
    let _ = tx.send(HubMessage::Finished(json!({
        "type": "job_finished", "status": status.as_str(), "error": error,
        "progress": crate::wire::jobs::progress_json(&job.kind, serde_json::to_value(&progress).unwrap_or_else(|_| json!({}))),
    })));
    state.0.hub.close(id);
}

/// Renews a running job's claim on the store every [`ServerConfig::job_heartbeat`] and stops the job
/// when a cancellation was requested through the store (from another replica); ends when dropped.
struct Heartbeat {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(state: &AppState, id: JobId, token: CancelToken) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let st = state.clone();
        let every = state.0.config.job_heartbeat;
        let thread = std::thread::Builder::new()
            .name(format!("job-{id}-heartbeat"))
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    match st.0.jobs.heartbeat_job(id) {
                        Ok(true) => {
                            tracing::info!(job = %id, "cancellation requested on another replica");
                            token.cancel();
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(job = %id, error = %e, "cannot renew the job's claim"),
                    }
                }
            })
            .ok();
        Self { stop: Some(stop), thread }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Why a finished job indexed nothing (no page or file of its source is in the knowledge base), or
/// `None` when at least one is: the counts, then the first failure (or skip) with its reason, so a crawl
/// refused by the network policy names the setting that allows it.
pub fn nothing_indexed(summary: &Value, progress: &JobProgress) -> Option<String> {
    let count = |k: &str| summary[k].as_u64().unwrap_or(0);
    if count("added") + count("updated") + count("unchanged") > 0 {
        return None;
    }
    let crawl = summary.get("start_url").is_some();
    let (what, seen) = if crawl { ("page", count("discovered")) } else { ("file", count("files_seen")) };
    let mut reason = if seen == 0 {
        format!("nothing was indexed: no {what} found")
    } else {
        format!(
            "nothing was indexed: {} {what}{} failed, {} skipped",
            progress.failed_count,
            if progress.failed_count == 1 { "" } else { "s" },
            progress.skipped_count
        )
    };
    if let Some(first) = progress.failed.first().or(progress.skipped.first()) {
        reason.push_str(&format!(" — {}: {}", first.item, first.reason));
    }
    if let Some(kept) = summary["removal_withheld"]["pages"].as_u64().filter(|n| *n > 0) {
        reason.push_str(&format!(" ({kept} page{} stored earlier kept)", if kept == 1 { "" } else { "s" }));
    }
    Some(reason)
}

/// The knowledge base's sources that are uploads (folders under the uploads directory).
fn upload_sources(state: &AppState, kb: &KnowledgeBase) -> Result<Vec<SourceInfo>, IngestError> {
    Ok(kb
        .store()
        .sources(kb.info().id)?
        .into_iter()
        .filter(|s| state.is_upload(std::path::Path::new(&s.location)))
        .collect())
}

/// Earlier uploads left with no document (every file replaced by a newer upload) are removed with their
/// folder; `current` is the upload just ingested.
fn remove_emptied_uploads(
    kb: &KnowledgeBase,
    earlier: &[SourceInfo],
    current: Option<SourceId>,
) -> Result<(), IngestError> {
    for s in earlier.iter().filter(|s| Some(s.id) != current) {
        if kb.store().documents(kb.info().id, Some(s.id))?.is_empty() {
            kb.delete_source(s.id)?;
            std::fs::remove_dir_all(&s.location).ok();
        }
    }
    Ok(())
}

fn execute(state: &AppState, job: &JobRecord, sink: &JobSink, cancel: CancelToken) -> Result<Value, IngestError> {
    let spec: JobSpec = serde_json::from_str(&job.spec).map_err(|e| {
        IngestError::Core(throughline_core::CoreError::new(
            throughline_core::ErrorKind::Internal,
            format!("job {} has an unreadable spec: {e}", job.id),
        ))
    })?;
    let kb = state.open_kb(&job.kb, true).map_err(|e| {
        IngestError::Core(throughline_core::CoreError::new(throughline_core::ErrorKind::Internal, e.message))
    })?;
    let mut summary = match spec {
        JobSpec::IngestPath { path, .. } => {
            // An upload replaces what earlier uploads held at the same paths (a revised file is a new
            // version of the same page, not a second page).
            let is_upload = state.is_upload(&path);
            let uploads = if is_upload { upload_sources(state, &kb)? } else { Vec::new() };
            let supersedes = uploads.iter().map(|s| s.id).collect();
            let cfg = IngestConfig { cancel, supersedes, ..state.0.config.ingest.clone() };
            let s = ingest_path(&kb, &path, &cfg, sink)?;
            if is_upload {
                // Housekeeping after the commit: a failure here must not fail the job that succeeded.
                if let Err(e) = remove_emptied_uploads(&kb, &uploads, s.source) {
                    tracing::warn!(kb = %job.kb, error = %e, "earlier uploads left empty were not removed");
                }
            }
            ingest_summary_json(&s)
        }
        JobSpec::Crawl { url, options } => {
            let mut cfg = state.0.config.crawl.clone();
            cfg.ingest = state.0.config.ingest.clone();
            if let Some(n) = options.max_pages {
                cfg.max_pages = n.min(10_000);
            }
            if let Some(d) = options.max_depth {
                cfg.max_depth = d;
            }
            cfg.include = options.include.clone();
            cfg.exclude = options.exclude.clone();
            cfg.confirm_removal = options.confirm_removal;
            let s = crawl_site(&kb, &url, &cfg, sink, &cancel)?;
            if s.cancelled {
                return Err(IngestError::Cancelled);
            }
            crawl_summary_json(&s)
        }
    };
    // What changed for the answers already given: those quoting text the knowledge base no longer has.
    // Only a job that changed or removed pages can have made an earlier answer stale. A failure here is
    // logged, not the job's: its data is already committed.
    let changed = ["updated", "deleted", "removed"].iter().filter_map(|k| summary[*k].as_u64()).sum::<u64>();
    if changed == 0 {
        return Ok(summary);
    }
    match throughline_core::stale_answers(state.0.store.as_ref(), state.0.memory.as_ref(), &job.kb) {
        Ok(stale) => {
            summary["stale_answers"] = json!(stale.len());
            summary["stale_conversations"] = json!(crate::wire::freshness::conversation_count(&stale));
        }
        Err(e) => tracing::warn!(kb = %job.kb, error = %e, "answers quoting changed pages were not counted"),
    }
    Ok(summary)
}

/// The settings key of a site source's crawl options.
pub fn options_key(kb: &str, url: &str) -> String {
    format!("crawl_options:{kb}:{url}")
}

/// The crawl options saved for a site source (its re-sync interval among them).
pub(crate) fn saved_options(state: &AppState, kb: &str, url: &str) -> CrawlOptions {
    state
        .0
        .jobs
        .setting(&options_key(kb, url))
        .ok()
        .flatten()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// One round of the scheduler: when this process holds the scheduler's lease (always, on a store of its
/// own), queues the re-syncs that are due; returns how many it queued.
pub fn schedule_once(state: &AppState) -> Result<usize, throughline_core::CoreError> {
    if state.0.jobs.acquire_lease(SCHEDULER_LEASE, Duration::from_secs(180))? {
        schedule_resyncs(state)
    } else {
        Ok(0)
    }
}

/// Queues a re-crawl of every site source whose re-sync interval has passed (called every minute).
pub(crate) fn schedule_resyncs(state: &AppState) -> Result<usize, throughline_core::CoreError> {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let active: Vec<(String, String)> = state
        .0
        .jobs
        .jobs(None, 500)?
        .into_iter()
        .filter(|j| !j.status.is_final())
        .filter_map(|j| match serde_json::from_str::<JobSpec>(&j.spec) {
            Ok(JobSpec::Crawl { url, .. }) => Some((j.kb, url)),
            _ => None,
        })
        .collect();
    let mut queued = 0;
    for kb in state.0.store.list_kbs()? {
        for source in state.0.store.sources(kb.id)? {
            if source.kind != throughline_core::SourceKind::Site {
                continue;
            }
            let options = saved_options(state, &kb.name, &source.location);
            let Some(hours) = options.resync_hours else { continue };
            let due = source.last_synced_at.is_none_or(|t| now - t >= (hours * 3600.0) as i64);
            if due && !active.iter().any(|(k, u)| *k == kb.name && *u == source.location) {
                enqueue(state, &kb.name, &JobSpec::Crawl { url: source.location.clone(), options })?;
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// Problems (item and reason) as JSON.
fn problems_json(v: &[throughline_ingest::ItemProblem]) -> Vec<Value> {
    v.iter().map(|p| json!({"item": p.item, "reason": p.reason})).collect()
}

/// Milliseconds per pipeline stage.
fn stage_ms(times: &[(throughline_core::IngestStage, Duration)]) -> serde_json::Map<String, Value> {
    times.iter().map(|(st, d)| (st.as_str().to_string(), json!(d.as_millis() as u64))).collect()
}

/// The one view of an ingestion's outcome: a job's `summary` here, `throughline ingest --json` (which
/// adds the knowledge base's name and totals). `failed` and `skipped` count; `failed_items`,
/// `skipped_items` and `truncated` say which and why; times are milliseconds.
pub fn ingest_summary_json(s: &throughline_ingest::IngestSummary) -> Value {
    json!({
        "source_id": s.source.map(|s| s.to_string()),
        "files_seen": s.files_seen,
        "added": s.added,
        "updated": s.updated,
        "unchanged": s.unchanged,
        "deleted": s.deleted,
        "chunks_written": s.chunks_written,
        "tokens_embedded": s.tokens_embedded,
        "batches": s.batches,
        "failed": s.failed.len(),
        "skipped": s.skipped.len(),
        "failed_items": problems_json(&s.failed),
        "skipped_items": problems_json(&s.skipped),
        "truncated": problems_json(&s.truncated),
        "elapsed_ms": s.elapsed.as_millis() as u64,
        "stage_ms": stage_ms(&s.stage_times),
    })
}

/// The one view of a crawl's outcome: a job's `summary` here, `throughline crawl --json` (which adds the
/// knowledge base's name and totals). Times are milliseconds.
pub fn crawl_summary_json(s: &throughline_ingest::CrawlSummary) -> Value {
    let pages = s.added + s.updated + s.unchanged;
    json!({
        "source_id": s.source.to_string(),
        "start_url": s.start_url,
        "discovered": s.discovered,
        "fetched": s.fetched,
        "added": s.added,
        "updated": s.updated,
        "unchanged": s.unchanged,
        "removed": s.removed,
        "removal_withheld": s.removal_withheld.as_ref().map(|(n, why)| json!({"pages": n, "reason": why})),
        "skipped": s.skipped,
        "failed": s.failed,
        "conditional_requests": s.conditional_requests,
        "not_modified": s.not_modified,
        "bytes_fetched": s.bytes_fetched,
        "chunks_written": s.chunks_written,
        "tokens_embedded": s.tokens_embedded,
        "batches": s.batches,
        "reasons": s.reasons.iter().map(|(st, r, n)| json!({"status": st.as_str(), "reason": r, "count": n})).collect::<Vec<_>>(),
        "cancelled": s.cancelled,
        "elapsed_ms": s.elapsed.as_millis() as u64,
        "stage_ms": stage_ms(&s.stage_times),
        "fetch_busy_ms": s.fetch_busy.as_millis() as u64,
        "pages_per_second": pages as f64 / s.elapsed.as_secs_f64().max(1e-6),
    })
}
