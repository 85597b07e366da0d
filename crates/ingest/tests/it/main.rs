//! Integration tests of the ingest crate against real parts: SQLite, tantivy, the embedding model in
//! `models/`, and an HTTP test site served on 127.0.0.1 by the tests themselves.

mod crawl;
mod hostile;
mod pricing_corpora;
mod site;
mod throughput;
