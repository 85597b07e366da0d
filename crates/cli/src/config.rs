//! [`AppConfig`]: built once at start-up from built-in defaults, then `throughline.toml` in the data dir,
//! then `THROUGHLINE_*` environment variables, then flags; validated with messages naming the key.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;
use throughline_core::{ChunkConfig, SearchConfig};
use throughline_ingest::{IngestConfig, PdfConfig};

/// Environment variable for the largest file accepted by ingestion.
pub const ENV_MAX_FILE_BYTES: &str = "THROUGHLINE_MAX_FILE_BYTES";
/// Environment variable for the embedding batch size.
pub const ENV_EMBED_BATCH: &str = "THROUGHLINE_EMBED_BATCH";
/// Environment variable for the private-network setting (site sources, webhooks and the LLM endpoint on
/// private and loopback addresses).
pub const ENV_ALLOW_PRIVATE_NETWORK: &str = "THROUGHLINE_ALLOW_PRIVATE_NETWORK";
/// The default model folder name.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";

/// Settings read from `throughline.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    search: Option<SearchConfig>,
    chunk: Option<ChunkConfig>,
    ingest: Option<IngestFile>,
    embed: Option<EmbedFile>,
    crawl: Option<CrawlFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CrawlFile {
    /// Let site sources, webhooks and the LLM endpoint reach private and loopback addresses.
    allow_private_network: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct IngestFile {
    /// Largest file accepted, in bytes.
    max_file_bytes: Option<u64>,
    /// Documents per committed batch.
    batch_docs: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct EmbedFile {
    /// Texts per forward pass.
    batch_size: Option<usize>,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub data_dir: PathBuf,
    pub model_dir: PathBuf,
    pub search: SearchConfig,
    pub ingest: IngestConfig,
    pub embed_batch: usize,
    /// Site sources crawled by the server, agents' webhooks and the LLM endpoint may reach private and
    /// loopback addresses (cloud metadata and link-local addresses stay refused). `[crawl] allow_private_network`, the environment, or
    /// `serve --allow-private-network`.
    pub allow_private_network: bool,
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) => match v.trim().parse() {
            Ok(x) => Ok(Some(x)),
            Err(_) => bail!("{name}={v:?} is not a valid value"),
        },
        Err(_) => Ok(None),
    }
}

fn env_bool(name: &str) -> anyhow::Result<Option<bool>> {
    match std::env::var(name) {
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" | "" => Ok(Some(false)),
            _ => bail!("{name}={v:?} is not a valid value (true or false)"),
        },
        Err(_) => Ok(None),
    }
}

/// Finds a folder shipped with Throughline (`models/…`, `sample-kb`): beside the working directory,
/// beside the executable, or in the source tree the binary was built from.
pub fn shipped(relative: &Path) -> Option<PathBuf> {
    let mut candidates = vec![relative.to_path_buf()];
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join(relative));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative));
    candidates.into_iter().find(|c| c.exists())
}

/// Finds the default model folder: beside the working directory, beside the executable, or in the
/// source tree the binary was built from.
fn default_model_dir() -> PathBuf {
    let rel = Path::new("models").join(DEFAULT_MODEL);
    shipped(&rel).unwrap_or(rel)
}

impl AppConfig {
    /// Builds the configuration for `data_dir` with an optional model override.
    pub fn load(data_dir: &Path, model: Option<&Path>) -> anyhow::Result<Self> {
        let file_path = data_dir.join("throughline.toml");
        let file: FileConfig = if file_path.is_file() {
            let text = std::fs::read_to_string(&file_path).with_context(|| format!("{}", file_path.display()))?;
            toml::from_str(&text).with_context(|| format!("{}: invalid configuration", file_path.display()))?
        } else {
            FileConfig::default()
        };
        let mut ingest = IngestConfig { chunk: file.chunk.unwrap_or_default(), ..Default::default() };
        if let Some(i) = &file.ingest {
            if let Some(v) = i.max_file_bytes {
                ingest.max_file_bytes = v;
            }
            if let Some(v) = i.batch_docs {
                ingest.batch_docs = v;
            }
        }
        if let Some(v) = env_parse(ENV_MAX_FILE_BYTES)? {
            ingest.max_file_bytes = v;
        }
        let mut embed_batch = file.embed.and_then(|e| e.batch_size).unwrap_or(32);
        if let Some(v) = env_parse(ENV_EMBED_BATCH)? {
            embed_batch = v;
        }
        let mut allow_private_network = file.crawl.and_then(|c| c.allow_private_network).unwrap_or(false);
        if let Some(v) = env_bool(ENV_ALLOW_PRIVATE_NETWORK)? {
            allow_private_network = v;
        }
        ingest.pdf = PdfConfig { extractor: std::env::current_exe().ok(), ..Default::default() };
        let cfg = Self {
            data_dir: data_dir.to_path_buf(),
            model_dir: model.map(Path::to_path_buf).unwrap_or_else(default_model_dir),
            search: file.search.unwrap_or_default(),
            ingest,
            embed_batch,
            allow_private_network,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.ingest.chunk.max_tokens < 32 || self.ingest.chunk.max_tokens > 512 {
            bail!("chunk.max_tokens = {} is out of range (32..=512)", self.ingest.chunk.max_tokens);
        }
        if self.embed_batch == 0 || self.embed_batch > 1024 {
            bail!("embed.batch_size = {} is out of range (1..=1024)", self.embed_batch);
        }
        if self.ingest.batch_docs == 0 {
            bail!("ingest.batch_docs must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.search.vector_weight) {
            bail!("search.vector_weight = {} is out of range (0..=1)", self.search.vector_weight);
        }
        if self.search.candidates == 0 || self.search.candidates > 10_000 {
            bail!("search.candidates = {} is out of range (1..=10000)", self.search.candidates);
        }
        Ok(())
    }
}
