//! Deserializers for counts in request bodies and query strings (`limit`, `offset`, `max_pages`): a JSON
//! number with no fractional part (`20.0`) is an integer, as JSON Schema's `integer` says, a query string's
//! `20` is read as the number it spells, and a count too large for the machine saturates (the handlers cap
//! counts anyway), so no request the OpenAPI document calls valid is refused for how it wrote a number.

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Number(serde_json::Number),
    Text(String),
}

fn whole(w: Written) -> Result<u64, String> {
    // The count exactly when it is written as one, and as a float otherwise.
    let (exact, float, text) = match w {
        Written::Number(n) => (n.as_u64(), n.as_f64(), n.to_string()),
        Written::Text(t) => {
            let t = t.trim().to_string();
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            // Digits only: a count, however long (saturating).
            (digits.then(|| t.parse::<u64>().unwrap_or(u64::MAX)), t.parse::<f64>().ok(), t)
        }
    };
    match (exact, float) {
        (Some(u), _) => Ok(u),
        (None, Some(f)) if f >= 0.0 && f.fract() == 0.0 => Ok(if f >= u64::MAX as f64 { u64::MAX } else { f as u64 }),
        _ => Err(format!("`{text}` is not a non-negative integer")),
    }
}

/// An optional count, written as `20`, `20.0` or `"20"`; saturating.
pub fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    match Option::<Written>::deserialize(d)? {
        None => Ok(None),
        Some(w) => whole(w).map(|u| Some(usize::try_from(u).unwrap_or(usize::MAX))).map_err(serde::de::Error::custom),
    }
}

/// [`opt_count`] for a `u32`.
pub fn opt_count_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<Written>::deserialize(d)? {
        None => Ok(None),
        Some(w) => whole(w).map(|u| Some(u32::try_from(u).unwrap_or(u32::MAX))).map_err(serde::de::Error::custom),
    }
}

/// An optional integer that may be negative (a budget the handler checks), written as `-3`, `20` or
/// `20.0`; saturating.
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            .or_else(|| {
                n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
            })
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("`{n}` is not an integer"))),
    }
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

    fn query(q: &str) -> Result<Option<usize>, String> {
        serde_urlencoded::from_str::<Body>(q).map(|b| b.limit).map_err(|e| e.to_string())
    }

    #[test]
    fn counts_may_be_written_as_whole_floats_and_saturate() {
        assert_eq!(limit(r#"{"limit": 20}"#), Ok(Some(20)));
        assert_eq!(limit(r#"{"limit": 20.0}"#), Ok(Some(20)));
        assert_eq!(limit(r#"{"limit": null}"#), Ok(None));
        assert_eq!(limit("{}"), Ok(None));
        assert_eq!(limit(r#"{"limit": 1e30}"#), Ok(Some(usize::MAX)));
        assert!(limit(r#"{"limit": 2.5}"#).unwrap_err().contains("not a non-negative integer"));
        assert!(limit(r#"{"limit": -1}"#).unwrap_err().contains("not a non-negative integer"));
        assert_eq!(query("limit=7"), Ok(Some(7)));
        assert_eq!(query("limit=103463693943888609280"), Ok(Some(usize::MAX)));
        assert!(query("limit=abc").unwrap_err().contains("not a non-negative integer"));
        assert_eq!(query(""), Ok(None));
    }
}
