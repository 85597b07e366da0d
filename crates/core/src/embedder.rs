//! The [`Embedder`] seam: turns text into unit vectors. `search` never loads a model; it receives vectors
//! computed through this trait by its callers.

/// Error from an embedder, carrying a message that names the input or the model.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EmbedderError(pub String);

/// Something that turns text into L2-normalised vectors of a fixed dimension.
pub trait Embedder: Send + Sync {
    /// The vector dimension.
    fn dim(&self) -> usize;
    /// A stable identifier of the model, recorded with each knowledge base.
    fn model_id(&self) -> String;
    /// The most word pieces (special tokens included) a text may have before it is truncated.
    fn max_tokens(&self) -> usize;
    /// Word pieces in `text`, special tokens included, without truncation.
    fn count_tokens(&self, text: &str) -> usize;
    /// Embeds a batch of texts; the output has one unit vector per input, in input order.
    /// Empty texts get a valid vector (the embedding of the special tokens alone).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedderError>;
    /// Embeds a single query (the latency-sensitive path).
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedderError> {
        let mut v = self.embed(&[text])?;
        v.pop().ok_or_else(|| EmbedderError("embedder returned no vector".into()))
    }
}
