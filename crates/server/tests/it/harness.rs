//! Starts the real server in-process on a loopback port.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use throughline_core::Embedder;
use throughline_embed::{BertEmbedder, EmbedConfig};
use throughline_server::auth::AdminAuth;
use throughline_server::{AppState, ServerConfig, Stores};
use throughline_store::SqliteStore;

pub const TOKEN: &str = "test-admin-token";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn embedder() -> Arc<BertEmbedder> {
    static E: OnceLock<Arc<BertEmbedder>> = OnceLock::new();
    E.get_or_init(|| Arc::new(BertEmbedder::load(&EmbedConfig::new(repo().join("models/all-MiniLM-L6-v2"))).unwrap()))
        .clone()
}

pub struct TestServer {
    pub base: String,
    /// The server's state (tests hold admission slots through it).
    pub state: AppState,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(data_dir: &Path) -> Self {
        // Debug builds running many servers in parallel open an agent (calibration, router training) far
        // slower than a release build: the public 10 s limit is exercised by public_load.rs with its own
        // configuration, not by every test's first chat.
        let config = ServerConfig { public_timeout: std::time::Duration::from_secs(300), ..ServerConfig::default() };
        Self::start_with(data_dir, config).await
    }

    pub async fn start_with(data_dir: &Path, config: ServerConfig) -> Self {
        Self::start_with_llm(data_dir, config, None).await
    }

    /// A server whose agents answer through the OpenAI-compatible endpoint `llm`.
    pub async fn start_with_llm(
        data_dir: &Path,
        config: ServerConfig,
        llm: Option<throughline_agent::LlmConfig>,
    ) -> Self {
        std::fs::create_dir_all(data_dir).unwrap();
        let store = Arc::new(SqliteStore::open(&data_dir.join("throughline.db")).unwrap());
        let embedder: Arc<dyn Embedder> = embedder();
        let stores = Stores { store: store.clone(), jobs: store.clone(), memory: store.clone(), access: store.clone() };
        let state = AppState::new(config, data_dir.to_path_buf(), stores, embedder, AdminAuth::from_token(TOKEN), llm);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(throughline_server::serve(
            state.clone(),
            listener,
            async move {
                let _ = rx.await;
            },
            Duration::from_secs(5),
        ));
        Self { base, state, client: reqwest::Client::new(), stop: Some(tx), handle: Some(handle) }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.put(self.url(path)).bearer_auth(TOKEN)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.url(path)).bearer_auth(TOKEN)
    }

    /// Uploads files (name, bytes) to a knowledge base; returns the response JSON (202 expected).
    pub async fn upload(&self, kb: &str, files: &[(&str, Vec<u8>)]) -> (u16, Value) {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part("files", reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()));
        }
        let res = self.post(&format!("/v1/kbs/{kb}/sources/upload")).multipart(form).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    /// Reads a job's event stream to its end; returns (event name, data) pairs.
    pub async fn job_events(&self, job: &str) -> Vec<(String, Value)> {
        let res = self.get(&format!("/v1/jobs/{job}/events")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let text = tokio::time::timeout(Duration::from_secs(300), res.text()).await.expect("the stream ends").unwrap();
        parse_sse(&text)
    }

    /// Waits until a job is final; returns it.
    pub async fn wait_job(&self, job: &str) -> Value {
        for _ in 0..1200 {
            let j: Value = self.get(&format!("/v1/jobs/{job}")).send().await.unwrap().json().await.unwrap();
            if matches!(j["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
                return j;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("job {job} did not finish");
    }
}

/// Sends a request and reads its JSON body (whatever the status).
pub async fn json(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

pub fn parse_sse(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut name = "message".to_string();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            }
        }
        if !data.is_empty() {
            out.push((name, serde_json::from_str(&data).unwrap_or(Value::String(data))));
        }
    }
    out
}

/// A few Markdown pages about the sample product.
pub fn sample_files() -> Vec<(&'static str, Vec<u8>)> {
    ["docs/getting-started.md", "help/slack-alerts-stopped.md", "help/invite-users.md"]
        .into_iter()
        .map(|p| (p, std::fs::read(repo().join("sample-kb").join(p)).unwrap()))
        .collect()
}
