//! `POST /v1/kbs/{kb}/search` (and `GET` with `?q=`): the public search surface, shaped as users of
//! Meilisearch or Algolia expect: `q`, `limit`, `offset`, `filter`, `mode`, hits with highlighted
//! snippets and each retriever's rank and score, `processingTimeMs`-style timing.

use std::time::Instant;

use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Value};
use throughline_core::{FusionMode, PageType, SearchFilters, SearchHit, SearchMode, SearchRequest, SourceId};

use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::AppState;

/// Largest `limit`: a larger one is capped to it (the response's `limit` says what was used).
pub const MAX_RESULTS: usize = 100;
/// Largest `offset`.
pub const MAX_OFFSET: usize = 1_000;

/// A search request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// The query (`query` is accepted too).
    #[serde(alias = "query")]
    pub q: String,
    /// `hybrid` (default), `bm25` or `vector`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Hits to return (default 10; above 100 capped to 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Hits to skip (pagination).
    #[serde(default)]
    pub offset: Option<usize>,
    /// Restrictions.
    #[serde(default)]
    pub filter: Option<FilterBody>,
    /// `rrf` or `weighted` (hybrid only).
    #[serde(default)]
    pub fusion: Option<String>,
    /// Return every matching chunk instead of the best one per document.
    #[serde(default)]
    pub all_chunks: bool,
    /// Include each hit's full chunk text.
    #[serde(default)]
    pub include_text: bool,
}

/// Filter part of a search.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    /// Only these page types.
    #[serde(default)]
    pub page_type: Vec<String>,
    /// Only these sources (ids).
    #[serde(default)]
    pub source: Vec<String>,
}

/// Query-string form of a search.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    mode: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    page_type: Option<String>,
    all_chunks: Option<bool>,
    include_text: Option<bool>,
}

fn parse_request(body: &SearchBody) -> ApiResult<(SearchRequest, usize)> {
    if body.q.trim().is_empty() {
        return Err(ApiError::invalid("q", "the query is empty"));
    }
    if body.q.len() > 2_000 {
        return Err(ApiError::invalid("q", "the query is longer than 2,000 bytes"));
    }
    let mode = match body.mode.as_deref() {
        None => SearchMode::Hybrid,
        Some(m) => {
            m.parse().map_err(|_| ApiError::invalid("mode", format!("`{m}` is not a mode (hybrid, bm25, vector)")))?
        }
    };
    let limit = body.limit.unwrap_or(10).min(MAX_RESULTS);
    let offset = body.offset.unwrap_or(0);
    if limit == 0 {
        return Err(ApiError::invalid("limit", "limit must be 1 or more"));
    }
    if offset > MAX_OFFSET {
        return Err(ApiError::invalid("offset", format!("offset must be at most {MAX_OFFSET}")));
    }
    let mut filters = SearchFilters::default();
    if let Some(f) = &body.filter {
        for t in &f.page_type {
            filters.page_types.push(t.parse::<PageType>().map_err(|_| {
                ApiError::invalid(
                    "filter.page_type",
                    format!("`{t}` is not a page type (docs, help, pricing, faq, blog, changelog, legal, other)"),
                )
            })?);
        }
        for s in &f.source {
            filters.sources.push(s.parse::<SourceId>().map_err(|e| ApiError::invalid("filter.source", e.to_string()))?);
        }
    }
    let fusion = match body.fusion.as_deref() {
        None => None,
        Some("rrf") => Some(FusionMode::Rrf),
        Some("weighted") => Some(FusionMode::Weighted),
        Some(f) => return Err(ApiError::invalid("fusion", format!("`{f}` is not a fusion (rrf, weighted)"))),
    };
    Ok((
        SearchRequest {
            query: body.q.clone(),
            mode,
            limit: limit + offset,
            filters,
            dedupe_documents: !body.all_chunks,
            fusion,
            query_vector: None,
        },
        offset,
    ))
}

/// The JSON form of a hit.
pub fn hit_json(h: &SearchHit, include_text: bool) -> Value {
    let mut v = json!({
        "chunk_id": h.chunk_id.to_string(),
        "doc_id": h.doc_id.to_string(),
        "source_id": h.source_id.to_string(),
        "title": h.title,
        "path": h.path,
        "url": h.url,
        "page_type": h.page_type.as_str(),
        "heading_path": h.heading_path,
        "snippet": h.snippet,
        "highlights": h.highlights.iter().map(|(s, e)| json!([s, e])).collect::<Vec<_>>(),
        "score": h.score,
        "scores": {
            "bm25": h.bm25.map(|r| json!({"rank": r.rank, "score": r.score})),
            "vector": h.vector.map(|r| json!({"rank": r.rank, "score": r.score})),
        },
    });
    if include_text {
        v["text"] = json!(h.text);
    }
    v
}

async fn run(state: AppState, kb: String, body: SearchBody) -> ApiResult<ApiJson<Value>> {
    let (request, offset) = parse_request(&body)?;
    let handle = state.kb(&kb)?;
    let started = Instant::now();
    let req = request.clone();
    let hits = tokio::task::spawn_blocking(move || handle.search(&req))
        .await
        .map_err(|e| ApiError::internal(format!("search failed: {e}")))??;
    let took = started.elapsed();
    let total = hits.len();
    let page: Vec<Value> = hits.iter().skip(offset).map(|h| hit_json(h, body.include_text)).collect();
    Ok(ApiJson(json!({
        "query": request.query,
        "mode": request.mode.as_str(),
        "hits": page,
        "offset": offset,
        "limit": request.limit - offset,
        "estimated_total_hits": total,
        "processing_time_ms": took.as_secs_f64() * 1000.0,
    })))
}

/// `POST /v1/kbs/{kb}/search`
pub async fn post(
    State(state): State<AppState>,
    ApiPath(kb): ApiPath<String>,
    ApiJson(body): ApiJson<SearchBody>,
) -> ApiResult<ApiJson<Value>> {
    run(state, kb, body).await
}

/// `GET /v1/kbs/{kb}/search?q=…&mode=…&limit=…&offset=…&page_type=a,b&all_chunks=true&include_text=true`
pub async fn get(
    State(state): State<AppState>,
    ApiPath(kb): ApiPath<String>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<ApiJson<Value>> {
    let body = SearchBody {
        q: q.q.unwrap_or_default(),
        mode: q.mode,
        limit: q.limit,
        offset: q.offset,
        filter: q.page_type.map(|p| FilterBody {
            page_type: p.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            source: Vec::new(),
        }),
        fusion: None,
        all_chunks: q.all_chunks.unwrap_or(false),
        include_text: q.include_text.unwrap_or(false),
    };
    run(state, kb, body).await
}
