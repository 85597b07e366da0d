//! Handlers, one module per resource.

pub mod agents;
pub mod freshness;
pub mod jobs;
pub mod kbs;
pub mod memory;
pub mod openai;
pub mod plans;
pub mod publication;
pub mod search;
pub mod sessions;
pub mod system;
