//! Integration tests: the real server (real SQLite, tantivy, hnsw and the real embedding model) on
//! 127.0.0.1 with a temporary data directory, driven over HTTP.

mod api;
mod chat;
mod freshness;
mod harness;
mod issue13;
mod jobs;
mod live;
mod public_load;
mod replicas;
mod snapshots;
