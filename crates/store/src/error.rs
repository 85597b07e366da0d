//! Errors of the stores (SQLite and PostgreSQL).

use std::path::PathBuf;

use throughline_core::{CoreError, ErrorKind};

/// An error from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened.
    #[error("{path}: cannot open the metadata database: {source}")]
    Open {
        /// The database path.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The database was written by a newer, incompatible version.
    #[error("{path}: schema version {found} is newer than this binary supports ({supported})")]
    SchemaTooNew {
        /// The database path.
        path: PathBuf,
        /// Version found.
        found: i64,
        /// Version supported.
        supported: i64,
    },
    /// A knowledge base exists with another embedding model.
    #[error("knowledge base `{kb}` was built with model `{stored}` ({stored_dim} dims), not `{requested}` ({requested_dim} dims)")]
    ModelMismatch {
        /// The knowledge base name.
        kb: String,
        /// Model recorded.
        stored: String,
        /// Dimension recorded.
        stored_dim: usize,
        /// Model requested.
        requested: String,
        /// Dimension requested.
        requested_dim: usize,
    },
    /// A knowledge base name is not acceptable.
    #[error("`{name}` is not a valid knowledge base name: {reason}")]
    BadName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A stored value could not be decoded.
    #[error("corrupt row in `{table}`: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The PostgreSQL server could not be reached (or the pool gave no connection in time).
    #[error("{url}: cannot reach the PostgreSQL database: {detail}")]
    Connect {
        /// The database URL, password hidden.
        url: String,
        /// Why.
        detail: String,
    },
    /// `migrate --to` copies only into an empty database.
    #[error("{url}: the database is not empty (it already holds knowledge bases, agents or jobs); migrate into an empty one")]
    NotEmpty {
        /// The database URL, password hidden.
        url: String,
    },
    /// PostgreSQL reported an error.
    #[error("PostgreSQL: {}", postgres_detail(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// SQLite reported an error.
    #[error("metadata database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Open { .. } => ErrorKind::Unavailable,
            StoreError::SchemaTooNew { .. } => ErrorKind::Internal,
            StoreError::ModelMismatch { .. } => ErrorKind::Conflict,
            StoreError::BadName { .. } => ErrorKind::InvalidInput,
            StoreError::Corrupt { .. } => ErrorKind::Internal,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy
                        | rusqlite::ErrorCode::DatabaseLocked
                        | rusqlite::ErrorCode::DiskFull
                ) =>
            {
                ErrorKind::Unavailable
            }
            StoreError::Sqlite(_) => ErrorKind::Internal,
            StoreError::Connect { .. } => ErrorKind::Unavailable,
            StoreError::NotEmpty { .. } => ErrorKind::Conflict,
            StoreError::Postgres(e)
                if e.is_closed() || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()) =>
            {
                ErrorKind::Unavailable
            }
            StoreError::Postgres(_) => ErrorKind::Internal,
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        CoreError::new(e.kind(), e.to_string())
    }
}

/// The server's own message when there is one (`tokio_postgres` shows only "db error" otherwise).
fn postgres_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// Result with [`StoreError`].
pub type StoreResult<T, E = StoreError> = std::result::Result<T, E>;
