//! The write path shared by every source kind (folders, files, crawled sites): a document already
//! extracted is classified, hashed and chunked ([`BatchWriter::add`], which skips documents whose hash is
//! unchanged), then a batch is embedded and committed ([`BatchWriter::flush`]): one SQLite transaction
//! (the acknowledgement) followed by one index commit that records the batch's sequence number.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use throughline_core::{
    BatchWrite, Chunk, ChunkConfig, DocId, DocumentMeta, ExtractedDoc, IndexBatch, IndexedChunk, IngestStage, PageType,
    Plan, ProgressEvent, ProgressSink, SourceId, StoredChunk,
};

use crate::chunk::{chunk_document_within, document_hash, Chunked, DocBudget};
use crate::classify::classify;
use crate::pricing::extract_plans;
use crate::{IngestSummary, ItemProblem, KnowledgeBase, Result};

/// Time spent per stage, accumulated over a run.
#[derive(Default)]
pub(crate) struct Timer {
    times: HashMap<IngestStage, Duration>,
}

impl Timer {
    pub(crate) fn time<T>(&mut self, stage: IngestStage, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.add(stage, start.elapsed());
        out
    }

    pub(crate) fn add(&mut self, stage: IngestStage, d: Duration) {
        *self.times.entry(stage).or_default() += d;
    }

    pub(crate) fn get(&self, stage: IngestStage) -> Duration {
        self.times.get(&stage).copied().unwrap_or_default()
    }
}

struct Prepared {
    meta: DocumentMeta,
    chunks: Vec<Chunk>,
    is_new: bool,
    /// Pricing plans extracted from the page (pricing pages only; empty clears older ones).
    plans: Vec<Plan>,
}

/// A document to write: where it comes from and what was extracted.
pub(crate) struct DocInput<'a> {
    /// The evaluation id: path relative to the folder, or URL path without the host.
    pub path: &'a str,
    /// Full URL of a crawled page.
    pub url: Option<&'a str>,
    /// The extracted document.
    pub doc: &'a ExtractedDoc,
    /// Size of the raw input.
    pub byte_size: u64,
    /// The raw HTML when the input is a page, for pricing-plan extraction.
    pub html: Option<&'a str>,
}

/// Whether [`BatchWriter::add`] queued the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// Queued for the next flush (new or changed).
    Queued,
    /// The stored version has the same hash; nothing to do.
    Unchanged,
}

/// Collects prepared documents of one source and commits them in batches.
pub(crate) struct BatchWriter<'a> {
    kb: &'a KnowledgeBase,
    source: SourceId,
    chunk: &'a ChunkConfig,
    pending: Vec<Prepared>,
    /// Documents of superseded sources by path: replaced when this source writes the same path.
    superseded: HashMap<String, Vec<DocId>>,
}

impl<'a> BatchWriter<'a> {
    pub(crate) fn new(kb: &'a KnowledgeBase, source: SourceId, chunk: &'a ChunkConfig) -> Self {
        Self { kb, source, chunk, pending: Vec::new(), superseded: HashMap::new() }
    }

    /// Documents of `sources` at a path this writer writes are replaced in the same commit.
    pub(crate) fn supersede(&mut self, sources: &[SourceId]) -> Result<()> {
        for s in sources {
            for d in self.kb.store().documents(self.kb.info().id, Some(*s))? {
                self.superseded.entry(d.path).or_default().push(d.id);
            }
        }
        Ok(())
    }

    /// The id a document of this source is stored under.
    pub(crate) fn doc_id(&self, path: &str) -> DocId {
        DocId::derive(self.kb.info().id, &format!("{}/{}", self.source, path))
    }

    /// Documents waiting for [`BatchWriter::flush`].
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Classifies and chunks `input` unless `existing` already holds the same content.
    pub(crate) fn add(
        &mut self,
        input: DocInput<'_>,
        existing: Option<&DocumentMeta>,
        timer: &mut Timer,
        summary: &mut IngestSummary,
    ) -> Added {
        if let Some(o) = existing.filter(|o| o.content_hash == document_hash(input.doc, self.chunk)) {
            summary.unchanged += 1;
            // Plans are re-read from unchanged pricing pages: knowledge bases ingested before plan
            // extraction existed get them on their next run without re-embedding anything.
            if o.page_type == PageType::Pricing {
                if let Some(html) = input.html {
                    let plans = extract_plans(html, input.path);
                    if let Err(e) = self.kb.store().replace_plans(self.kb.info().id, o.id, &plans) {
                        tracing::warn!(path = input.path, "pricing plans not saved: {e}");
                    }
                }
            }
            return Added::Unchanged;
        }
        let doc_id = self.doc_id(input.path);
        let Chunked { chunks, hash, truncated } = timer.time(IngestStage::Chunk, || {
            chunk_document_within(doc_id, input.doc, self.chunk, DocBudget::default(), self.kb.embedder().as_ref())
        });
        if let Some(reason) = truncated {
            tracing::info!(path = input.path, "{reason}");
            summary.truncated.push(ItemProblem { item: input.path.to_string(), reason });
        }
        let page_type = classify(input.url.unwrap_or(input.path), input.doc);
        let plans = match (page_type, input.html) {
            (PageType::Pricing, Some(html)) => extract_plans(html, input.path),
            _ => Vec::new(),
        };
        let meta = DocumentMeta {
            id: doc_id,
            source_id: self.source,
            path: input.path.to_string(),
            url: input.url.map(str::to_string),
            title: input.doc.title.clone(),
            description: input.doc.description.clone(),
            page_type,
            content_hash: hash,
            byte_size: input.byte_size,
            chunk_count: chunks.len() as u32,
            updated_at: now(),
        };
        self.pending.push(Prepared { meta, chunks, is_new: existing.is_none(), plans });
        Added::Queued
    }

    /// Embeds every pending chunk and commits the batch. Returns the paths of the documents written.
    pub(crate) fn flush(
        &mut self,
        timer: &mut Timer,
        summary: &mut IngestSummary,
        progress: &dyn ProgressSink,
    ) -> Result<Vec<String>> {
        let prepared = std::mem::take(&mut self.pending);
        if prepared.is_empty() {
            return Ok(Vec::new());
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
            let out = timer.time(IngestStage::Embed, || self.kb.embedder().embed(&refs))?;
            let tokens: u64 = group.iter().map(|&i| token_counts[i]).sum();
            summary.tokens_embedded += tokens;
            for (&i, v) in group.iter().zip(out) {
                vectors[i] = v;
            }
            progress.emit(ProgressEvent::Advanced { stage: IngestStage::Embed, done: group.len() as u64, tokens });
        }
        let mut vectors = vectors.into_iter();
        let mut write = BatchWrite::default();
        let mut index_batch = IndexBatch::default();
        let mut paths = Vec::with_capacity(prepared.len());
        let mut plans: Vec<(DocId, Vec<Plan>)> = Vec::new();
        for mut p in prepared {
            plans.push((p.meta.id, std::mem::take(&mut p.plans)));
            let replaced = self.superseded.remove(&p.meta.path).unwrap_or_default();
            if !p.is_new {
                // The previous version's chunks leave the indexes.
                index_batch.delete_docs.push(p.meta.id);
            }
            if p.is_new && replaced.is_empty() {
                summary.added += 1;
            } else {
                // A changed page, or a new version of a page an earlier source held (which it replaces).
                summary.updated += 1;
            }
            write.delete_docs.extend(replaced.iter().copied());
            index_batch.delete_docs.extend(replaced);
            paths.push(p.meta.path.clone());
            let mut stored = Vec::with_capacity(p.chunks.len());
            for c in p.chunks {
                let vector = vectors.next().unwrap_or_default();
                index_batch.upserts.push(IndexedChunk {
                    id: c.id,
                    doc_id: p.meta.id,
                    source_id: self.source,
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
        commit(self.kb, write, index_batch, timer, summary, progress)?;
        // Plans go with their documents, written once the documents are committed.
        for (doc, plans) in plans {
            self.kb.store().replace_plans(self.kb.info().id, doc, &plans)?;
        }
        Ok(paths)
    }

    /// Deletes documents from the store and both indexes in one batch.
    pub(crate) fn delete(
        &self,
        ids: Vec<DocId>,
        timer: &mut Timer,
        summary: &mut IngestSummary,
        progress: &dyn ProgressSink,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        summary.deleted += ids.len();
        let write = BatchWrite { upserts: Vec::new(), delete_docs: ids.clone() };
        let index_batch = IndexBatch { delete_docs: ids, ..Default::default() };
        commit(self.kb, write, index_batch, timer, summary, progress)
    }
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

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
