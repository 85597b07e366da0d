//! Knowledge bases, their sources and documents, and the crawl report, as the API shows them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use throughline_core::{CrawlRecord, DocumentMeta, KbInfo};
use utoipa::ToSchema;

use super::Job;

/// A knowledge base.
#[derive(Debug, Serialize, ToSchema)]
pub struct Kb {
    /// Its name (letters, digits, `-`, `_`), unique.
    pub name: String,
    /// Its id: every `/v1/kbs/{kb}` path takes it as well as the name.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// The embedding model its vectors come from.
    pub model: String,
    /// Dimensions of its vectors.
    pub dim: usize,
    /// Documents stored.
    pub documents: u64,
    /// Chunks stored.
    pub chunks: u64,
    /// Batches committed (the store's sequence number, which the indexes follow).
    pub batches: u64,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<&KbInfo> for Kb {
    fn from(kb: &KbInfo) -> Self {
        Self {
            name: kb.name.clone(),
            id: kb.id.to_string(),
            model: kb.model_id.clone(),
            dim: kb.dim,
            documents: kb.documents,
            chunks: kb.chunks,
            batches: kb.seq,
            created_at: kb.created_at,
        }
    }
}

/// A knowledge base with its sources and its documents counted by page type.
#[derive(Debug, Serialize, ToSchema)]
pub struct KbDetail {
    /// The knowledge base.
    #[serde(flatten)]
    pub kb: Kb,
    /// Where its documents come from.
    pub sources: Vec<Source>,
    /// Documents per page type (`docs`, `help`, `pricing`, …).
    pub page_types: BTreeMap<String, usize>,
}

/// A page of knowledge bases.
#[derive(Debug, Serialize, ToSchema)]
pub struct KbList {
    /// Knowledge bases in all.
    pub total: usize,
    /// Knowledge bases in this page.
    pub limit: usize,
    /// Knowledge bases skipped.
    pub offset: usize,
    /// The page.
    pub kbs: Vec<Kb>,
}

/// Body of `POST /v1/kbs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKb {
    /// The new knowledge base's name: 1 to 64 letters, digits, `-` or `_`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
}

/// Where documents come from: an upload, a folder or file on the server, or a crawled site.
#[derive(Debug, Serialize, ToSchema)]
pub struct Source {
    /// Source id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// `upload`, `folder`, `file` or `site`.
    pub kind: String,
    /// What to call it: the uploaded name (`docs.zip`), the folder or the site.
    pub name: String,
    /// The folder, file or start URL.
    pub location: String,
    /// Documents stored from it.
    pub documents: usize,
    /// Unix seconds of its last ingestion or crawl.
    pub last_synced_at: Option<i64>,
}

/// A page of sources.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    /// Sources in all.
    pub total: usize,
    /// Sources in this page.
    pub limit: usize,
    /// Sources skipped.
    pub offset: usize,
    /// The page.
    pub sources: Vec<Source>,
}

/// A stored document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Document {
    /// Document id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub id: String,
    /// Its source's id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub source_id: String,
    /// Its path in its source.
    pub path: String,
    /// Its URL (crawled pages).
    pub url: Option<String>,
    /// Its title.
    pub title: String,
    /// `docs`, `help`, `pricing`, `faq`, `blog`, `changelog`, `legal` or `other`.
    pub page_type: String,
    /// Chunks it was split into.
    pub chunks: u32,
    /// Size of its text.
    pub bytes: u64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl From<&DocumentMeta> for Document {
    fn from(d: &DocumentMeta) -> Self {
        Self {
            id: d.id.to_string(),
            source_id: d.source_id.to_string(),
            path: d.path.clone(),
            url: d.url.clone(),
            title: d.title.clone(),
            page_type: d.page_type.as_str().to_string(),
            chunks: d.chunk_count,
            bytes: d.byte_size,
            updated_at: d.updated_at,
        }
    }
}

/// A page of documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    /// Documents in all.
    pub total: usize,
    /// Documents in this page.
    pub limit: usize,
    /// Documents skipped.
    pub offset: usize,
    /// The page.
    pub documents: Vec<Document>,
}

/// An upload accepted: the job that ingests it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadAccepted {
    /// The queued ingestion job.
    pub job: Job,
    /// Files received (a zip archive counts its files).
    pub files: usize,
    /// Bytes received.
    pub bytes: u64,
}

/// Work accepted: the queued job that does it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    /// The queued job.
    pub job: Job,
}

/// A source removed with its documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceDeleted {
    /// Documents removed from the store and both indexes.
    pub deleted_documents: usize,
    /// The removed source's id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub source: String,
}

/// Every URL a crawl discovered, with its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrawlReport {
    /// The site source's id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub source: String,
    /// URLs per status (`indexed`, `unchanged`, `skipped`, `failed`).
    pub counts: BTreeMap<String, usize>,
    /// The URLs.
    pub pages: Vec<CrawlPage>,
}

/// One URL of a crawl.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrawlPage {
    /// The URL.
    pub url: String,
    /// `indexed`, `unchanged`, `skipped` or `failed`.
    pub status: String,
    /// Why (for skipped and failed URLs).
    pub reason: String,
    /// Link hops from the start URL.
    pub depth: u32,
    /// The stored document's path.
    pub path: Option<String>,
    /// Unix seconds.
    pub checked_at: i64,
}

impl From<&CrawlRecord> for CrawlPage {
    fn from(r: &CrawlRecord) -> Self {
        Self {
            url: r.url.clone(),
            status: r.status.as_str().to_string(),
            reason: r.reason.clone(),
            depth: r.depth,
            path: r.doc_path.clone(),
            checked_at: r.checked_at,
        }
    }
}
