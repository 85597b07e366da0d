//! Plain configuration structs with documented defaults. Library crates take these as arguments; only
//! the binary reads files and the environment.

/// How documents are cut into chunks.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct ChunkConfig {
    /// Most word pieces per chunk, counting the title and heading prefix and special tokens
    /// (well under the model's 256 window). Default 200.
    pub max_tokens: usize,
    /// Sections shorter than this (in word pieces) are merged into the following chunk when they share
    /// a parent heading. Default 40.
    pub min_tokens: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        Self { max_tokens: 200, min_tokens: 40 }
    }
}

/// How BM25 and vector results are combined.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FusionMode {
    /// Reciprocal rank fusion: `sum 1 / (k + rank)`.
    Rrf,
    /// Weighted blend of max-normalised BM25 scores and cosine similarities.
    Weighted,
}

/// Search tuning.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// Candidates taken from each retriever before fusion. Default 100.
    pub candidates: usize,
    /// The `k` constant of reciprocal rank fusion. Default 60.
    pub rrf_k: f32,
    /// Fusion mode. Default the weighted blend of normalised scores, which beat reciprocal rank fusion
    /// on every evaluation set (BENCHMARKS.md).
    pub fusion: FusionMode,
    /// Weight of the (min-max scaled) vector score in the weighted blend; BM25 (scaled by its best score)
    /// gets the rest. Default 0.7, chosen on the railway, ably and sample-kb question sets.
    pub vector_weight: f32,
    /// HNSW search breadth (`ef`). Default 128.
    pub ef_search: usize,
    /// Characters of text in a snippet. Default 220.
    pub snippet_chars: usize,
    /// How far (in fused score) hybrid search lowers the variants of a template family ("Deploy a Bun
    /// App", "Deploy a FastAPI App", …) that the question does not select. Default 0.2 (measured on the
    /// real-docs question sets, BENCHMARKS.md); 0 turns it off.
    pub family_penalty: f32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            candidates: 100,
            rrf_k: 60.0,
            fusion: FusionMode::Weighted,
            vector_weight: 0.7,
            ef_search: 128,
            snippet_chars: 220,
            family_penalty: 0.2,
        }
    }
}
