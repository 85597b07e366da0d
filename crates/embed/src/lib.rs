//! Sentence embeddings on the CPU with candle: a sentence-transformers BERT model folder
//! (`config.json`, `tokenizer.json`, `model.safetensors`) loaded by [`BertEmbedder`], which implements
//! [`throughline_core::Embedder`].
//!
//! Each text is tokenised without padding and truncated at the model window (256 word pieces for
//! all-MiniLM-L6-v2, [CLS] and [SEP] included). Batches are formed from texts sorted by length so that
//! padding waste stays small; the BERT forward pass is followed by mean pooling under the attention mask
//! and L2 normalisation. The output matches the sentence-transformers reference vectors to cosine ≥ 0.999
//! (see `tests/it`).
//!
//! ```no_run
//! use throughline_core::Embedder;
//! use throughline_embed::{BertEmbedder, EmbedConfig};
//! let e = BertEmbedder::load(&EmbedConfig::new("models/all-MiniLM-L6-v2")).unwrap();
//! let v = e.embed_query("How much is the Team plan?").unwrap();
//! assert_eq!(v.len(), 384);
//! ```
#![warn(missing_docs)]

mod batch;
mod bert;
mod error;
mod fast;
mod pooling;
mod tokenize;

pub use bert::{BertEmbedder, EmbedConfig, Engine};
pub use error::EmbedError;
