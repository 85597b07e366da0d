//! Handlers, one module per resource.

pub mod agents;
pub mod jobs;
pub mod kbs;
pub mod openai;
pub mod search;
pub mod system;
