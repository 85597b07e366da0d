//! The crate-neutral error taxonomy: each library error reports an [`ErrorKind`] so the HTTP edge can map
//! it to a status code with an exhaustive match, without knowing every crate's variants.

use std::fmt;

/// What kind of failure an error is, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller sent something unusable (bad file, bad URL, bad query).
    InvalidInput,
    /// The named thing does not exist.
    NotFound,
    /// The request conflicts with existing state (duplicate name, concurrent write).
    Conflict,
    /// A dependency is temporarily unavailable (disk full, lock held, remote down).
    Unavailable,
    /// A bug or an unexpected condition inside Throughline.
    Internal,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal error",
        })
    }
}

/// A small error used at trait seams, where the implementing crate's own error type cannot be named.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CoreError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// Human-readable message, starting with the input it concerns.
    pub message: String,
}

impl CoreError {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// The failure's kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
