//! [`HybridIndex`]: the keyword and vector indexes of one knowledge base behind
//! [`KnowledgeIndex`], with fusion, per-document dedupe and snippets.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use throughline_core::{
    ChunkId, ChunkLoader, CoreError, FusionMode, IndexBatch, IndexedChunk, KnowledgeIndex, ReconcileReport,
    RetrieverScore, SearchConfig, SearchHit, SearchMode, SearchRequest,
};

use crate::bm25::{Bm25Index, ParsedQuery, StoredHit};
use crate::vectors::VectorIndex;
use crate::SearchError;
use crate::{families, fusion};

/// How to open an index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexConfig {
    /// Vector dimension of the knowledge base's model.
    pub dim: usize,
    /// Search tuning.
    pub search: SearchConfig,
}

/// Keyword + vector index of one knowledge base.
pub struct HybridIndex {
    bm25: Bm25Index,
    vectors: VectorIndex,
    config: SearchConfig,
    started_fresh: bool,
}

/// Chunks loaded from the store per reconciliation step.
const RECONCILE_BATCH: usize = 512;

impl HybridIndex {
    /// Opens (or creates) the indexes under `dir` (`dir/bm25`, `dir/vectors`).
    pub fn open(dir: &Path, config: IndexConfig) -> Result<Self, SearchError> {
        let (bm25, bm25_fresh) = Bm25Index::open(&dir.join("bm25"))?;
        let (vectors, vec_fresh) = VectorIndex::open(&dir.join("vectors"), config.dim);
        Ok(Self { bm25, vectors, config: config.search, started_fresh: bm25_fresh || vec_fresh })
    }

    fn snippet(&self, parsed: Option<&ParsedQuery>, text: &str) -> (String, Vec<(usize, usize)>) {
        if let Some(gen) = parsed.and_then(|p| self.bm25.snippets(p, self.config.snippet_chars).ok()) {
            let s = gen.snippet(text);
            if !s.highlighted().is_empty() {
                let ranges = s.highlighted().iter().map(|r| (r.start, r.end)).collect();
                return (s.fragment().to_string(), ranges);
            }
        }
        (leading_excerpt(text, self.config.snippet_chars), Vec::new())
    }

    fn search_inner(&self, req: &SearchRequest, qv: Option<&[f32]>) -> Result<Vec<SearchHit>, SearchError> {
        if req.query.trim().is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        let k = self.config.candidates.max(req.limit * 4).max(1);
        let parsed = match self.bm25.parse(&req.query) {
            Ok(p) => Some(p),
            // A query of punctuation only has no terms: vector search can still try, keyword search finds
            // nothing.
            Err(SearchError::EmptyQuery) if req.mode != SearchMode::Bm25 => None,
            Err(SearchError::EmptyQuery) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let bm25: Vec<(ChunkId, f32)> = match (&parsed, req.mode) {
            (Some(p), SearchMode::Bm25 | SearchMode::Hybrid) => self.bm25.search(p, &req.filters, k)?,
            _ => Vec::new(),
        };
        let vector: Vec<(ChunkId, f32)> = if req.mode.needs_vector() {
            let qv = qv.ok_or(SearchError::MissingVector { mode: req.mode.as_str() })?;
            self.vectors.search(qv, k, self.config.ef_search.max(k), &req.filters)?
        } else {
            Vec::new()
        };
        let fused: Vec<(ChunkId, f32)> = match req.mode {
            SearchMode::Bm25 => bm25.clone(),
            SearchMode::Vector => vector.clone(),
            SearchMode::Hybrid => match req.fusion.unwrap_or(self.config.fusion) {
                FusionMode::Rrf => {
                    let lists = [bm25.iter().map(|x| x.0).collect(), vector.iter().map(|x| x.0).collect()];
                    fusion::rrf(&lists, self.config.rrf_k)
                }
                FusionMode::Weighted => fusion::weighted(&bm25, &vector, self.config.vector_weight),
            },
        };
        // Template families among the fused candidates: the variants the question does not select step
        // back (see `families`). Their titles are read from the stored fields, which the loop below reuses.
        let mut prefetched: HashMap<ChunkId, StoredHit> = HashMap::new();
        let penalty = self.config.family_penalty;
        let mut variants = HashSet::new();
        let fused = if req.mode == SearchMode::Hybrid && penalty > 0.0 && !fused.is_empty() {
            let top: Vec<ChunkId> = fused.iter().take(self.config.candidates.max(req.limit)).map(|x| x.0).collect();
            prefetched = self.bm25.fetch(&top)?.into_iter().map(|h| (h.chunk_id, h)).collect();
            let (items, kept) = families::demote(
                &req.query,
                &fused,
                |id| prefetched.get(&id).map(|h| (h.doc_id, h.title.clone())),
                penalty,
            );
            variants = kept;
            items
        } else {
            fused
        };
        let rank_of = |list: &[(ChunkId, f32)]| -> HashMap<ChunkId, RetrieverScore> {
            list.iter().enumerate().map(|(i, (c, s))| (*c, RetrieverScore { rank: i + 1, score: *s })).collect()
        };
        let (bm25_ranks, vector_ranks) = (rank_of(&bm25), rank_of(&vector));
        let mut hits = Vec::with_capacity(req.limit);
        let mut seen_docs = HashSet::new();
        // Fetch stored fields in small groups, only as far down the fused list as the limit needs.
        for group in fused.chunks(16) {
            let ids: Vec<ChunkId> = group.iter().map(|x| x.0).filter(|id| !prefetched.contains_key(id)).collect();
            let stored: HashMap<ChunkId, StoredHit> = if ids.is_empty() {
                HashMap::new()
            } else {
                self.bm25.fetch(&ids)?.into_iter().map(|h| (h.chunk_id, h)).collect()
            };
            for (id, score) in group {
                let Some(h) = stored.get(id).or_else(|| prefetched.get(id)) else { continue };
                if req.dedupe_documents && !seen_docs.insert(h.doc_id) {
                    continue;
                }
                let (snippet, highlights) = self.snippet(parsed.as_ref(), &h.text);
                hits.push(SearchHit {
                    chunk_id: *id,
                    doc_id: h.doc_id,
                    source_id: h.source_id,
                    path: h.path.clone(),
                    url: h.url.clone(),
                    title: h.title.clone(),
                    heading_path: h.heading_path.clone(),
                    page_type: h.page_type,
                    text: h.text.clone(),
                    snippet,
                    highlights,
                    score: *score,
                    bm25: bm25_ranks.get(id).copied(),
                    vector: vector_ranks.get(id).copied(),
                    family_variant: variants.contains(&h.doc_id),
                });
                if hits.len() >= req.limit {
                    return Ok(hits);
                }
            }
        }
        Ok(hits)
    }
}

/// The first `max_chars` characters of `text`, cut at a word boundary.
fn leading_excerpt(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars).collect();
    match cut.rfind(char::is_whitespace) {
        Some(i) if i > max_chars / 2 => format!("{}…", &cut[..i]),
        _ => format!("{cut}…"),
    }
}

impl KnowledgeIndex for HybridIndex {
    fn applied_seq(&self) -> u64 {
        self.bm25.applied_seq().min(self.vectors.applied_seq())
    }

    fn reconcile(
        &self,
        store_seq: u64,
        live: &[ChunkId],
        load: &ChunkLoader<'_>,
    ) -> Result<ReconcileReport, CoreError> {
        let mut report = ReconcileReport { rebuilt: self.started_fresh && !live.is_empty(), ..Default::default() };
        if self.bm25.applied_seq() == store_seq
            && self.vectors.applied_seq() == store_seq
            && self.bm25.len() == live.len()
            && self.vectors.len() == live.len()
        {
            return Ok(ReconcileReport::default());
        }
        let live: HashSet<ChunkId> = live.iter().copied().collect();
        let in_bm25 = self.bm25.chunk_ids()?;
        let in_vectors: HashSet<ChunkId> = self.vectors.chunk_ids().into_iter().collect();
        let bm25_extra: Vec<ChunkId> = in_bm25.difference(&live).copied().collect();
        let vector_extra: HashSet<ChunkId> = in_vectors.difference(&live).copied().collect();
        let mut missing: Vec<ChunkId> =
            live.iter().filter(|c| !in_bm25.contains(c) || !in_vectors.contains(c)).copied().collect();
        missing.sort();
        report.bm25_removed = bm25_extra.len();
        report.vector_removed = vector_extra.len();
        self.bm25.apply(store_seq, &[], &bm25_extra, &[])?;
        self.vectors.apply(store_seq, &HashSet::new(), &vector_extra, &[])?;
        for group in missing.chunks(RECONCILE_BATCH) {
            let chunks = load(group)?;
            let for_bm25: Vec<IndexedChunk> = chunks.iter().filter(|c| !in_bm25.contains(&c.id)).cloned().collect();
            let for_vectors: Vec<IndexedChunk> = chunks.into_iter().filter(|c| !in_vectors.contains(&c.id)).collect();
            report.bm25_added += for_bm25.len();
            report.vector_added += for_vectors.len();
            self.bm25.apply(store_seq, &[], &[], &for_bm25)?;
            self.vectors.apply(store_seq, &HashSet::new(), &HashSet::new(), &for_vectors)?;
        }
        self.vectors.persist()?;
        Ok(report)
    }

    fn apply(&self, batch: IndexBatch) -> Result<(), CoreError> {
        self.bm25.apply(batch.seq, &batch.delete_docs, &batch.delete_chunks, &batch.upserts)?;
        let docs: HashSet<_> = batch.delete_docs.iter().copied().collect();
        let chunks: HashSet<_> = batch.delete_chunks.iter().copied().collect();
        self.vectors.apply(batch.seq, &docs, &chunks, &batch.upserts)?;
        Ok(())
    }

    fn persist(&self) -> Result<(), CoreError> {
        Ok(self.vectors.persist()?)
    }

    fn search(&self, request: &SearchRequest, query_vector: Option<&[f32]>) -> Result<Vec<SearchHit>, CoreError> {
        Ok(self.search_inner(request, query_vector)?)
    }

    fn count(&self, req: &SearchRequest) -> Result<usize, CoreError> {
        let per_document = req.dedupe_documents;
        let parsed = match (req.mode, self.bm25.parse(&req.query)) {
            (SearchMode::Vector, _) => None,
            (_, Ok(p)) => Some(p),
            // No terms: keyword search matches nothing.
            (_, Err(SearchError::EmptyQuery)) => return Ok(0),
            (_, Err(e)) => return Err(e.into()),
        };
        Ok(self.bm25.count(parsed.as_ref(), &req.filters, per_document)?)
    }

    fn len(&self) -> usize {
        self.bm25.len()
    }
}

#[cfg(test)]
mod tests;
