//! `limit`/`offset` paging shared by every list endpoint. Without `limit` a list is whole (what the web UI
//! reads); with it, at most [`MAX_LIMIT`] items from `offset` (a larger limit is capped, and the response
//! says which it used). Every list answers `total`, `limit` and `offset` beside its items.

use serde::Deserialize;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_count_the_whole_list_and_cap_the_limit() {
        let items: Vec<u32> = (0..25).collect();
        let whole = Page::default().slice(items.clone());
        assert_eq!((whole.total, whole.limit, whole.items.len()), (25, 25, 25));
        let page = Page { limit: Some(10), offset: Some(20) }.slice(items.clone());
        assert_eq!(page.items, vec![20, 21, 22, 23, 24]);
        assert_eq!((page.total, page.offset), (25, 20));
        let past = Page { limit: Some(10), offset: Some(99) }.slice(items.clone());
        assert_eq!((past.items.len(), past.offset), (0, 25));
        let capped = Page { limit: Some(5_000), offset: None }.slice(items);
        assert_eq!(capped.limit, MAX_LIMIT);
    }
}
