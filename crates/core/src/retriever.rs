//! The [`Retriever`] seam: what the agent needs from a knowledge base — hybrid search, the embedder for
//! its own sentence scoring, the documents' text for deriving defaults, and the extracted pricing plans.
//! `ingest::KnowledgeBase` implements it; the agent never sees the store or the indexes directly.

use crate::{CoreError, PageType, Plan, SearchHit, SearchRequest};

/// One chunk's text with its document's path and page type.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkText {
    /// The document's path (evaluation id).
    pub path: String,
    /// The document's title.
    pub title: String,
    /// The document's page type.
    pub page_type: PageType,
    /// Headings above the chunk.
    pub heading_path: Vec<String>,
    /// The chunk text.
    pub text: String,
}

/// A searchable knowledge base as the agent sees it.
pub trait Retriever: Send + Sync {
    /// The knowledge base's name.
    fn name(&self) -> &str;
    /// Searches (embedding the query when the mode needs it).
    fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>, CoreError>;
    /// Embeds texts into unit vectors with the knowledge base's model.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, CoreError>;
    /// Every chunk's text, in document order (used once, to derive an agent's defaults).
    fn chunk_texts(&self) -> Result<Vec<ChunkText>, CoreError>;
    /// The pricing plans extracted from the knowledge base's pricing pages.
    fn plans(&self) -> Result<Vec<Plan>, CoreError>;
}
