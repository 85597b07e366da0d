//! Storage for Throughline: knowledge bases, sources, documents and chunks (text and vectors), jobs,
//! agents and per-contact memory, publications and visitor sessions.
//!
//! [`SqliteStore`] (the embedded default) and [`PgStore`] (PostgreSQL, for several replicas sharing one
//! database) implement the four store traits of `throughline_core`; one conformance suite checks both.
//! [`SqliteStore`] implements [`throughline_core::KnowledgeStore`]. It is the single source of truth:
//! the search indexes are derived from what it holds and are reconciled with it on open. Writes go
//! through [`throughline_core::KnowledgeStore::commit_batch`], one SQLite transaction per batch, which
//! bumps the knowledge base's sequence number so indexes can tell whether they are behind.
//!
//! ```
//! use throughline_core::KnowledgeStore;
//! let store = throughline_store::SqliteStore::open_in_memory().unwrap();
//! let kb = store.ensure_kb("sample", "all-MiniLM-L6-v2", 384).unwrap();
//! assert_eq!(store.kb("sample").unwrap().unwrap().id, kb.id);
//! ```
#![warn(missing_docs)]

mod error;
mod jobs;
mod memory;
mod plans;
mod postgres;
mod schema;
mod sqlite;
mod values;

pub use error::{StoreError, StoreResult};
pub use postgres::{
    is_postgres_url, redact_url, schema_url, CopyReport, PgStore, DEFAULT_JOB_LEASE, KB_CHANNEL, PG_SCHEMA_VERSION,
};
pub use sqlite::SqliteStore;
