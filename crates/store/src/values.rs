//! Values as the tables store them, in both backends: times in seconds since the epoch, ids as 64-bit
//! integers, vectors as little-endian bytes, key/value pairs as a JSON object, and the checks of names.
//! Every module of the crate uses these.

use std::time::{SystemTime, UNIX_EPOCH};

use throughline_core::CoreError;

use crate::{StoreError, StoreResult};

/// Now, in seconds since the epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// An id as a SQLite integer.
pub(crate) fn to_i64(v: u64) -> i64 {
    // Ids are 63-bit by construction (see throughline_core::ids).
    v as i64
}

pub(crate) fn encode_vector(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

pub(crate) fn decode_vector(bytes: &[u8]) -> StoreResult<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(StoreError::Corrupt { table: "chunks", detail: format!("vector of {} bytes", bytes.len()) });
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

pub(crate) fn validate_name(name: &str) -> StoreResult<()> {
    let bad = |reason| Err(StoreError::BadName { name: name.to_string(), reason });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return bad("use only letters, digits, '-' and '_'");
    }
    Ok(())
}

pub(crate) fn pairs_to_json(pairs: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        pairs.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    serde_json::Value::Object(map).to_string()
}

pub(crate) fn pairs_from_json(table: &'static str, s: &str) -> StoreResult<Vec<(String, String)>> {
    let v: serde_json::Value =
        serde_json::from_str(s).map_err(|e| StoreError::Corrupt { table, detail: format!("{e}: {s}") })?;
    let obj = v.as_object().ok_or_else(|| StoreError::Corrupt { table, detail: format!("not an object: {s}") })?;
    Ok(obj.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect())
}

pub(crate) fn validate_agent_name(name: &str) -> Result<(), CoreError> {
    let ok =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CoreError::new(
            throughline_core::ErrorKind::InvalidInput,
            format!("`{name}` is not a valid agent name: use 1 to 64 letters, digits, '-' or '_'"),
        ))
    }
}
