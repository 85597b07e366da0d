//! From files to a searchable knowledge base: discovery, loaders (Markdown/MDX, HTML, plain text, FAQ
//! data, PDF), page-type classification, heading-aware chunking, and the ingest pipeline that embeds
//! chunks and commits them batch by batch to the store and the indexes.
//!
//! Principal types: [`KnowledgeBase`] (a knowledge base opened over a store, an index and an embedder),
//! [`ingest_path`] with [`IngestConfig`] and [`IngestSummary`], [`crawl_site`] with [`CrawlConfig`] and
//! [`CrawlSummary`] (site crawling, [`crawl_report`] for its report), [`chunk_document`], [`load_file`].
//!
//! Per-file failures are data, not errors: they are collected in the summary (path and reason) and
//! ingestion continues. A batch is acknowledged only after its SQLite commit; the indexes follow and
//! are reconciled with SQLite when a knowledge base is opened, so a crash at any point leaves the
//! knowledge base queryable at its last commit and a re-run completes it.
//!
//! ```
//! use throughline_ingest::load::markdown::parse_markdown;
//! let doc = parse_markdown("---\ntitle: Invite users\n---\n## Steps\n1. Open **Settings**\n2. Click Invite\n", "x.md");
//! assert_eq!(doc.title, "Invite users");
//! assert_eq!(doc.sections[0].heading_path, vec!["Steps".to_string()]);
//! assert!(doc.sections[0].text.contains("1. Open Settings"));
//! ```
#![warn(missing_docs)]

mod batch;
pub mod chunk;
pub mod classify;
pub mod crawl;
mod discover;
mod error;
mod kb;
pub mod load;
pub mod pdf;
mod pipeline;
pub mod pricing;
mod retriever;

pub use chunk::chunk_document;
pub use crawl::{crawl_report, crawl_report_in, crawl_site, CrawlConfig, CrawlSummary};
pub use discover::{discover, DiscoveredFile, Discovery};
pub use error::{IngestError, Result};
pub use kb::{KbPaths, KnowledgeBase};
pub use load::load_file;
pub use pdf::PdfConfig;
pub use pipeline::{ingest_path, IngestConfig, IngestSummary, ItemProblem};
pub use pricing::extract_plans;
