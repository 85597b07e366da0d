//! The [`KnowledgeIndex`] seam: the derived search indexes of one knowledge base (BM25 + vectors).
//! SQLite is the source of truth; an index records the last store batch it contains
//! ([`KnowledgeIndex::applied_seq`]) so it can be reconciled or rebuilt on open.

use crate::{ChunkId, CoreError, DocId, FusionMode, PageType, SourceId};

/// A chunk as the indexes need it: text fields, filter fields and its vector.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedChunk {
    /// The chunk.
    pub id: ChunkId,
    /// Its document.
    pub doc_id: DocId,
    /// The document's source.
    pub source_id: SourceId,
    /// The document's path (relative path, or URL path for crawled pages): its evaluation id.
    pub path: String,
    /// The document's full URL when crawled.
    pub url: Option<String>,
    /// The document's title.
    pub title: String,
    /// Headings above the chunk.
    pub heading_path: Vec<String>,
    /// The chunk text.
    pub text: String,
    /// The document's page type.
    pub page_type: PageType,
    /// Position of the chunk in its document.
    pub ordinal: u32,
    /// Unit vector of the chunk's embedding text.
    pub vector: Vec<f32>,
}

/// One atomic change to the indexes, mirroring one committed store batch.
#[derive(Debug, Clone, Default)]
pub struct IndexBatch {
    /// The store batch sequence number this change brings the index to.
    pub seq: u64,
    /// Documents whose chunks all leave the indexes (applied before `upserts`).
    pub delete_docs: Vec<DocId>,
    /// Single chunks that leave the indexes (reconciliation).
    pub delete_chunks: Vec<ChunkId>,
    /// Chunks to add (an existing chunk with the same id is replaced).
    pub upserts: Vec<IndexedChunk>,
}

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchMode {
    /// Keyword search only (tantivy BM25).
    Bm25,
    /// Embedding search only (HNSW cosine).
    Vector,
    /// Both, fused.
    Hybrid,
}

impl SearchMode {
    /// Every mode, in display order.
    pub const ALL: [SearchMode; 3] = [SearchMode::Bm25, SearchMode::Vector, SearchMode::Hybrid];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Bm25 => "bm25",
            SearchMode::Vector => "vector",
            SearchMode::Hybrid => "hybrid",
        }
    }

    /// Whether the mode needs a query vector.
    pub fn needs_vector(self) -> bool {
        !matches!(self, SearchMode::Bm25)
    }
}

impl std::str::FromStr for SearchMode {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SearchMode::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            CoreError::new(
                crate::ErrorKind::InvalidInput,
                format!("`{s}` is not a search mode (expected bm25, vector or hybrid)"),
            )
        })
    }
}

/// Restrictions on which chunks may match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilters {
    /// Only these page types (any when empty).
    pub page_types: Vec<PageType>,
    /// Only these sources (any when empty).
    pub sources: Vec<SourceId>,
}

impl SearchFilters {
    /// Whether a chunk with this page type and source passes.
    pub fn accepts(&self, page_type: PageType, source: SourceId) -> bool {
        (self.page_types.is_empty() || self.page_types.contains(&page_type))
            && (self.sources.is_empty() || self.sources.contains(&source))
    }
}

/// A search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The user's query text.
    pub query: String,
    /// Retrievers to use.
    pub mode: SearchMode,
    /// Most hits to return.
    pub limit: usize,
    /// Filters.
    pub filters: SearchFilters,
    /// Keep only the best chunk of each document (default true).
    pub dedupe_documents: bool,
    /// Fusion override for hybrid mode (the index's configured default when `None`).
    pub fusion: Option<FusionMode>,
    /// The query's embedding when the caller already has it (the agent embeds each question once for
    /// routing, retrieval and evidence); `None` lets the knowledge base embed `query`.
    pub query_vector: Option<Vec<f32>>,
}

impl SearchRequest {
    /// A hybrid search for `query` returning up to 10 documents.
    pub fn new(query: impl Into<String>) -> Self {
        Self {
            query: query.into(),
            mode: SearchMode::Hybrid,
            limit: 10,
            filters: SearchFilters::default(),
            dedupe_documents: true,
            fusion: None,
            query_vector: None,
        }
    }
}

/// One retriever's view of a hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrieverScore {
    /// 1-based rank in that retriever's list.
    pub rank: usize,
    /// Raw score (BM25 score, or cosine similarity).
    pub score: f32,
}

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The chunk.
    pub chunk_id: ChunkId,
    /// Its document.
    pub doc_id: DocId,
    /// Its source.
    pub source_id: SourceId,
    /// Document path (evaluation id).
    pub path: String,
    /// Full URL for crawled pages.
    pub url: Option<String>,
    /// Document title.
    pub title: String,
    /// Headings above the chunk.
    pub heading_path: Vec<String>,
    /// Page type.
    pub page_type: PageType,
    /// The chunk's full text.
    pub text: String,
    /// A short excerpt around the query terms.
    pub snippet: String,
    /// Byte ranges of `snippet` matching query terms (for highlighting).
    pub highlights: Vec<(usize, usize)>,
    /// Final score (fused for hybrid).
    pub score: f32,
    /// BM25 rank and score when BM25 found it.
    pub bm25: Option<RetrieverScore>,
    /// Vector rank and cosine similarity when vector search found it.
    pub vector: Option<RetrieverScore>,
    /// The page is one variant of a template family ("Deploy a Bun App", "Deploy a FastAPI App", …)
    /// that the question names none of, kept as the family's best while its siblings were lowered: its
    /// text fits the question's framework or language only by chance.
    pub family_variant: bool,
}

/// Loads chunks by id from the store, in the shape the indexes take (used by reconciliation).
pub type ChunkLoader<'a> = dyn Fn(&[ChunkId]) -> Result<Vec<IndexedChunk>, CoreError> + 'a;

/// What reconciliation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Chunks added to the keyword index.
    pub bm25_added: usize,
    /// Chunks removed from the keyword index.
    pub bm25_removed: usize,
    /// Chunks added to the vector index.
    pub vector_added: usize,
    /// Chunks removed from the vector index.
    pub vector_removed: usize,
    /// Whether an index had to be rebuilt from scratch (missing, corrupt or incompatible files).
    pub rebuilt: bool,
}

impl ReconcileReport {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.bm25_added + self.bm25_removed + self.vector_added + self.vector_removed > 0 || self.rebuilt
    }
}

/// The derived search indexes of one knowledge base.
pub trait KnowledgeIndex: Send + Sync {
    /// The store batch sequence number the index contains.
    fn applied_seq(&self) -> u64;
    /// Brings the index in line with the store: chunks the store no longer has are removed, chunks it
    /// has that the index lacks are loaded through `load` (from the store, no re-embedding) and added.
    /// Cheap when the index's sequence number already equals `store_seq`.
    fn reconcile(&self, store_seq: u64, live: &[ChunkId], load: &ChunkLoader<'_>)
        -> Result<ReconcileReport, CoreError>;
    /// Applies one batch atomically (BM25 commit with the sequence number as payload).
    fn apply(&self, batch: IndexBatch) -> Result<(), CoreError>;
    /// Writes any in-memory state (the vector graph) to disk.
    fn persist(&self) -> Result<(), CoreError>;
    /// Searches. `query_vector` is required for vector and hybrid modes.
    fn search(&self, request: &SearchRequest, query_vector: Option<&[f32]>) -> Result<Vec<SearchHit>, CoreError>;
    /// An estimate of how many results a search has in all: the chunks (the documents, when the request
    /// keeps one result per document) its words match under its filters; in vector mode, where every
    /// chunk is ranked, all those the filters let through.
    fn count(&self, request: &SearchRequest) -> Result<usize, CoreError>;
    /// Number of live chunks.
    fn len(&self) -> usize;
    /// Whether the index holds no chunks.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
