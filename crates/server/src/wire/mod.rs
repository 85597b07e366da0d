//! The typed wire layer: what the API sends and receives, as Rust types with their OpenAPI schemas
//! (utoipa `ToSchema`), converted from the domain types of `throughline-core`. Handlers return these views;
//! the OpenAPI document is generated from them and from each handler's `#[utoipa::path]` (see
//! [`crate::routes::system::document`]).
//!
//! Every operation's request and response: knowledge bases (sources, documents, uploads, crawls), jobs,
//! search, stale answers, agents and their versions, plan catalogues, publication (public key, widget
//! settings, identity secret), memory (contacts, leads, handoffs, events, the audit), the visitor side
//! (sessions, chat turns, history, live events, widget configuration), the OpenAI-compatible API and MCP's
//! JSON-RPC envelopes. Still built as JSON inside their typed envelope: a job's `spec` and `progress`, and
//! the data of its event stream.

pub mod agents;
pub mod chat;
pub mod de;
pub mod error;
pub mod freshness;
pub mod jobs;
pub mod kbs;
pub mod mcp;
pub mod memory;
pub mod openai;
pub mod plans;
pub mod publication;
pub mod search;
pub mod sessions;

pub use agents::{
    AgentDeleted, AgentDetail, AgentList, AgentSummary, AgentVersion, AgentVersionSummary, AgentVersions, CreateAgent,
    CreateAgentBody, UpdateAgent, UpdateAgentBody,
};
pub use chat::{Citation, Trace, Turn};
pub use error::ErrorBody;
pub use freshness::{StaleAnswers, StalePage, StaleQuote};
pub use jobs::{Job, JobList, StreamEvent};
pub use kbs::{
    CrawlPage, CrawlReport, CreateKb, Document, DocumentList, JobAccepted, Kb, KbDetail, KbList, Source, SourceDeleted,
    SourceList, UploadAccepted,
};
pub use memory::{
    AuditReport, ContactList, ContactSummary, EventBody, EventOutcome, Handoff, HandoffEntry, HandoffList,
    HandoffMessage, KeyValue, KnowledgeGap, Lead, LeadEntry, LeadList, LifecycleName, Memory, Proactive, ReplyBody,
    ReplySent, ResolveBody, RoleName, StageAudit, StageName,
};
pub use plans::{AgentVersionRef, Catalogue, CatalogueEdit, PlanView};
pub use publication::{IdentitySecret, Published};
pub use search::{Hit, SearchResponse};
pub use sessions::{
    ChatBody, NewSession, NewSessionBody, SessionCreated, SessionEvent, SessionMessage, SessionMessages, WidgetConfig,
};

/// Pattern of every id the API hands out (knowledge bases, sources, documents, chunks, jobs, contacts,
/// conversations): 16 lowercase hexadecimal digits.
pub const ID_PATTERN: &str = "^[0-9a-f]{16}$";
