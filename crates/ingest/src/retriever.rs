//! [`KnowledgeBase`] as the agent's [`Retriever`]: the agent reaches a knowledge base only through this
//! trait from `core`, so it depends on neither the store nor the indexes.

use throughline_core::{ChunkText, CoreError, Plan, Retriever, SearchHit, SearchRequest};

use crate::KnowledgeBase;

impl Retriever for KnowledgeBase {
    fn name(&self) -> &str {
        &self.info().name
    }

    fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>, CoreError> {
        KnowledgeBase::search(self, request).map_err(CoreError::from)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, CoreError> {
        self.embedder().embed(texts).map_err(|e| CoreError::new(throughline_core::ErrorKind::Internal, e.0))
    }

    fn chunk_texts(&self) -> Result<Vec<ChunkText>, CoreError> {
        let kb = self.info().id;
        let ids = self.store().chunk_ids(kb)?;
        let mut rows = self.store().chunks_with_docs(kb, &ids)?;
        rows.sort_by(|a, b| a.0.path.cmp(&b.0.path).then(a.1.ordinal.cmp(&b.1.ordinal)));
        Ok(rows
            .into_iter()
            .map(|(d, c)| ChunkText {
                path: d.path,
                title: d.title,
                page_type: d.page_type,
                heading_path: c.heading_path,
                text: c.text,
            })
            .collect())
    }

    fn plans(&self) -> Result<Vec<Plan>, CoreError> {
        self.store().plans(self.info().id)
    }
}
