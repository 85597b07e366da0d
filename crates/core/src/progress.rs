//! One stream of progress events for long work. The CLI renders it as progress bars; the server will
//! forward the same events to clients as Server-Sent Events.

use std::time::Duration;

/// A stage of ingestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IngestStage {
    /// Finding files or pages.
    Discover,
    /// Downloading pages (site crawls).
    Fetch,
    /// Reading and extracting text.
    Extract,
    /// Cutting documents into chunks.
    Chunk,
    /// Computing embeddings.
    Embed,
    /// Writing SQLite and the indexes.
    Index,
}

impl IngestStage {
    /// Stage name for display.
    pub fn as_str(self) -> &'static str {
        match self {
            IngestStage::Discover => "discover",
            IngestStage::Fetch => "fetch",
            IngestStage::Extract => "extract",
            IngestStage::Chunk => "chunk",
            IngestStage::Embed => "embed",
            IngestStage::Index => "index",
        }
    }
}

/// Something that happened during long work.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// A stage starts; `total` units of work when known.
    StageStarted {
        /// Which stage.
        stage: IngestStage,
        /// Units of work (files, chunks) when known.
        total: Option<u64>,
    },
    /// `done` more units of a stage are finished; `detail` may carry a rate or an item name.
    Advanced {
        /// Which stage.
        stage: IngestStage,
        /// Units finished by this step.
        done: u64,
        /// Real tokens processed by this step (embedding), for a tokens/s display.
        tokens: u64,
    },
    /// A stage finished after `elapsed` (cumulative for stages run per batch).
    StageFinished {
        /// Which stage.
        stage: IngestStage,
        /// Time spent.
        elapsed: Duration,
    },
    /// An item (file or page) was skipped or failed, with the reason.
    ItemProblem {
        /// The file path or URL.
        item: String,
        /// Whether it failed (true) or was skipped on purpose (false).
        failed: bool,
        /// Why.
        reason: String,
    },
    /// A batch of documents was committed to the store and indexes.
    BatchCommitted {
        /// The knowledge base's batch sequence number after the commit.
        seq: u64,
        /// Documents in the batch.
        documents: u64,
        /// Chunks in the batch.
        chunks: u64,
    },
    /// A crawl found a URL (from the start URL, a sitemap or a page's links).
    PageDiscovered {
        /// The normalised URL.
        url: String,
        /// Links followed from the start URL to reach it (sitemap entries count as depth 1).
        depth: u32,
    },
    /// A crawl received a response for a URL.
    PageFetched {
        /// The URL.
        url: String,
        /// The final HTTP status (304 for a page unchanged since the last crawl).
        status: u16,
        /// Body bytes received (after decompression).
        bytes: u64,
    },
    /// A crawled URL was skipped on purpose (robots.txt, scope, duplicate, limit, type...).
    PageSkipped {
        /// The URL.
        url: String,
        /// Why, as stored in the crawl report.
        reason: String,
    },
    /// A crawled URL failed (HTTP error, timeout, refused address, unreadable content).
    PageFailed {
        /// The URL.
        url: String,
        /// Why, as stored in the crawl report.
        reason: String,
    },
    /// A crawled page is in the knowledge base: newly indexed, re-indexed, or unchanged since the last crawl.
    PageIndexed {
        /// The URL.
        url: String,
        /// Its document path (the URL path without the host).
        path: String,
        /// Whether the stored version was already current (no re-embedding).
        unchanged: bool,
    },
}

/// Receives progress events. Implementations must be cheap: events are sent from the working thread.
pub trait ProgressSink: Send + Sync {
    /// Handles one event.
    fn emit(&self, event: ProgressEvent);
}

/// A sink that ignores everything.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn emit(&self, _event: ProgressEvent) {}
}

impl<F: Fn(ProgressEvent) + Send + Sync> ProgressSink for F {
    fn emit(&self, event: ProgressEvent) {
        self(event)
    }
}

/// A cooperative cancellation flag shared between whoever runs long work and whoever may stop it (a server
/// shutting down, a user cancelling a job). Work checks it between batches, so a cancelled run stops at a
/// commit boundary and leaves the knowledge base consistent.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(std::sync::Arc<std::sync::atomic::AtomicBool>);

/// Tokens compare by state (cancelled or not), so configuration structs holding one stay comparable.
impl PartialEq for CancelToken {
    fn eq(&self, other: &Self) -> bool {
        self.is_cancelled() == other.is_cancelled()
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the work to stop at its next checkpoint.
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called on this token or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::CancelToken;

    #[test]
    fn a_clone_sees_the_cancellation() {
        let token = CancelToken::new();
        let seen_by_worker = token.clone();
        assert!(!seen_by_worker.is_cancelled());
        token.cancel();
        assert!(seen_by_worker.is_cancelled());
    }
}
