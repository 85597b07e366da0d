//! The crawl report's vocabulary: one [`CrawlRecord`] per URL a site crawl discovered, with its outcome
//! ([`CrawlStatus`]) and the reason, plus what the next crawl needs (HTTP validators, outgoing links).

use std::fmt;
use std::str::FromStr;

use crate::SourceId;

/// What happened to a discovered URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CrawlStatus {
    /// Fetched, extracted and written (new or changed).
    Indexed,
    /// Already stored and unchanged (HTTP 304, or the same content hash).
    Unchanged,
    /// Not ingested on purpose (robots.txt, scope, pattern, duplicate, canonical, type, size, limit, trap).
    Skipped,
    /// Could not be ingested (HTTP error, timeout, refused address, unreadable content).
    Failed,
}

impl CrawlStatus {
    /// Lowercase name for storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CrawlStatus::Indexed => "indexed",
            CrawlStatus::Unchanged => "unchanged",
            CrawlStatus::Skipped => "skipped",
            CrawlStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for CrawlStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CrawlStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "indexed" => Ok(CrawlStatus::Indexed),
            "unchanged" => Ok(CrawlStatus::Unchanged),
            "skipped" => Ok(CrawlStatus::Skipped),
            "failed" => Ok(CrawlStatus::Failed),
            other => Err(format!("unknown crawl status `{other}` (expected indexed, unchanged, skipped or failed)")),
        }
    }
}

/// One discovered URL of a site source, as kept in the crawl report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawlRecord {
    /// The site source.
    pub source_id: SourceId,
    /// The normalised URL.
    pub url: String,
    /// Its outcome.
    pub status: CrawlStatus,
    /// Why (empty for indexed and unchanged pages).
    pub reason: String,
    /// Links from the start URL to it.
    pub depth: u32,
    /// The document path when the page is stored (`/help/invite-users`).
    pub doc_path: Option<String>,
    /// The `ETag` the server sent, for `If-None-Match` next time.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent, for `If-Modified-Since` next time.
    pub last_modified: Option<String>,
    /// The in-scope links found on the page (needed when the next crawl gets 304 Not Modified).
    pub links: Vec<String>,
    /// When it was last fetched or decided (seconds since the epoch).
    pub checked_at: i64,
}
