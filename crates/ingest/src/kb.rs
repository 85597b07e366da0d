//! [`KnowledgeBase`]: one knowledge base opened over the store, its derived indexes and the embedder.
//! Opening reconciles the indexes with the store, so whatever happened before (a crash mid-ingest, a
//! deleted or corrupt index folder) the knowledge base answers from its last committed batch.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use throughline_core::{
    BatchWrite, ChunkId, CoreError, DocId, Embedder, IndexBatch, IndexedChunk, KbId, KbInfo, KnowledgeIndex,
    KnowledgeStore, ReconcileReport, SearchConfig, SearchHit, SearchRequest, SourceId,
};
use throughline_search::{HybridIndex, IndexConfig};

use crate::{IngestError, Result};

/// Where a data directory keeps things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KbPaths {
    /// The data directory.
    pub data_dir: PathBuf,
}

impl KbPaths {
    /// Paths under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self { data_dir: data_dir.into() }
    }

    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("throughline.db")
    }

    /// The index folder of a knowledge base.
    pub fn index_dir(&self, kb: KbId) -> PathBuf {
        self.data_dir.join("indexes").join(kb.to_string())
    }
}

/// A knowledge base ready to ingest into and search.
pub struct KnowledgeBase {
    info: KbInfo,
    store: Arc<dyn KnowledgeStore>,
    index: Arc<dyn KnowledgeIndex>,
    embedder: Arc<dyn Embedder>,
}

/// Loads chunks with their documents from the store, in the shape the indexes take.
pub(crate) fn indexed_chunks(
    store: &dyn KnowledgeStore,
    kb: KbId,
    ids: &[ChunkId],
) -> Result<Vec<IndexedChunk>, CoreError> {
    Ok(store
        .chunks_with_docs(kb, ids)?
        .into_iter()
        .map(|(d, c)| IndexedChunk {
            id: c.id,
            doc_id: d.id,
            source_id: d.source_id,
            path: d.path,
            url: d.url,
            title: d.title,
            heading_path: c.heading_path,
            text: c.text,
            page_type: d.page_type,
            ordinal: c.ordinal,
            vector: c.vector,
        })
        .collect())
}

impl KnowledgeBase {
    /// Opens the knowledge base `name` (creating it when `create`), then reconciles its indexes.
    pub fn open(
        paths: &KbPaths,
        store: Arc<dyn KnowledgeStore>,
        embedder: Arc<dyn Embedder>,
        name: &str,
        search: SearchConfig,
        create: bool,
    ) -> Result<(Self, ReconcileReport)> {
        let info = if create {
            store.ensure_kb(name, &embedder.model_id(), embedder.dim())?
        } else {
            let info = store.kb(name)?.ok_or_else(|| IngestError::KbNotFound { name: name.to_string() })?;
            if info.model_id != embedder.model_id() || info.dim != embedder.dim() {
                return Err(IngestError::Core(CoreError::new(
                    throughline_core::ErrorKind::Conflict,
                    format!(
                        "knowledge base `{name}` was built with model `{}` ({} dims), not `{}` ({} dims): re-ingest it or use --model",
                        info.model_id,
                        info.dim,
                        embedder.model_id(),
                        embedder.dim()
                    ),
                )));
            }
            info
        };
        let dir = paths.index_dir(info.id);
        let index = HybridIndex::open(&dir, IndexConfig { dim: info.dim, search }).map_err(CoreError::from)?;
        let live = store.chunk_ids(info.id)?;
        let kb_id = info.id;
        let store_ref = store.clone();
        let report = index.reconcile(info.seq, &live, &move |ids| indexed_chunks(store_ref.as_ref(), kb_id, ids))?;
        if report.changed() {
            tracing::info!(kb = name, ?report, "indexes reconciled with the store");
        }
        Ok((Self { info, store, index: Arc::new(index), embedder }, report))
    }

    /// Deletes a knowledge base: its rows, then its index folder. Returns whether it existed.
    pub fn delete(paths: &KbPaths, store: &dyn KnowledgeStore, name: &str) -> Result<bool> {
        let Some(info) = store.kb(name)? else { return Ok(false) };
        store.delete_kb(info.id)?;
        let dir = paths.index_dir(info.id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| IngestError::Unreadable {
                path: dir.clone(),
                reason: format!("cannot remove index: {e}"),
            })?;
        }
        Ok(true)
    }

    /// Deletes a source: its documents leave SQLite and both indexes in one committed batch, then the
    /// source row goes. Returns the number of documents removed, or `None` when the source is unknown.
    pub fn delete_source(&self, source: SourceId) -> Result<Option<usize>> {
        let kb = self.info.id;
        if !self.store.sources(kb)?.iter().any(|s| s.id == source) {
            return Ok(None);
        }
        let docs: Vec<DocId> = self.store.documents(kb, Some(source))?.into_iter().map(|d| d.id).collect();
        let removed = docs.len();
        if !docs.is_empty() {
            let seq = self.store.commit_batch(kb, BatchWrite { upserts: Vec::new(), delete_docs: docs.clone() })?;
            self.index.apply(IndexBatch { seq, delete_docs: docs, ..Default::default() })?;
            self.index.persist()?;
        }
        self.store.delete_source(source)?;
        Ok(Some(removed))
    }

    /// Brings the indexes up to the store's latest batch when another process sharing the store
    /// committed batches since (from the stored chunks and vectors: nothing is re-embedded). Returns
    /// `None` when the knowledge base no longer exists in the store (deleted, or deleted and made anew),
    /// so the caller closes it; otherwise what changed (nothing when the index was current).
    pub fn catch_up(&self) -> Result<Option<ReconcileReport>> {
        let Some(info) = self.store.kb(&self.info.name)? else { return Ok(None) };
        if info.id != self.info.id || info.created_at != self.info.created_at {
            return Ok(None);
        }
        if self.index.applied_seq() == info.seq {
            return Ok(Some(ReconcileReport::default()));
        }
        let live = self.store.chunk_ids(info.id)?;
        let store = self.store.clone();
        let report = self.index.reconcile(info.seq, &live, &move |ids| indexed_chunks(store.as_ref(), info.id, ids))?;
        if report.changed() {
            tracing::info!(kb = %info.name, seq = info.seq, ?report, "indexes caught up with the shared store");
        }
        Ok(Some(report))
    }

    /// The knowledge base as it was when opened.
    pub fn info(&self) -> &KbInfo {
        &self.info
    }

    /// Fresh counts from the store.
    pub fn refreshed_info(&self) -> Result<KbInfo> {
        Ok(self.store.kb(&self.info.name)?.unwrap_or_else(|| self.info.clone()))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn KnowledgeStore> {
        &self.store
    }

    /// The indexes.
    pub fn index(&self) -> &Arc<dyn KnowledgeIndex> {
        &self.index
    }

    /// The embedder.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// Searches, embedding the query when the mode needs a vector.
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>> {
        if request.query.trim().is_empty() {
            // Checked before embedding; the index gives the same error for the same reason.
            return Err(CoreError::from(throughline_search::SearchError::EmptyQuery).into());
        }
        let request = spelled_out(request);
        let vector = match (&request.query_vector, request.mode.needs_vector()) {
            (_, false) => None,
            (Some(v), true) => Some(v.clone()),
            (None, true) => Some(self.embedder.embed_query(&request.query)?),
        };
        Ok(self.index.search(&request, vector.as_deref())?)
    }

    /// The query text search reads for `query`: its chat shorthand spelled out beside the short form
    /// ("env vars" → "env environment vars variables", see [`throughline_core::shorthand`]). A caller
    /// embedding queries itself (the `eval` command) embeds this text.
    pub fn searched_query(query: &str) -> String {
        throughline_core::shorthand::expand_for_search(query)
    }

    /// How many results `request` has in all, given that its search returned `returned` hits: those
    /// when they fell short of the limit, else every match (see [`KnowledgeIndex::count`]).
    pub fn total_hits(&self, request: &SearchRequest, returned: usize) -> Result<usize> {
        if returned < request.limit {
            return Ok(returned);
        }
        Ok(self.index.count(&spelled_out(request))?.max(returned))
    }
}

/// `request` as search reads it ([`KnowledgeBase::searched_query`]), copied only when that changes it.
fn spelled_out(request: &SearchRequest) -> Cow<'_, SearchRequest> {
    let query = KnowledgeBase::searched_query(&request.query);
    if query == request.query {
        Cow::Borrowed(request)
    } else {
        Cow::Owned(SearchRequest { query, ..request.clone() })
    }
}
