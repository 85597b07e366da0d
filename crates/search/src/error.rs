//! Errors of the search indexes.

use std::path::PathBuf;

use throughline_core::{CoreError, ErrorKind};

/// An error from the search indexes.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query has no searchable text.
    #[error("the query is empty: type a few words to search for")]
    EmptyQuery,
    /// Vector or hybrid search without a query vector.
    #[error("{mode} search needs a query vector")]
    MissingVector {
        /// The mode asked for.
        mode: &'static str,
    },
    /// A vector of the wrong dimension.
    #[error("vector of {found} dimensions given to an index of {expected}")]
    Dimension {
        /// The index dimension.
        expected: usize,
        /// What was given.
        found: usize,
    },
    /// tantivy failed.
    #[error("{path}: keyword index: {source}")]
    Tantivy {
        /// The index folder.
        path: PathBuf,
        /// The cause.
        source: tantivy::TantivyError,
    },
    /// A file of the vector index could not be read or written.
    #[error("{path}: vector index: {reason}")]
    Vectors {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl SearchError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SearchError::EmptyQuery | SearchError::MissingVector { .. } | SearchError::Dimension { .. } => {
                ErrorKind::InvalidInput
            }
            SearchError::Tantivy { .. } | SearchError::Vectors { .. } => ErrorKind::Internal,
        }
    }
}

impl From<SearchError> for CoreError {
    fn from(e: SearchError) -> Self {
        CoreError::new(e.kind(), e.to_string())
    }
}
