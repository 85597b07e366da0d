//! Errors of the embedder.

use std::path::PathBuf;

use throughline_core::{EmbedderError, ErrorKind};

/// An error loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file is missing or unreadable.
    #[error("{path}: cannot read model file: {reason}")]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The model folder is not a BERT sentence-transformers model we can load.
    #[error("{path}: unsupported model: {reason}")]
    Unsupported {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Tokenisation failed.
    #[error("tokenizer: {0}")]
    Tokenize(String),
    /// The forward pass failed.
    #[error("model forward pass: {0}")]
    Forward(#[from] candle_core::Error),
}

impl EmbedError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EmbedError::ModelFile { .. } | EmbedError::Unsupported { .. } => ErrorKind::InvalidInput,
            EmbedError::Tokenize(_) => ErrorKind::InvalidInput,
            EmbedError::Forward(_) => ErrorKind::Internal,
        }
    }
}

impl From<EmbedError> for EmbedderError {
    fn from(e: EmbedError) -> Self {
        EmbedderError(e.to_string())
    }
}
