//! End-to-end tests of the `throughline` binary: each runs the built binary in a temporary data
//! directory, with the real model, SQLite, tantivy and HNSW, and asserts on its output and JSON.

mod agent;
mod bad_input;
mod compat;
mod crash;
mod crawl;
mod harness;
mod ingest_search;
mod pdf;
mod replicas;
mod serve;
