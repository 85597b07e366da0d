//! Handlers, one module per resource.

pub mod jobs;
pub mod kbs;
pub mod search;
pub mod system;
