//! Search results as the API shows them, shaped as users of Meilisearch or Algolia expect.

use serde::Serialize;
use throughline_core::SearchHit;
use utoipa::ToSchema;

/// One hit: a chunk of a document with its highlighted snippet and each retriever's rank and score.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hit {
    /// Chunk id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub chunk_id: String,
    /// Document id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub doc_id: String,
    /// Source id.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub source_id: String,
    /// The document's title.
    pub title: String,
    /// The document's path in its source.
    pub path: String,
    /// The page's URL (crawled sites).
    pub url: Option<String>,
    /// `docs`, `help`, `pricing`, `faq`, `blog`, `changelog`, `legal` or `other`.
    pub page_type: String,
    /// Headings above the chunk, outermost first.
    pub heading_path: Vec<String>,
    /// An excerpt around the matched terms.
    pub snippet: String,
    /// Byte ranges `[start, end)` of matched terms in `snippet`.
    pub highlights: Vec<[usize; 2]>,
    /// The fused score (higher is better).
    pub score: f32,
    /// Each retriever's rank and score (absent when it did not find the chunk).
    pub scores: RetrieverScores,
    /// The chunk's whole text (with `include_text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Each retriever's rank and score for a hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetrieverScores {
    /// Keyword search (BM25).
    pub bm25: Option<RetrieverScore>,
    /// Embedding search (cosine).
    pub vector: Option<RetrieverScore>,
}

/// A retriever's rank (from 1) and raw score.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetrieverScore {
    /// From 1.
    pub rank: usize,
    /// BM25 score or cosine similarity.
    pub score: f32,
}

impl Hit {
    /// The view of `h`, with its whole text when `include_text`.
    pub fn new(h: &SearchHit, include_text: bool) -> Self {
        let score =
            |r: Option<throughline_core::RetrieverScore>| r.map(|r| RetrieverScore { rank: r.rank, score: r.score });
        Self {
            chunk_id: h.chunk_id.to_string(),
            doc_id: h.doc_id.to_string(),
            source_id: h.source_id.to_string(),
            title: h.title.clone(),
            path: h.path.clone(),
            url: h.url.clone(),
            page_type: h.page_type.as_str().to_string(),
            heading_path: h.heading_path.clone(),
            snippet: h.snippet.clone(),
            highlights: h.highlights.iter().map(|&(s, e)| [s, e]).collect(),
            score: h.score,
            scores: RetrieverScores { bm25: score(h.bm25), vector: score(h.vector) },
            text: include_text.then(|| h.text.clone()),
        }
    }
}

/// A page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// The query as received.
    pub query: String,
    /// The mode used.
    pub mode: String,
    /// The hits of this page, best first.
    pub hits: Vec<Hit>,
    /// Hits skipped.
    pub offset: usize,
    /// Hits asked for (after capping at 100).
    pub limit: usize,
    /// How many hits the search has in all, for paging: exact when the page is not full or with
    /// `track_total_hits` (the documents — chunks with `all_chunks` — the query's words match under the
    /// filters; in vector mode all those the filters let through); otherwise a lower bound, `offset` + the
    /// hits returned (`total_hits_relation` says which).
    pub estimated_total_hits: usize,
    /// `eq`: `estimated_total_hits` is the total; `gte`: more hits may follow.
    pub total_hits_relation: TotalRelation,
    /// Time spent searching.
    pub processing_time_ms: f64,
}

/// Whether a total is exact or a lower bound (as Elasticsearch's `hits.total.relation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TotalRelation {
    /// Exact.
    Eq,
    /// A lower bound: more may follow.
    Gte,
}
