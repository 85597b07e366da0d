//! Search over one knowledge base: a tantivy BM25 index ([`bm25`]) and an hnsw_rs cosine index
//! ([`vectors`]), fused by reciprocal rank fusion or a weighted blend ([`fusion`]), with the variants of
//! template families the question does not name lowered ([`families`]), filters by page type and
//! source, one result per document, highlighted snippets and each retriever's rank and score.
//! [`HybridIndex`] implements [`throughline_core::KnowledgeIndex`].
//!
//! Architecture invariant: this crate never loads a model. It receives query vectors computed by the
//! caller through [`throughline_core::Embedder`], so its tests run on hand-made vectors.
//!
//! The indexes are derived data. Each records the store batch it contains (the tantivy commit payload,
//! the vector index's meta file); [`HybridIndex::reconcile`](throughline_core::KnowledgeIndex::reconcile)
//! brings them back in line with the store after a crash, and corrupt files are rebuilt, never trusted.
//!
//! [`eval`] computes nDCG@10, Recall@k and MRR@10 from ranked document ids.
//!
//! ```
//! use throughline_core::SearchMode;
//! let fused = throughline_search::fusion::rrf(&[vec![1u64, 2, 3], vec![3, 1]], 60.0);
//! assert_eq!(fused[0].0, 1); // first in one list, second in the other
//! assert_eq!(SearchMode::Hybrid.as_str(), "hybrid");
//! ```
#![warn(missing_docs)]

pub mod bm25;
mod error;
pub mod eval;
pub mod families;
pub mod fusion;
mod hybrid;
pub mod vectors;

pub use error::SearchError;
pub use hybrid::{HybridIndex, IndexConfig};
