//! Shared vocabulary of Throughline: ids, page types, lifecycle stages, the error-kind taxonomy,
//! progress events, configuration structs, the chat shorthand search and the agent spell out
//! ([`shorthand`]), and the traits at the seams between crates
//! ([`Embedder`], [`KnowledgeStore`], [`KnowledgeIndex`]).
//!
//! Every other crate depends on this one and on nothing above it. It holds no I/O.
//!
//! ```
//! use throughline_core::{DocId, KbId, PageType};
//! let kb = KbId::from_name("sample");
//! let doc = DocId::derive(kb, "help/invite-users.md");
//! assert_eq!(doc, DocId::derive(kb, "help/invite-users.md"));
//! assert_eq!("pricing".parse::<PageType>().unwrap(), PageType::Pricing);
//! ```
#![warn(missing_docs)]

mod access;
mod config;
#[cfg(feature = "conformance")]
pub mod conformance;
mod crawl;
mod document;
mod embedder;
mod error;
mod ids;
mod index;
mod jobs;
mod memory;
mod page_type;
mod plan;
mod progress;
mod retriever;
pub mod shorthand;
mod stale;
mod store;

pub use access::{AccessStore, Publication, VisitorSession};
pub use config::{ChunkConfig, FusionMode, SearchConfig};
pub use crawl::{CrawlRecord, CrawlStatus};
pub use document::{content_hash, Chunk, ExtractedDoc, Section};
pub use embedder::{Embedder, EmbedderError};
pub use error::{CoreError, ErrorKind};
pub use ids::{AgentId, ChunkId, ContactId, ConversationId, DocId, HandoffId, IdParseError, JobId, KbId, SourceId};
pub use index::{
    ChunkLoader, IndexBatch, IndexedChunk, KnowledgeIndex, ReconcileReport, RetrieverScore, SearchFilters, SearchHit,
    SearchMode, SearchRequest,
};
pub use jobs::{JobRecord, JobStatus, JobStore, RecoveredJob};
pub use memory::{
    AgentRecord, CitedSource, CitingAnswer, ContactRecord, ConversationRecord, EventRecord, Fact, HandoffRecord,
    HandoffStatus, LeadRecord, Lifecycle, MemoryStore, MessageRecord, NewMessage, Role, SourceChange, Stage,
    StaleAnswer,
};
pub use page_type::PageType;
pub use plan::{BillingPeriod, Plan, PlanLimit, PlanPrice};
pub use progress::{CancelToken, IngestStage, NoProgress, ProgressEvent, ProgressSink};
pub use retriever::{ChunkText, Retriever};
pub use stale::stale_answers;
pub use store::{BatchWrite, DocumentMeta, KbInfo, KnowledgeStore, SourceInfo, SourceKind, StoredChunk};
