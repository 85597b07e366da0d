//! The [`KnowledgeStore`] seam: metadata and chunk storage (SQLite by default). It is the single source
//! of truth: chunk text and vectors live here, and the search indexes are rebuilt from it.

use crate::{ChunkId, CoreError, CrawlRecord, DocId, KbId, PageType, Plan, SourceId};

/// A knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct KbInfo {
    /// Its id (derived from the name).
    pub id: KbId,
    /// Its unique name.
    pub name: String,
    /// The embedding model its vectors come from.
    pub model_id: String,
    /// The vector dimension.
    pub dim: usize,
    /// Committed batches so far; derived indexes compare theirs with it.
    pub seq: u64,
    /// Creation time, seconds since the Unix epoch.
    pub created_at: i64,
    /// Documents stored.
    pub documents: u64,
    /// Chunks stored.
    pub chunks: u64,
}

/// Where documents come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A folder on disk.
    Folder,
    /// A single file.
    File,
    /// A crawled site.
    Site,
}

impl SourceKind {
    /// Lowercase name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Folder => "folder",
            SourceKind::File => "file",
            SourceKind::Site => "site",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "folder" => Some(SourceKind::Folder),
            "file" => Some(SourceKind::File),
            "site" => Some(SourceKind::Site),
            _ => None,
        }
    }
}

/// A source of a knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Its id.
    pub id: SourceId,
    /// Its knowledge base.
    pub kb: KbId,
    /// Folder, file or site.
    pub kind: SourceKind,
    /// Canonical path or URL.
    pub location: String,
    /// When it was last ingested completely (seconds since the epoch), if ever.
    pub last_synced_at: Option<i64>,
}

/// A stored document's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentMeta {
    /// Its id.
    pub id: DocId,
    /// Its source.
    pub source_id: SourceId,
    /// Path relative to the source folder, or URL path: the evaluation id.
    pub path: String,
    /// Full URL for crawled pages.
    pub url: Option<String>,
    /// Title.
    pub title: String,
    /// Description, when known.
    pub description: Option<String>,
    /// Page type.
    pub page_type: PageType,
    /// Hash of the extracted content.
    pub content_hash: String,
    /// Size of the raw input in bytes.
    pub byte_size: u64,
    /// Number of chunks.
    pub chunk_count: u32,
    /// When it was last written (seconds since the epoch).
    pub updated_at: i64,
}

/// A stored chunk with its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChunk {
    /// Its id.
    pub id: ChunkId,
    /// Its document.
    pub doc_id: DocId,
    /// Position in the document.
    pub ordinal: u32,
    /// Headings above it.
    pub heading_path: Vec<String>,
    /// Its text.
    pub text: String,
    /// Word pieces of its embedding text.
    pub token_count: u32,
    /// Its unit vector.
    pub vector: Vec<f32>,
}

/// One atomic write: documents replaced (with all their chunks) and documents deleted.
#[derive(Debug, Clone, Default)]
pub struct BatchWrite {
    /// Documents to insert or replace, each with its complete chunk list.
    pub upserts: Vec<(DocumentMeta, Vec<StoredChunk>)>,
    /// Documents to delete with their chunks.
    pub delete_docs: Vec<DocId>,
}

/// Metadata and chunk storage for knowledge bases.
pub trait KnowledgeStore: Send + Sync {
    /// Creates a knowledge base, or returns the existing one with that name.
    fn ensure_kb(&self, name: &str, model_id: &str, dim: usize) -> Result<KbInfo, CoreError>;
    /// The knowledge base called `name`.
    fn kb(&self, name: &str) -> Result<Option<KbInfo>, CoreError>;
    /// All knowledge bases.
    fn list_kbs(&self) -> Result<Vec<KbInfo>, CoreError>;
    /// Deletes a knowledge base with its sources, documents and chunks. Returns whether it existed.
    fn delete_kb(&self, kb: KbId) -> Result<bool, CoreError>;
    /// Records a source (idempotent).
    fn ensure_source(&self, kb: KbId, kind: SourceKind, location: &str) -> Result<SourceInfo, CoreError>;
    /// Sources of a knowledge base.
    fn sources(&self, kb: KbId) -> Result<Vec<SourceInfo>, CoreError>;
    /// Deletes a source row once its documents are gone (see `commit_batch`); returns whether it existed.
    /// Its remaining documents and chunks are deleted with it.
    fn delete_source(&self, source: SourceId) -> Result<bool, CoreError>;
    /// Marks a source as completely synced now.
    fn mark_source_synced(&self, source: SourceId) -> Result<(), CoreError>;
    /// Documents of a knowledge base (of one source when given).
    fn documents(&self, kb: KbId, source: Option<SourceId>) -> Result<Vec<DocumentMeta>, CoreError>;
    /// Commits a batch atomically and returns the knowledge base's new sequence number.
    fn commit_batch(&self, kb: KbId, batch: BatchWrite) -> Result<u64, CoreError>;
    /// Ids of every chunk currently stored for the knowledge base.
    fn chunk_ids(&self, kb: KbId) -> Result<Vec<ChunkId>, CoreError>;
    /// The versions of page `path` the knowledge base holds now (several sources may hold the same path):
    /// when each was stored, and its text (its chunks in order, joined by spaces). Empty when none does.
    fn page_versions(&self, kb: KbId, path: &str) -> Result<Vec<(i64, String)>, CoreError>;
    /// Chunks by id with their document metadata (missing ids are left out).
    fn chunks_with_docs(&self, kb: KbId, ids: &[ChunkId]) -> Result<Vec<(DocumentMeta, StoredChunk)>, CoreError>;
    /// The crawl report of a knowledge base's site sources (of one source when given), ordered by source
    /// then URL.
    fn crawl_records(&self, kb: KbId, source: Option<SourceId>) -> Result<Vec<CrawlRecord>, CoreError>;
    /// Replaces the crawl report of one site source with `records`, atomically.
    fn replace_crawl_records(&self, source: SourceId, records: &[CrawlRecord]) -> Result<(), CoreError>;
    /// Replaces the pricing plans extracted from document `doc` (an empty list removes them). Plans go
    /// with their document: deleting the document deletes them.
    fn replace_plans(&self, kb: KbId, doc: DocId, plans: &[Plan]) -> Result<(), CoreError>;
    /// The knowledge base's plan catalogue: the hand-edited one when there is one, else every plan
    /// extracted from its pricing pages, in page order.
    fn plans(&self, kb: KbId) -> Result<Vec<Plan>, CoreError>;
    /// The plans extracted from the pricing pages, ignoring any edit.
    fn extracted_plans(&self, kb: KbId) -> Result<Vec<Plan>, CoreError>;
    /// Replaces the catalogue by a hand-edited one (kept across re-ingestion), or with `None` goes back to
    /// the extracted plans.
    fn set_plan_edits(&self, kb: KbId, plans: Option<&[Plan]>) -> Result<(), CoreError>;
    /// When the catalogue was last edited by hand (seconds since the epoch), if it was.
    fn plans_edited_at(&self, kb: KbId) -> Result<Option<i64>, CoreError>;
}
