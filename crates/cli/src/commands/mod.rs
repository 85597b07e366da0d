//! One module per command; [`dispatch`] wires the concrete store, embedder and indexes.

mod agent;
mod bench_embed;
mod crawl;
mod demo;
mod eval;
mod eval_answers;
mod ingest;
mod kbs;
mod migrate;
mod plans;
mod search;
mod serve;
mod stale_answers;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use throughline_core::{AccessStore, Embedder, JobStore, KnowledgeStore, MemoryStore};
use throughline_embed::{BertEmbedder, EmbedConfig};
use throughline_ingest::{KbPaths, KnowledgeBase};
use throughline_store::{is_postgres_url, PgStore, SqliteStore};

use crate::cli::{AdminTokenAction, Cli, Command, Fusion, Mode};
use crate::config::AppConfig;

/// Concrete parts shared by the commands: the configuration, the data dir's paths and the four stores,
/// all on one backend (SQLite in the data dir by default, PostgreSQL with `--database-url`).
pub struct App {
    pub config: AppConfig,
    pub paths: KbPaths,
    pub store: Arc<dyn KnowledgeStore>,
    pub memory: Arc<dyn MemoryStore>,
    pub jobs: Arc<dyn JobStore>,
    pub access: Arc<dyn AccessStore>,
    /// Where the stores live, for messages: the SQLite file or the PostgreSQL URL (password hidden).
    pub backend: String,
    /// The PostgreSQL store when the stores are shared with other replicas.
    pub shared: Option<Arc<PgStore>>,
}

/// Seconds a replica's claim on a running job lasts without renewal (PostgreSQL only; default 60).
pub const ENV_JOB_LEASE: &str = "THROUGHLINE_JOB_LEASE_SECS";

impl App {
    fn open(config: AppConfig, database_url: Option<&str>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("{}: cannot create the data directory", config.data_dir.display()))?;
        let paths = KbPaths::new(&config.data_dir);
        match database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                anyhow::ensure!(
                    is_postgres_url(url),
                    "--database-url: `{}` is not a postgres:// URL (leave it unset for SQLite in the data dir)",
                    throughline_store::redact_url(url)
                );
                let mut pg = PgStore::connect(url)?.with_replica(replica_name(&config.data_dir)?);
                if let Ok(v) = std::env::var(ENV_JOB_LEASE) {
                    let secs: u64 = v.trim().parse().ok().filter(|s| (1..=86_400).contains(s)).with_context(|| {
                        format!("{ENV_JOB_LEASE}: `{v}` is not a number of seconds from 1 to 86400")
                    })?;
                    pg = pg.with_job_lease(std::time::Duration::from_secs(secs));
                }
                let pg = Arc::new(pg);
                let backend = pg.url().to_string();
                Ok(Self {
                    config,
                    paths,
                    store: pg.clone(),
                    memory: pg.clone(),
                    jobs: pg.clone(),
                    access: pg.clone(),
                    backend,
                    shared: Some(pg),
                })
            }
            None => {
                let sqlite = Arc::new(SqliteStore::open(&paths.database())?);
                let backend = paths.database().display().to_string();
                Ok(Self {
                    config,
                    paths,
                    store: sqlite.clone(),
                    memory: sqlite.clone(),
                    jobs: sqlite.clone(),
                    access: sqlite,
                    backend,
                    shared: None,
                })
            }
        }
    }

    pub fn embedder(&self) -> anyhow::Result<Arc<BertEmbedder>> {
        let mut cfg = EmbedConfig::new(&self.config.model_dir);
        cfg.batch_size = self.config.embed_batch;
        Ok(Arc::new(BertEmbedder::load(&cfg)?))
    }

    pub fn open_kb(&self, name: &str, create: bool) -> anyhow::Result<KnowledgeBase> {
        let embedder: Arc<dyn Embedder> = self.embedder()?;
        let store = self.store.clone();
        let (kb, report) = KnowledgeBase::open(&self.paths, store, embedder, name, self.config.search.clone(), create)?;
        if report.changed() {
            eprintln!(
                "repaired indexes of `{name}` from the store: {} keyword and {} vector entries added, {} and {} removed{}",
                report.bm25_added,
                report.vector_added,
                report.bm25_removed,
                report.vector_removed,
                if report.rebuilt { " (rebuilt)" } else { "" }
            );
        }
        Ok(kb)
    }
}

/// This replica's stable name among those sharing a PostgreSQL store, kept in the data dir's
/// `replica-id` (made on first use), so a restarted replica takes back the jobs it was running.
fn replica_name(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("replica-id");
    if let Ok(name) = std::fs::read_to_string(&path) {
        let name = name.trim();
        if !name.is_empty() && name.len() <= 64 {
            return Ok(name.to_string());
        }
    }
    let name = format!("replica-{}", throughline_core::JobId::random());
    std::fs::write(&path, format!("{name}\n")).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(name)
}

pub fn to_mode(m: Mode) -> throughline_core::SearchMode {
    match m {
        Mode::Bm25 => throughline_core::SearchMode::Bm25,
        Mode::Vector => throughline_core::SearchMode::Vector,
        Mode::Hybrid => throughline_core::SearchMode::Hybrid,
    }
}

pub fn to_fusion(f: Fusion) -> throughline_core::FusionMode {
    match f {
        Fusion::Rrf => throughline_core::FusionMode::Rrf,
        Fusion::Weighted => throughline_core::FusionMode::Weighted,
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::ExtractPdf { path } = &cli.command {
        return extract_pdf(path);
    }
    let config = AppConfig::load(&cli.global.data_dir, cli.global.model.as_deref())?;
    if let Command::BenchEmbed { passages, queries, batch, passes, engine, json } = &cli.command {
        return bench_embed::run(&config, passages, queries, *batch, *passes, *engine, *json);
    }
    if let Command::Migrate { to } = &cli.command {
        return migrate::run(App::open(config, None)?, to);
    }
    let app = App::open(config, cli.global.database_url.as_deref())?;
    match cli.command {
        Command::Demo => demo::run(&app),
        Command::Ingest { kb, path, crawl: crawl_args, batch_size, max_file_bytes, json } => {
            match crawl::as_url(&path) {
                Some(url) => crawl::run(&app, &kb, &url, &crawl_args, batch_size, json),
                None => ingest::run(&app, &kb, &path, batch_size, max_file_bytes, json),
            }
        }
        Command::CrawlReport { kb, source, status, json } => crawl::report(&app, &kb, source.as_deref(), status, json),
        Command::Search { kb, query, mode, page_types, sources, limit, all_chunks, fusion, json } => {
            search::run(&app, search::Args { kb, query, mode, page_types, sources, limit, all_chunks, fusion, json })
        }
        Command::Eval { kb, queries, mode, fusion, json, verbose } => {
            eval::run(&app, &kb, &queries, mode, fusion, json, verbose)
        }
        Command::Kbs { json } => kbs::list(&app, json),
        Command::Docs { kb, json } => kbs::docs(&app, &kb, json),
        Command::DeleteKb { name } => kbs::delete(&app, &name),
        Command::Serve { addr, no_sample, allow_private_network, limits } => {
            serve::run(app, &addr, no_sample, allow_private_network, &limits)
        }
        Command::AdminToken { action: AdminTokenAction::Rotate } => serve::rotate_token(&app),
        Command::Agent { command } => agent::run(&app, command),
        Command::Chat { agent, contact, trace } => agent::chat(&app, &agent, contact.as_deref(), trace),
        Command::Event { agent, contact, name, properties } => {
            agent::event(&app, agent.as_deref(), &contact, &name, &properties)
        }
        Command::EvalAnswers { agent, queries, json, verbose } => {
            eval_answers::run(&app, &agent, &queries, json, verbose)
        }
        Command::Plans { kb, json } => plans::run(&app, &kb, json),
        Command::StaleAnswers { kb, json } => stale_answers::run(&app, &kb, json),
        Command::BenchEmbed { .. } | Command::ExtractPdf { .. } | Command::Migrate { .. } => {
            unreachable!("handled above")
        }
    }
}

/// The child side of isolated PDF extraction: text on stdout, a one-line reason on stderr.
fn extract_pdf(path: &Path) -> anyhow::Result<ExitCode> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    // Silence the default panic message: the parent reports a clean reason instead.
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(|| throughline_ingest::pdf::extract_text_in_process(&bytes)) {
        Ok(Ok(text)) => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Err(reason)) => {
            eprintln!("{reason}");
            Ok(ExitCode::from(2))
        }
        Err(_) => {
            eprintln!("the PDF parser panicked on this file (malformed PDF)");
            Ok(ExitCode::from(3))
        }
    }
}
