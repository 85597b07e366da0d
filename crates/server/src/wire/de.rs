//! Deserializers for request fields: a JSON number with no fractional part (`20.0`) is an integer, as JSON
//! Schema's `integer` says, so a client that writes every number as a float is not refused.

use serde::{Deserialize, Deserializer};

/// An optional non-negative integer, written as `20` or `20.0`.
pub fn opt_count<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    let whole = match (n.as_u64(), n.as_f64()) {
        (Some(u), _) => Some(u),
        (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 => Some(f as u64),
        _ => None,
    };
    let whole = whole.ok_or_else(|| serde::de::Error::custom(format!("`{n}` is not a non-negative integer")))?;
    T::try_from(whole).map(Some).map_err(|_| serde::de::Error::custom(format!("`{n}` is too large")))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::opt_count")]
        limit: Option<usize>,
    }

    fn limit(json: &str) -> Result<Option<usize>, String> {
        serde_json::from_str::<Body>(json).map(|b| b.limit).map_err(|e| e.to_string())
    }

    #[test]
    fn integers_may_be_written_as_whole_floats() {
        assert_eq!(limit(r#"{"limit": 20}"#), Ok(Some(20)));
        assert_eq!(limit(r#"{"limit": 20.0}"#), Ok(Some(20)));
        assert_eq!(limit(r#"{"limit": null}"#), Ok(None));
        assert_eq!(limit("{}"), Ok(None));
        assert!(limit(r#"{"limit": 2.5}"#).unwrap_err().contains("not a non-negative integer"));
        assert!(limit(r#"{"limit": -1}"#).unwrap_err().contains("not a non-negative integer"));
        assert!(limit(r#"{"limit": "3"}"#).is_err());
    }
}
