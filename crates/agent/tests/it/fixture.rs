//! One sample-kb knowledge base per test binary (built once, shared), a fresh agent per test, and a tiny
//! loopback HTTP server that records requests and answers with a canned body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use throughline_agent::{Agent, AgentConfig, ChatBackend};
use throughline_core::{Embedder, KnowledgeStore, MemoryStore, NoProgress, Retriever, SearchConfig};
use throughline_embed::{BertEmbedder, EmbedConfig};
use throughline_ingest::{ingest_path, IngestConfig, KbPaths, KnowledgeBase};
use throughline_store::SqliteStore;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub struct Shared {
    _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub sample: Arc<KnowledgeBase>,
    pub embedder: Arc<dyn Embedder>,
    pub paths: KbPaths,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// Builds a knowledge base called `name` from `folder` in the shared store.
pub fn build_kb(s: &Shared, name: &str, folder: &Path) -> Arc<KnowledgeBase> {
    build(&s.paths, &s.store, &s.embedder, name, folder)
}

fn build(
    paths: &KbPaths,
    store: &Arc<SqliteStore>,
    embedder: &Arc<dyn Embedder>,
    name: &str,
    folder: &Path,
) -> Arc<KnowledgeBase> {
    let store: Arc<dyn KnowledgeStore> = store.clone();
    let (kb, _) =
        KnowledgeBase::open(paths, store, embedder.clone(), name, SearchConfig::default(), true).expect("open kb");
    ingest_path(&kb, folder, &IngestConfig::default(), &NoProgress).expect("ingest");
    Arc::new(kb)
}

pub fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = KbPaths::new(dir.path());
        let store = Arc::new(SqliteStore::open(&paths.database()).expect("store"));
        let embedder: Arc<dyn Embedder> =
            Arc::new(BertEmbedder::load(&EmbedConfig::new(repo().join("models/all-MiniLM-L6-v2"))).expect("model"));
        let sample = build(&paths, &store, &embedder, "sample", &repo().join("sample-kb"));
        Shared { _dir: dir, store, sample, embedder, paths }
    })
}

/// A new agent called `name` over the sample knowledge base with derived defaults, adjusted by `edit`.
pub fn agent(name: &str, edit: impl FnOnce(&mut AgentConfig), llm: Option<ChatBackend>) -> Agent {
    let s = shared();
    agent_over(name, s.sample.clone(), edit, llm)
}

pub fn agent_over(
    name: &str,
    kb: Arc<KnowledgeBase>,
    edit: impl FnOnce(&mut AgentConfig),
    llm: Option<ChatBackend>,
) -> Agent {
    let s = shared();
    let mut cfg = AgentConfig::derive(kb.as_ref()).expect("derive");
    edit(&mut cfg);
    let memory: Arc<dyn MemoryStore> = s.store.clone();
    Agent::save(memory.as_ref(), name, &cfg).expect("save");
    let kbs: Vec<Arc<dyn Retriever>> = vec![kb];
    // Tests serve webhooks on 127.0.0.1: loopback is opened the way an operator would (metadata never is).
    let loopback = throughline_ingest::crawl::address::NetworkPolicy { allow_loopback: true, ..Default::default() };
    Agent::open(memory, name, kbs, llm).expect("open agent").with_network_policy(loopback)
}

/// A request the loopback server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Serves `n` requests on 127.0.0.1, answering each with `respond(body)` → (content type, body).
pub fn serve(
    n: usize,
    respond: impl Fn(&str) -> (String, String) + Send + 'static,
) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut headers = Vec::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                let line = line.trim_end().to_string();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    headers.push((k.trim().to_lowercase(), v.trim().to_string()));
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).expect("body");
            let body = String::from_utf8_lossy(&body).to_string();
            let (ctype, reply) = respond(&body);
            log.lock().unwrap().push(Received { request_line: request_line.trim().to_string(), headers, body });
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (url, seen)
}

static ANSWERS_KB: OnceLock<Arc<KnowledgeBase>> = OnceLock::new();

/// A small knowledge base the stage router and the answerer were never tuned on
/// (`tests/data/answers-kb`: a pricing table, a quick start, billing prose, two troubleshooting pages).
pub fn answers_kb() -> Arc<KnowledgeBase> {
    ANSWERS_KB.get_or_init(|| build_kb(shared(), "answers", &repo().join("tests/data/answers-kb"))).clone()
}

static TABLES_KB: OnceLock<Arc<KnowledgeBase>> = OnceLock::new();

/// A knowledge base whose pricing page introduces its table with a paragraph (`tests/data/tables-kb`).
pub fn tables_kb() -> Arc<KnowledgeBase> {
    TABLES_KB.get_or_init(|| build_kb(shared(), "tables", &repo().join("tests/data/tables-kb"))).clone()
}

static TUTORIALS_KB: OnceLock<Arc<KnowledgeBase>> = OnceLock::new();

/// A knowledge base with one reference page on deploy notifications and two tutorials retelling it, a
/// trial page whose answer to "what after the trial" is two paragraphs below the trial's credits, a
/// firewall page whose ports follow a second sentence introducing them, and an outbound-networking page
/// whose fix is an instruction (`tests/data/tutorials-kb`).
pub fn tutorials_kb() -> Arc<KnowledgeBase> {
    TUTORIALS_KB.get_or_init(|| build_kb(shared(), "tutorials", &repo().join("tests/data/tutorials-kb"))).clone()
}

static PLANS_KB: OnceLock<Arc<KnowledgeBase>> = OnceLock::new();

/// A knowledge base whose plans have common-word names (`Free`, `Team`, `Business`), with a how-to page
/// that describes a feature before its numbered steps and says which plan includes it
/// (`tests/data/plans-kb`).
pub fn plans_kb() -> Arc<KnowledgeBase> {
    PLANS_KB.get_or_init(|| build_kb(shared(), "plans", &repo().join("tests/data/plans-kb"))).clone()
}

static PACKAGES_KB: OnceLock<Arc<KnowledgeBase>> = OnceLock::new();

/// A knowledge base whose pricing calls its plans "packages" (the Standard package, the Pro package),
/// with a guide that says "plan" in another sense (`tests/data/packages-kb`).
pub fn packages_kb() -> Arc<KnowledgeBase> {
    PACKAGES_KB.get_or_init(|| build_kb(shared(), "packages", &repo().join("tests/data/packages-kb"))).clone()
}
