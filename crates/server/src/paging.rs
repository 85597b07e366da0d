//! `limit`/`offset` paging shared by every list endpoint. Without `limit` a list is whole (what the web UI
//! reads); with it, at most [`MAX_LIMIT`] items from `offset` (a larger limit is capped, and the response
//! says which it used). Every list answers `total`, `limit` and `offset` beside its items.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiResult;

/// Most items in one page.
pub const MAX_LIMIT: usize = 1_000;

/// The query string of a list.
#[derive(Debug, Default, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Items to return (the whole list when absent; above 1,000 capped to 1,000).
    #[param(minimum = 0)]
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    pub limit: Option<usize>,
    /// Items to skip.
    #[param(minimum = 0)]
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    pub offset: Option<usize>,
}

/// One page of a list, with the counts every list answers.
#[derive(Debug)]
pub struct Paged<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Items in the whole list.
    pub total: usize,
    /// Items in this page (the `limit` used, after capping).
    pub limit: usize,
    /// Items skipped.
    pub offset: usize,
}

impl Page {
    /// The page of `items` this query asks for.
    pub fn slice<T>(&self, items: Vec<T>) -> Paged<T> {
        let total = items.len();
        let offset = self.offset.unwrap_or(0).min(total);
        let limit = self.limit.map_or(total - offset, |l| l.min(MAX_LIMIT));
        Paged { items: items.into_iter().skip(offset).take(limit).collect(), total, limit, offset }
    }

    /// `{key: [the page of items, as JSON], "total", "limit", "offset"}`; only the page's items are
    /// turned into JSON.
    pub fn list<T>(
        &self,
        key: &str,
        items: Vec<T>,
        mut to_json: impl FnMut(T) -> ApiResult<Value>,
    ) -> ApiResult<Value> {
        let Paged { items, total, limit, offset } = self.slice(items);
        let page = items.into_iter().map(&mut to_json).collect::<ApiResult<Vec<_>>>()?;
        let mut v = json!({ "total": total, "limit": limit, "offset": offset });
        v[key] = Value::Array(page);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_count_the_whole_list_and_cap_the_limit() {
        let items: Vec<u32> = (0..25).collect();
        let whole = Page::default().list("n", items.clone(), |i| Ok(json!(i))).unwrap();
        assert_eq!(
            (whole["total"].as_u64(), whole["limit"].as_u64(), whole["n"].as_array().unwrap().len()),
            (Some(25), Some(25), 25)
        );
        let page = Page { limit: Some(10), offset: Some(20) }.list("n", items.clone(), |i| Ok(json!(i))).unwrap();
        assert_eq!(page["n"], json!([20, 21, 22, 23, 24]));
        assert_eq!((page["total"].as_u64(), page["offset"].as_u64()), (Some(25), Some(20)));
        let past = Page { limit: Some(10), offset: Some(99) }.list("n", items.clone(), |i| Ok(json!(i))).unwrap();
        assert_eq!((past["n"].as_array().unwrap().len(), past["offset"].as_u64()), (0, Some(25)));
        let capped = Page { limit: Some(5_000), offset: None }.list("n", items, |i| Ok(json!(i))).unwrap();
        assert_eq!(capped["limit"].as_u64(), Some(MAX_LIMIT as u64));
    }
}
