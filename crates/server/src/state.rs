//! [`AppState`]: what every handler reaches, built once at the edge (the `throughline` binary) from
//! concrete parts behind the traits of `throughline_core`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use throughline_agent::{Agent, LlmConfig};
use throughline_core::{AccessStore, Embedder, JobStore, KnowledgeStore, MemoryStore, SearchConfig};
use throughline_ingest::{CrawlConfig, IngestConfig, KbPaths, KnowledgeBase};

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::jobs::JobHub;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// The server setting that lets site sources, webhooks and the LLM endpoint reach private and loopback
/// addresses, as named in a refusal's reason (link-local and cloud metadata endpoints stay refused
/// whatever it says).
pub const PRIVATE_NETWORK_SETTING: &str = "the server setting `throughline serve --allow-private-network` \
     (or THROUGHLINE_ALLOW_PRIVATE_NETWORK=true, or `allow_private_network = true` under [crawl] in throughline.toml)";

/// Limits and settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest JSON body accepted. Default 1 MiB.
    pub max_json_bytes: usize,
    /// Largest upload (all files of one request together). Default 100 MiB.
    pub max_upload_bytes: usize,
    /// Largest total size of the files unpacked from one zip archive. Default 500 MiB.
    pub max_unzipped_bytes: u64,
    /// Most files in one upload or archive. Default 10,000.
    pub max_upload_files: usize,
    /// Time limit of an ordinary (non-streaming) request. Default 30 s.
    pub request_timeout: std::time::Duration,
    /// Public endpoints: sustained requests per second per client address, and burst. Default 5/s, 20.
    pub public_rate_per_sec: f64,
    /// Burst of the public rate limit.
    pub public_burst: f64,
    /// Time limit of a public request (chat, sessions, widget configuration, OpenAI-compatible), queue
    /// wait included; over it the visitor gets 503 `timeout` with `Retry-After`. Streams are bound only
    /// until their first byte. Default 10 s.
    pub public_timeout: std::time::Duration,
    /// Concurrency and queue limits of the public chat.
    pub admission: crate::admission::AdmissionConfig,
    /// A connection must send a request's complete headers within this time, which also bounds how
    /// long a kept-alive connection may sit between requests. Default 10 s.
    pub header_read_timeout: std::time::Duration,
    /// A connection with no bytes read or written for this long is closed (a client that stopped
    /// reading its response, a stalled upload). Default 60 s; event streams send a comment every 15 s.
    pub idle_timeout: std::time::Duration,
    /// Times an interrupted job is started before it is marked failed. Default 3.
    pub job_max_attempts: u32,
    /// Jobs run at once, each of a different knowledge base (one knowledge base's jobs run in order).
    /// Default 2: a long crawl of one knowledge base does not hold another's upload behind it.
    pub job_workers: usize,
    /// Ingestion settings for jobs.
    pub ingest: IngestConfig,
    /// Crawl settings for site sources (clients may narrow pages, depth and patterns per source).
    /// `crawl.allow_private_network` is the server-level private-network setting: every crawl and
    /// re-sync the server runs uses it; refusals name [`PRIVATE_NETWORK_SETTING`].
    pub crawl: CrawlConfig,
    /// Search settings for opened knowledge bases.
    pub search: SearchConfig,
    /// Serve the web UI from this folder instead of the copy embedded in the binary (UI development:
    /// edit and reload without rebuilding). `THROUGHLINE_WEB_DIR` in the binary.
    pub web_dir: Option<PathBuf>,
    /// Run queued jobs and scheduled re-syncs in this process. Default true; with false, jobs are
    /// accepted and stay queued (kept in SQLite) until a process that runs them starts.
    pub run_jobs: bool,
    /// Other replicas share the store (PostgreSQL): follow their batches, relay live events, take over
    /// the jobs of replicas that stopped (see [`crate::replicas`]). Default false (one process).
    pub shared_store: bool,
    /// How often a running job renews its claim and looks for a cancellation requested on another
    /// replica (a quarter of the store's job lease).
    pub job_heartbeat: std::time::Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_json_bytes: 1 << 20,
            max_upload_bytes: 100 << 20,
            max_unzipped_bytes: 500 << 20,
            max_upload_files: 10_000,
            request_timeout: std::time::Duration::from_secs(30),
            public_rate_per_sec: 5.0,
            public_burst: 20.0,
            public_timeout: std::time::Duration::from_secs(10),
            admission: crate::admission::AdmissionConfig::default(),
            header_read_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(60),
            job_max_attempts: 3,
            job_workers: 2,
            ingest: IngestConfig::default(),
            crawl: CrawlConfig { private_network_setting: PRIVATE_NETWORK_SETTING, ..CrawlConfig::default() },
            search: SearchConfig::default(),
            web_dir: None,
            run_jobs: true,
            shared_store: false,
            job_heartbeat: std::time::Duration::from_secs(15),
        }
    }
}

/// The storage behind the server, each part through its trait (one SQLite database by default).
#[derive(Clone)]
pub struct Stores {
    /// Knowledge bases, documents and chunks.
    pub store: Arc<dyn KnowledgeStore>,
    /// Jobs and settings.
    pub jobs: Arc<dyn JobStore>,
    /// Agents and per-contact memory.
    pub memory: Arc<dyn MemoryStore>,
    /// Publications and visitor sessions.
    pub access: Arc<dyn AccessStore>,
}

/// Shared state of the server (cheap to clone).
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub config: ServerConfig,
    pub paths: KbPaths,
    pub store: Arc<dyn KnowledgeStore>,
    pub jobs: Arc<dyn JobStore>,
    pub embedder: Arc<dyn Embedder>,
    pub memory: Arc<dyn MemoryStore>,
    pub access: Arc<dyn AccessStore>,
    pub llm: Option<LlmConfig>,
    pub agents: RwLock<HashMap<String, Arc<Agent>>>,
    pub kbs: RwLock<HashMap<String, Arc<KnowledgeBase>>>,
    pub hub: JobHub,
    pub live: crate::live::SessionHub,
    pub auth: AdminAuth,
    pub limiter: RateLimiter,
    pub metrics: Metrics,
    pub shutdown: tokio::sync::watch::Sender<bool>,
    pub admission: crate::admission::Admission,
    /// Held while an agent is being opened, so simultaneous first chats open it once.
    pub opening: std::sync::Mutex<()>,
    /// This process's name among replicas (relayed events carry it, so none comes back to its origin).
    pub replica: String,
    /// The shared store's announcements, until [`crate::serve`] starts following them.
    pub notices: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<(String, String)>>>,
}

impl AppState {
    /// Builds the state over a data directory's parts. `auth` holds the admin token check; `llm`, when
    /// given, is the OpenAI-compatible backend agents answer with.
    pub fn new(
        config: ServerConfig,
        data_dir: PathBuf,
        stores: Stores,
        embedder: Arc<dyn Embedder>,
        auth: AdminAuth,
        llm: Option<LlmConfig>,
    ) -> Self {
        let Stores { store, jobs, memory, access } = stores;
        let limiter = RateLimiter::new(config.public_rate_per_sec, config.public_burst);
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let admission = crate::admission::Admission::new(config.admission.clone());
        Self(Arc::new(Inner {
            config,
            paths: KbPaths::new(data_dir),
            store,
            jobs,
            embedder,
            memory,
            access,
            llm,
            agents: RwLock::new(HashMap::new()),
            kbs: RwLock::new(HashMap::new()),
            hub: JobHub::default(),
            live: crate::live::SessionHub::default(),
            auth,
            limiter,
            metrics: Metrics::default(),
            shutdown,
            admission,
            opening: std::sync::Mutex::new(()),
            replica: format!("{}-{}", std::process::id(), throughline_core::JobId::random()),
            notices: std::sync::Mutex::new(None),
        }))
    }

    /// Hands over the shared store's announcements (channel, payload), which [`crate::serve`] follows
    /// when [`ServerConfig::shared_store`] is set.
    pub fn with_notices(self, notices: tokio::sync::mpsc::UnboundedReceiver<(String, String)>) -> Self {
        *self.0.notices.lock().unwrap_or_else(|p| p.into_inner()) = Some(notices);
        self
    }

    /// This process's name among replicas.
    pub fn replica(&self) -> &str {
        &self.0.replica
    }

    /// The agents' memory store.
    pub fn memory(&self) -> &dyn MemoryStore {
        self.0.memory.as_ref()
    }

    /// Where uploaded files are kept: one folder per upload under `uploads/<kb>/`.
    pub fn uploads_dir(&self) -> PathBuf {
        self.0.paths.data_dir.join("uploads")
    }

    /// Whether `location` (a source's location or a path to ingest) lies in the uploads folder.
    pub fn is_upload(&self, location: &std::path::Path) -> bool {
        let dir = std::fs::canonicalize(self.uploads_dir());
        let location = std::fs::canonicalize(location).unwrap_or_else(|_| location.to_path_buf());
        dir.is_ok_and(|d| location.starts_with(d))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The open knowledge base `name` (opened, and its indexes reconciled, on first use).
    pub fn kb(&self, name: &str) -> ApiResult<Arc<KnowledgeBase>> {
        if let Some(kb) = self.0.kbs.read().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(kb.clone());
        }
        if self.0.store.kb(name)?.is_none() {
            return Err(ApiError::not_found("knowledge base", name));
        }
        self.open_kb(name, false)
    }

    /// Opens (creating when `create`) the knowledge base `name` and keeps it open.
    pub fn open_kb(&self, name: &str, create: bool) -> ApiResult<Arc<KnowledgeBase>> {
        let mut kbs = self.0.kbs.write().unwrap_or_else(|p| p.into_inner());
        if let Some(kb) = kbs.get(name) {
            return Ok(kb.clone());
        }
        let (kb, report) = KnowledgeBase::open(
            &self.0.paths,
            self.0.store.clone(),
            self.0.embedder.clone(),
            name,
            self.0.config.search.clone(),
            create,
        )?;
        if report.changed() {
            tracing::info!(kb = name, ?report, "indexes reconciled with the store");
        }
        let kb = Arc::new(kb);
        kbs.insert(name.to_string(), kb.clone());
        Ok(kb)
    }

    /// Forgets an open knowledge base (before deleting it).
    pub(crate) fn close_kb(&self, name: &str) -> Option<Arc<KnowledgeBase>> {
        self.0.kbs.write().unwrap_or_else(|p| p.into_inner()).remove(name)
    }

    /// Asks long work and open streams to stop (graceful shutdown).
    pub fn begin_shutdown(&self) {
        let _ = self.0.shutdown.send(true);
        self.0.admission.close();
        self.0.hub.cancel_all();
    }

    /// Admission control of the public chat.
    pub fn admission(&self) -> &crate::admission::Admission {
        &self.0.admission
    }

    /// Whether shutdown began.
    pub fn stopping(&self) -> bool {
        *self.0.shutdown.borrow()
    }

    /// A receiver that turns true when shutdown begins.
    pub(crate) fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.shutdown.subscribe()
    }
}
