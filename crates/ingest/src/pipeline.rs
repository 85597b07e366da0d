//! The ingest pipeline for a file or folder source: discover → extract → chunk → embed → commit, batch by
//! batch. Each batch is one SQLite transaction (the acknowledgement) followed by one index commit that
//! records the batch's sequence number. Unchanged documents (same content hash) are skipped, changed ones
//! replaced, and documents whose files vanished are deleted from the store and both indexes.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use throughline_core::{
    CancelToken, ChunkConfig, DocId, DocumentMeta, IngestStage, PageType, ProgressEvent, ProgressSink, SourceId,
    SourceKind,
};

use crate::batch::{BatchWriter, DocInput, Timer};
use crate::discover::discover;
use crate::load::{kind_of, load_file};
use crate::{IngestError, KnowledgeBase, PdfConfig, Result};

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
    /// Checked between batches: a cancelled run stops at a commit boundary with [`IngestError::Cancelled`].
    pub cancel: CancelToken,
    /// Earlier sources this ingestion supersedes path by path: a document written at a path that one of
    /// these sources also holds replaces that document (in the same commit). The server passes its
    /// earlier uploads, so uploading a revised `refund-policy.md` replaces the old one instead of
    /// keeping both. Empty by default.
    pub supersedes: Vec<SourceId>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 20_000_000,
            chunk: ChunkConfig::default(),
            batch_docs: 32,
            pdf: PdfConfig::default(),
            cancel: CancelToken::new(),
            supersedes: Vec::new(),
        }
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
    /// Documents indexed only in part because they exceeded a per-document budget
    /// ([`crate::chunk::DocBudget`]), with a `truncated: …` reason.
    pub truncated: Vec<ItemProblem>,
    /// Time per stage.
    pub stage_times: Vec<(IngestStage, Duration)>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

/// Ingests the file or folder at `path` into `kb`.
pub fn ingest_path(
    kb: &KnowledgeBase,
    path: &Path,
    cfg: &IngestConfig,
    progress: &dyn ProgressSink,
) -> Result<IngestSummary> {
    let started = Instant::now();
    let mut timer = Timer::default();
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
    progress
        .emit(ProgressEvent::StageFinished { stage: IngestStage::Discover, elapsed: timer.get(IngestStage::Discover) });

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

    let mut writer = BatchWriter::new(kb, source.id, &cfg.chunk);
    let superseded: Vec<SourceId> = cfg.supersedes.iter().copied().filter(|s| *s != source.id).collect();
    writer.supersede(&superseded)?;
    for batch in work.chunks(cfg.batch_docs.max(1)) {
        if cfg.cancel.is_cancelled() {
            kb.index().persist()?;
            return Err(IngestError::Cancelled);
        }
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
            let ext = f.path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            // Pricing plans are read from HTML: a Markdown pricing page is rendered to HTML for it.
            let html = match ext.as_str() {
                "html" | "htm" => std::fs::read_to_string(&f.path).ok(),
                "md" | "mdx" | "markdown" if crate::classify::classify(&f.rel, &doc) == PageType::Pricing => {
                    std::fs::read_to_string(&f.path).ok().map(|t| crate::load::markdown::markdown_to_html(&t))
                }
                _ => None,
            };
            let input = DocInput { path: &f.rel, url: None, doc: &doc, byte_size: bytes, html: html.as_deref() };
            writer.add(input, existing.get(&f.rel), &mut timer, &mut summary);
        }
        writer.flush(&mut timer, &mut summary, progress)?;
    }
    progress
        .emit(ProgressEvent::StageFinished { stage: IngestStage::Extract, elapsed: timer.get(IngestStage::Extract) });
    progress.emit(ProgressEvent::StageFinished { stage: IngestStage::Embed, elapsed: timer.get(IngestStage::Embed) });

    // Documents whose files are gone. A file that exists but failed to load this time keeps its old
    // version: a bad edit never erases what was already stored.
    let vanished: Vec<DocId> = existing.values().filter(|d| !seen.contains(&d.path)).map(|d| d.id).collect();
    writer.delete(vanished, &mut timer, &mut summary, progress)?;
    timer.time(IngestStage::Index, || kb.index().persist())?;
    store.mark_source_synced(source.id)?;
    progress.emit(ProgressEvent::StageFinished { stage: IngestStage::Index, elapsed: timer.get(IngestStage::Index) });
    summary.stage_times =
        [IngestStage::Discover, IngestStage::Extract, IngestStage::Chunk, IngestStage::Embed, IngestStage::Index]
            .into_iter()
            .map(|s| (s, timer.get(s)))
            .collect();
    summary.elapsed = started.elapsed();
    Ok(summary)
}
