//! Values as the tables store them: times in seconds since the epoch, ids as SQLite integers. Every
//! module of the crate uses these; they use nothing of the crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in seconds since the epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// An id as a SQLite integer.
pub(crate) fn to_i64(v: u64) -> i64 {
    // Ids are 63-bit by construction (see throughline_core::ids).
    v as i64
}
