//! Errors of ingestion. Per-file errors ([`IngestError`] values with a path) are collected into the
//! summary; only errors that stop the whole run are returned.

use std::path::PathBuf;

use throughline_core::{CoreError, ErrorKind};

/// An ingestion error.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The path to ingest does not exist.
    #[error("{path}: no such file or folder")]
    MissingPath {
        /// The path.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file is over the size limit.
    #[error("{path}: file is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A file has no text.
    #[error("{path}: file is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A text file is not valid UTF-8 or holds binary data.
    #[error("{path}: not valid UTF-8 text ({detail})")]
    NotText {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        detail: String,
    },
    /// A file's extension is not one we load.
    #[error(
        "{path}: unsupported file type `{extension}` (supported: md, mdx, markdown, html, htm, txt, json, csv, pdf)"
    )]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// Its extension.
        extension: String,
    },
    /// A structured file (FAQ JSON/CSV) is malformed.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// PDF extraction failed (encrypted, malformed, crashed, timed out).
    #[error("{path}: PDF extraction failed: {reason}")]
    Pdf {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A crawl's start URL is not a usable http(s) URL.
    #[error("{url}: not a crawlable URL: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A crawl setting is invalid (a bad include/exclude pattern, a zero limit).
    #[error("crawl settings: {reason}")]
    BadCrawlConfig {
        /// What is wrong.
        reason: String,
    },
    /// The crawler could not start (HTTP client or runtime setup).
    #[error("{url}: cannot crawl: {reason}")]
    CrawlSetup {
        /// The start URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The knowledge base does not exist.
    #[error("knowledge base `{name}` does not exist")]
    KbNotFound {
        /// Its name.
        name: String,
    },
    /// The run was cancelled (a user or a shutdown); every batch committed before stays.
    #[error("cancelled after the last committed batch")]
    Cancelled,
    /// A lower layer (store, index, embedder) failed.
    #[error("{0}")]
    Core(#[from] CoreError),
}

impl IngestError {
    /// The message without the input it starts with (for reports that already name the item).
    pub fn reason(&self) -> String {
        let full = self.to_string();
        match full.split_once(": ") {
            Some((_, rest)) => rest.to_string(),
            None => full,
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            IngestError::MissingPath { .. } | IngestError::KbNotFound { .. } => ErrorKind::NotFound,
            IngestError::Unreadable { .. }
            | IngestError::TooLarge { .. }
            | IngestError::Empty { .. }
            | IngestError::NotText { .. }
            | IngestError::UnsupportedType { .. }
            | IngestError::Malformed { .. }
            | IngestError::Pdf { .. }
            | IngestError::BadUrl { .. }
            | IngestError::BadCrawlConfig { .. } => ErrorKind::InvalidInput,
            IngestError::CrawlSetup { .. } => ErrorKind::Internal,
            IngestError::Cancelled => ErrorKind::Conflict,
            IngestError::Core(e) => e.kind(),
        }
    }
}

impl From<throughline_core::EmbedderError> for IngestError {
    fn from(e: throughline_core::EmbedderError) -> Self {
        IngestError::Core(CoreError::new(ErrorKind::Internal, format!("embedding: {e}")))
    }
}

impl From<IngestError> for CoreError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Core(c) => c,
            other => CoreError::new(other.kind(), other.to_string()),
        }
    }
}

/// Result with [`IngestError`].
pub type Result<T, E = IngestError> = std::result::Result<T, E>;
