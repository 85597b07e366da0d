//! `POST /v1/kbs/{kb}/search` (and `GET` with `?q=`): the public search surface, shaped as users of
//! Meilisearch or Algolia expect: `q`, `limit`, `offset`, `filter`, `mode`, hits with highlighted
//! snippets and each retriever's rank and score, `processingTimeMs`-style timing.

use std::time::Instant;

use axum::extract::State;
use serde::Deserialize;
use throughline_core::{FusionMode, PageType, SearchFilters, SearchMode, SearchRequest, SourceId};

use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::wire::search::TotalRelation;
use crate::wire::{ErrorBody, Hit, SearchResponse};
use crate::AppState;

/// Largest `limit`: a larger one is capped to it (the response's `limit` says what was used).
pub const MAX_RESULTS: usize = 100;
/// Largest `offset`.
pub const MAX_OFFSET: usize = 1_000;

/// A search request body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SearchRequest)]
pub struct SearchBody {
    /// The query (`query` is accepted too), up to 2,000 characters.
    #[serde(alias = "query")]
    #[schema(min_length = 1, max_length = 2000, pattern = "[^\\s\\u0085]")]
    pub q: String,
    /// `hybrid` (default), `bm25` or `vector`.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(hybrid|bm25|vector)$")]
    pub mode: Option<String>,
    /// Hits to return (default 10; above 100 capped to 100).
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    #[schema(minimum = 1)]
    pub limit: Option<usize>,
    /// Hits to skip (pagination).
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    #[schema(maximum = 1000)]
    pub offset: Option<usize>,
    /// Restrictions.
    #[serde(default)]
    pub filter: Option<FilterBody>,
    /// `rrf` or `weighted` (hybrid only).
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(rrf|weighted)$")]
    pub fusion: Option<String>,
    /// Return every matching chunk instead of the best one per document.
    #[serde(default)]
    pub all_chunks: bool,
    /// Include each hit's full chunk text.
    #[serde(default)]
    pub include_text: bool,
    /// Count every hit the query has (`total_hits_relation: "eq"`) instead of answering a lower bound
    /// when the page is full: one more pass over the keyword matches, a few milliseconds per thousand
    /// chunks (see BENCHMARKS.md).
    #[serde(default)]
    pub track_total_hits: bool,
}

/// Filter part of a search.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SearchFilter)]
pub struct FilterBody {
    /// Only these page types (docs, help, pricing, faq, blog, changelog, legal, other).
    #[serde(default)]
    #[schema(value_type = Vec<PageTypeName>)]
    pub page_type: Vec<String>,
    /// Only these sources (ids).
    #[serde(default)]
    #[schema(value_type = Vec<SourceIdString>)]
    pub source: Vec<String>,
}

/// A page type, as the search filter takes it: the names of [`PageType::ALL`].
struct PageTypeName;

impl utoipa::PartialSchema for PageTypeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        let names: Vec<&str> = PageType::ALL.iter().map(|t| t.as_str()).collect();
        let schema = serde_json::json!({"type": "string", "enum": names});
        // Valid OpenAPI by construction; an empty schema is the impossible fallback.
        utoipa::openapi::RefOr::T(serde_json::from_value(schema).unwrap_or_default())
    }
}

impl utoipa::ToSchema for PageTypeName {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("PageType")
    }
}

/// A source id.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^[0-9a-f]{16}$")]
#[allow(dead_code)]
struct SourceIdString(String);

/// Query-string form of a search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The query (required), up to 2,000 characters.
    #[param(required = true, min_length = 1, max_length = 2000, pattern = "[^\\s\\u0085]")]
    q: Option<String>,
    /// `hybrid` (default), `bm25` or `vector`.
    #[param(pattern = "^(hybrid|bm25|vector)$")]
    mode: Option<String>,
    /// Hits to return (default 10; above 100 capped to 100).
    #[param(minimum = 1)]
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    limit: Option<usize>,
    /// Hits to skip.
    #[param(maximum = 1000)]
    #[serde(default, deserialize_with = "crate::wire::de::opt_count")]
    offset: Option<usize>,
    /// Only these page types, comma-separated.
    #[param(
        pattern = "^((docs|help|pricing|faq|blog|changelog|legal|other)(,(docs|help|pricing|faq|blog|changelog|legal|other))*)?$"
    )]
    page_type: Option<String>,
    /// Every matching chunk instead of the best one per document.
    all_chunks: Option<bool>,
    /// Each hit's whole chunk text.
    include_text: Option<bool>,
    /// Count every hit the query has instead of answering a lower bound when the page is full.
    track_total_hits: Option<bool>,
}

fn parse_request(body: &SearchBody) -> ApiResult<(SearchRequest, usize)> {
    // Blank is what JSON Schema's `\s` and Rust's whitespace both call blank (the document's pattern asks
    // for one character that is neither).
    if body.q.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').is_empty() {
        return Err(ApiError::invalid("q", "the query is empty"));
    }
    if body.q.chars().count() > 2_000 {
        return Err(ApiError::invalid("q", "the query is longer than 2,000 characters"));
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

async fn run(state: AppState, kb: String, body: SearchBody) -> ApiResult<ApiJson<SearchResponse>> {
    let (request, offset) = parse_request(&body)?;
    let handle = state.kb(&kb)?;
    let started = Instant::now();
    let req = request.clone();
    let track = body.track_total_hits;
    let (hits, total, exact) = tokio::task::spawn_blocking(move || {
        let hits = handle.search(&req)?;
        // Fewer hits than asked for is all there is; a full page is a lower bound unless every match is
        // counted (`track_total_hits`).
        let short = hits.len() < req.limit;
        let total = if track { handle.total_hits(&req, hits.len())? } else { hits.len() };
        Ok::<_, throughline_ingest::IngestError>((hits, total, short || track))
    })
    .await
    .map_err(|e| ApiError::internal(format!("search failed: {e}")))??;
    let took = started.elapsed();
    Ok(ApiJson(SearchResponse {
        query: request.query,
        mode: request.mode.as_str().to_string(),
        hits: hits.iter().skip(offset).map(|h| Hit::new(h, body.include_text)).collect(),
        offset,
        limit: request.limit - offset,
        estimated_total_hits: total,
        total_hits_relation: if exact { TotalRelation::Eq } else { TotalRelation::Gte },
        processing_time_ms: took.as_secs_f64() * 1000.0,
    }))
}

/// `POST /v1/kbs/{kb}/search`
#[utoipa::path(post, path = "/v1/kbs/{kb}/search", operation_id = "search", tag = "search",
    params(("kb" = String, Path, description = "Knowledge base name or id")),
    request_body = SearchBody,
    summary = "Search a knowledge base (hybrid by default)",
    responses((status = 200, description = "Hits, best first", body = SearchResponse),
        (status = 400, description = "A bad field (`error.field` names it)", body = ErrorBody),
        (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn post(
    State(state): State<AppState>,
    ApiPath(kb): ApiPath<String>,
    ApiJson(body): ApiJson<SearchBody>,
) -> ApiResult<ApiJson<SearchResponse>> {
    run(state, kb, body).await
}

/// `GET /v1/kbs/{kb}/search?q=…&mode=…&limit=…&offset=…&page_type=a,b&all_chunks=true&include_text=true`
#[utoipa::path(get, path = "/v1/kbs/{kb}/search", operation_id = "search_get", tag = "search",
    params(("kb" = String, Path, description = "Knowledge base name or id"), SearchQuery),
    summary = "Search a knowledge base, the query in the query string",
    responses((status = 200, description = "Hits, best first", body = SearchResponse),
        (status = 400, description = "A bad parameter (`error.field` names it)", body = ErrorBody),
        (status = 404, description = "Unknown knowledge base", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(kb): ApiPath<String>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<ApiJson<SearchResponse>> {
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
        track_total_hits: q.track_total_hits.unwrap_or(false),
    };
    run(state, kb, body).await
}
