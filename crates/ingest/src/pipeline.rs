//! The ingest pipeline for a file or folder source: discover → extract → chunk → embed → commit, batch by
//! batch. Each batch is one SQLite transaction (the acknowledgement) followed by one index commit that
//! records the batch's sequence number. Unchanged documents (same content hash) are skipped, changed ones
//! replaced, and documents whose files vanished are deleted from the store and both indexes.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use throughline_core::{
    BatchWrite, Chunk, ChunkConfig, DocId, DocumentMeta, IndexBatch, IndexedChunk, IngestStage, PageType, Plan,
    ProgressEvent, ProgressSink, SourceId, SourceKind, StoredChunk,
};

use crate::chunk::document_hash;
use crate::classify::classify;
use crate::discover::discover;
use crate::load::{kind_of, load_file};
use crate::pricing::extract_plans;
use crate::{chunk_document, IngestError, KnowledgeBase, PdfConfig, Result};

/// Ingestion settings.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestConfig {
    /// Files larger than this are refused. Default 20 MB.
    pub max_file_bytes: u64,
    /// Chunking.
    pub chunk: ChunkConfig,
    /// Documents per committed batch. Default 32.
    pub batch_docs: usize,
    /// PDF extraction.
    pub pdf: PdfConfig,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self { max_file_bytes: 20_000_000, chunk: ChunkConfig::default(), batch_docs: 32, pdf: PdfConfig::default() }
    }
}

/// A file that was skipped or failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemProblem {
    /// The file's path relative to the source (or the URL).
    pub item: String,
    /// Why.
    pub reason: String,
}

/// What an ingestion run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestSummary {
    /// The source ingested.
    pub source: Option<SourceId>,
    /// Files found.
    pub files_seen: usize,
    /// New documents.
    pub added: usize,
    /// Changed documents replaced.
    pub updated: usize,
    /// Documents whose content had not changed.
    pub unchanged: usize,
    /// Documents deleted because their file is gone.
    pub deleted: usize,
    /// Chunks written.
    pub chunks_written: usize,
    /// Word pieces embedded.
    pub tokens_embedded: u64,
    /// Batches committed.
    pub batches: u64,
    /// Files that failed, with reasons (nothing already stored for them was touched).
    pub failed: Vec<ItemProblem>,
    /// Files skipped on purpose (unsupported type), with reasons.
    pub skipped: Vec<ItemProblem>,
    /// Time per stage.
    pub stage_times: Vec<(IngestStage, Duration)>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

struct Timer {
    times: HashMap<IngestStage, Duration>,
}

impl Timer {
    fn time<T>(&mut self, stage: IngestStage, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        *self.times.entry(stage).or_default() += start.elapsed();
        out
    }
}

struct Prepared {
    meta: DocumentMeta,
    chunks: Vec<Chunk>,
    is_new: bool,
    /// Pricing plans extracted from the page (pricing pages only).
    plans: Vec<Plan>,
}

/// Ingests the file or folder at `path` into `kb`.
pub fn ingest_path(
    kb: &KnowledgeBase,
    path: &Path,
    cfg: &IngestConfig,
    progress: &dyn ProgressSink,
) -> Result<IngestSummary> {
    let started = Instant::now();
    let mut timer = Timer { times: HashMap::new() };
    let mut summary = IngestSummary::default();
    let store = kb.store().clone();
    let kb_id = kb.info().id;

    progress.emit(ProgressEvent::StageStarted { stage: IngestStage::Discover, total: None });
    let crate::Discovery { files, problems } = timer.time(IngestStage::Discover, || discover(path))?;
    let canonical = std::fs::canonicalize(path).map_err(|_| IngestError::MissingPath { path: path.to_path_buf() })?;
    let kind = if canonical.is_dir() { SourceKind::Folder } else { SourceKind::File };
    let source = store.ensure_source(kb_id, kind, &canonical.to_string_lossy())?;
    summary.source = Some(source.id);
    for (item, reason) in problems {
        progress.emit(ProgressEvent::ItemProblem { item: item.clone(), failed: true, reason: reason.clone() });
        summary.failed.push(ItemProblem { item, reason });
    }
    progress.emit(ProgressEvent::StageFinished {
        stage: IngestStage::Discover,
        elapsed: timer.times[&IngestStage::Discover],
    });

    // Skip unsupported types up front so the progress total counts only real work.
    let mut work = Vec::new();
    for f in files {
        match kind_of(&f.path) {
            Ok(_) => work.push(f),
            Err(e) => {
                let reason = e.reason();
                progress.emit(ProgressEvent::ItemProblem {
                    item: f.rel.clone(),
                    failed: false,
                    reason: reason.clone(),
                });
                summary.skipped.push(ItemProblem { item: f.rel, reason });
            }
        }
    }
    summary.files_seen = work.len() + summary.skipped.len();

    let existing: HashMap<String, DocumentMeta> =
        store.documents(kb_id, Some(source.id))?.into_iter().map(|d| (d.path.clone(), d)).collect();
    let mut seen: HashSet<String> = HashSet::new();
    progress.emit(ProgressEvent::StageStarted { stage: IngestStage::Extract, total: Some(work.len() as u64) });
    progress.emit(ProgressEvent::StageStarted { stage: IngestStage::Embed, total: None });

    for batch in work.chunks(cfg.batch_docs.max(1)) {
        let mut prepared: Vec<Prepared> = Vec::new();
        let mut unchanged_plans: Vec<(DocId, Vec<Plan>)> = Vec::new();
        for f in batch {
            seen.insert(f.rel.clone());
            let loaded = timer.time(IngestStage::Extract, || load_file(&f.path, &f.rel, cfg.max_file_bytes, &cfg.pdf));
            progress.emit(ProgressEvent::Advanced { stage: IngestStage::Extract, done: 1, tokens: 0 });
            let (doc, bytes) = match loaded {
                Ok(x) => x,
                Err(e) => {
                    let reason = e.reason();
                    progress.emit(ProgressEvent::ItemProblem {
                        item: f.rel.clone(),
                        failed: true,
                        reason: reason.clone(),
                    });
                    summary.failed.push(ItemProblem { item: f.rel.clone(), reason });
                    continue;
                }
            };
            let doc_id = DocId::derive(kb_id, &format!("{}/{}", source.id, f.rel));
            let old = existing.get(&f.rel);
            if let Some(o) = old.filter(|o| o.content_hash == document_hash(&doc, &cfg.chunk)) {
                summary.unchanged += 1;
                // Plans are re-read from unchanged pricing pages: knowledge bases ingested before plan
                // extraction existed get them on their next run without re-embedding anything.
                if o.page_type == PageType::Pricing {
                    unchanged_plans.push((o.id, pricing_plans(&f.path, &f.rel, o.page_type)));
                }
                continue;
            }
            let (chunks, hash) =
                timer.time(IngestStage::Chunk, || chunk_document(doc_id, &doc, &cfg.chunk, kb.embedder().as_ref()));
            let page_type = classify(&f.rel, &doc);
            let plans = pricing_plans(&f.path, &f.rel, page_type);
            let meta = DocumentMeta {
                id: doc_id,
                source_id: source.id,
                path: f.rel.clone(),
                url: None,
                title: doc.title.clone(),
                description: doc.description.clone(),
                page_type,
                content_hash: hash,
                byte_size: bytes,
                chunk_count: chunks.len() as u32,
                updated_at: now(),
            };
            prepared.push(Prepared { meta, chunks, is_new: old.is_none(), plans });
        }
        save_plans(kb, unchanged_plans)?;
        if prepared.is_empty() {
            continue;
        }
        // Embed every chunk of the batch, longest first in groups, reporting progress per group.
        let texts: Vec<String> = prepared
            .iter()
            .flat_map(|p| p.chunks.iter().map(|c| Chunk::embedding_text(&p.meta.title, &c.heading_path, &c.text)))
            .collect();
        let mut vectors: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let token_counts: Vec<u64> =
            prepared.iter().flat_map(|p| p.chunks.iter().map(|c| c.token_count as u64)).collect();
        for group in order.chunks(64) {
            let refs: Vec<&str> = group.iter().map(|&i| texts[i].as_str()).collect();
            let out = timer.time(IngestStage::Embed, || kb.embedder().embed(&refs))?;
            let tokens: u64 = group.iter().map(|&i| token_counts[i]).sum();
            summary.tokens_embedded += tokens;
            for (&i, v) in group.iter().zip(out) {
                vectors[i] = v;
            }
            progress.emit(ProgressEvent::Advanced { stage: IngestStage::Embed, done: group.len() as u64, tokens });
        }
        let mut vectors = vectors.into_iter();
        let plans: Vec<(DocId, Vec<Plan>)> =
            prepared.iter_mut().map(|p| (p.meta.id, std::mem::take(&mut p.plans))).collect();
        let mut write = BatchWrite::default();
        let mut index_batch = IndexBatch::default();
        for p in prepared {
            if p.is_new {
                summary.added += 1;
            } else {
                summary.updated += 1;
                index_batch.delete_docs.push(p.meta.id);
            }
            let mut stored = Vec::with_capacity(p.chunks.len());
            for c in p.chunks {
                let vector = vectors.next().unwrap_or_default();
                index_batch.upserts.push(IndexedChunk {
                    id: c.id,
                    doc_id: p.meta.id,
                    source_id: source.id,
                    path: p.meta.path.clone(),
                    url: p.meta.url.clone(),
                    title: p.meta.title.clone(),
                    heading_path: c.heading_path.clone(),
                    text: c.text.clone(),
                    page_type: p.meta.page_type,
                    ordinal: c.ordinal,
                    vector: vector.clone(),
                });
                stored.push(StoredChunk {
                    id: c.id,
                    doc_id: p.meta.id,
                    ordinal: c.ordinal,
                    heading_path: c.heading_path,
                    text: c.text,
                    token_count: c.token_count,
                    vector,
                });
            }
            summary.chunks_written += stored.len();
            write.upserts.push((p.meta, stored));
        }
        commit(kb, write, index_batch, &mut timer, &mut summary, progress)?;
        save_plans(kb, plans)?;
    }
    progress.emit(ProgressEvent::StageFinished {
        stage: IngestStage::Extract,
        elapsed: timer.times.get(&IngestStage::Extract).copied().unwrap_or_default(),
    });
    progress.emit(ProgressEvent::StageFinished {
        stage: IngestStage::Embed,
        elapsed: timer.times.get(&IngestStage::Embed).copied().unwrap_or_default(),
    });

    // Documents whose files are gone. A file that exists but failed to load this time keeps its old
    // version: a bad edit never erases what was already stored.
    let vanished: Vec<DocId> = existing.values().filter(|d| !seen.contains(&d.path)).map(|d| d.id).collect();
    if !vanished.is_empty() {
        summary.deleted = vanished.len();
        let write = BatchWrite { upserts: Vec::new(), delete_docs: vanished.clone() };
        let index_batch = IndexBatch { delete_docs: vanished, ..Default::default() };
        commit(kb, write, index_batch, &mut timer, &mut summary, progress)?;
    }
    timer.time(IngestStage::Index, || kb.index().persist())?;
    store.mark_source_synced(source.id)?;
    progress.emit(ProgressEvent::StageFinished {
        stage: IngestStage::Index,
        elapsed: timer.times.get(&IngestStage::Index).copied().unwrap_or_default(),
    });
    summary.stage_times =
        [IngestStage::Discover, IngestStage::Extract, IngestStage::Chunk, IngestStage::Embed, IngestStage::Index]
            .into_iter()
            .map(|s| (s, timer.times.get(&s).copied().unwrap_or_default()))
            .collect();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Plans of a pricing page loaded from `path` (HTML only; other formats have no tables or cards to read).
fn pricing_plans(path: &Path, rel: &str, page_type: PageType) -> Vec<Plan> {
    let is_html = path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "html" | "htm"));
    if page_type != PageType::Pricing || !is_html {
        return Vec::new();
    }
    match std::fs::read_to_string(path) {
        Ok(html) => extract_plans(&html, rel),
        Err(e) => {
            tracing::warn!(path = %path.display(), "pricing plans not extracted: {e}");
            Vec::new()
        }
    }
}

/// Replaces the plans of each document of a committed batch (clearing them for pages without plans).
pub(crate) fn save_plans(kb: &KnowledgeBase, plans: Vec<(DocId, Vec<Plan>)>) -> Result<()> {
    for (doc, plans) in plans {
        kb.store().replace_plans(kb.info().id, doc, &plans)?;
    }
    Ok(())
}

fn commit(
    kb: &KnowledgeBase,
    write: BatchWrite,
    mut index_batch: IndexBatch,
    timer: &mut Timer,
    summary: &mut IngestSummary,
    progress: &dyn ProgressSink,
) -> Result<()> {
    let documents = (write.upserts.len() + write.delete_docs.len()) as u64;
    let chunks = index_batch.upserts.len() as u64;
    // SQLite first: it is the acknowledgement. The index follows; if the process dies in between, the
    // next open reconciles the index from SQLite.
    let seq = timer.time(IngestStage::Index, || kb.store().commit_batch(kb.info().id, write))?;
    index_batch.seq = seq;
    timer.time(IngestStage::Index, || kb.index().apply(index_batch))?;
    summary.batches += 1;
    progress.emit(ProgressEvent::BatchCommitted { seq, documents, chunks });
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
