//! The grounded customer agent of Throughline: one agent for the four lifecycle stages (acquisition,
//! activation, support, expansion) with one memory per contact.
//!
//! Principal types: [`Agent`] (open it over a [`throughline_core::MemoryStore`] and one or more
//! [`throughline_core::Retriever`]s, then [`Agent::respond`] and [`Agent::record_event`]),
//! [`AgentConfig`] (versioned TOML, defaults derived from a knowledge base by [`AgentConfig::derive`]),
//! [`Turn`] and its [`Trace`], [`ChatBackend`] (the optional OpenAI-compatible backend).
//!
//! The agent reaches storage and retrieval only through the traits in `core`; it depends on no other
//! crate of ours. The default answerer needs no LLM: it selects sentences and list items from the
//! retrieved chunks and cites them; under a confidence threshold it says it does not know.
//!
//! ```
//! use throughline_agent::AgentConfig;
//! let cfg = AgentConfig::from_toml("product = \"Uptrail\"\nknowledge_bases = [\"sample\"]\n", "inline").unwrap();
//! assert_eq!(cfg.confidence_threshold, 0.27);
//! assert!(AgentConfig::from_toml("product = 1", "inline").unwrap_err().to_string().starts_with("inline: "));
//! ```
#![warn(missing_docs)]

mod agent;
pub mod bank;
pub mod calibrate;
pub mod config;
mod error;
pub mod escalation;
pub mod events;
pub mod extractive;
pub mod injection;
pub mod llm;
pub mod qualify;
pub mod rewrite;
pub mod sentences;
pub mod stage;
mod turn;
pub mod vocabulary;
mod webhook;

pub use agent::{contact_key, Agent, MAX_MESSAGE_CHARS};
pub use config::AgentConfig;
pub use error::{AgentError, Result};
pub use llm::{ChatBackend, LlmConfig, Unsupported};
pub use turn::{Audit, Citation, EvidenceTrace, MemoryView, ProactiveMessage, RetrievedChunk, StageAudit, Trace, Turn};
