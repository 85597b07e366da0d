//! Tokenisation without the padding and truncation baked into some `tokenizer.json` exports: we pad per
//! batch ourselves and truncate at the model window keeping the final [SEP], as sentence-transformers does.

use std::path::Path;

use tokenizers::Tokenizer;

use crate::EmbedError;

/// A tokenizer that yields word-piece ids truncated to a window.
pub(crate) struct WordPieces {
    tokenizer: Tokenizer,
    max_tokens: usize,
}

impl WordPieces {
    pub(crate) fn load(path: &Path, max_tokens: usize) -> Result<Self, EmbedError> {
        let mut tokenizer = Tokenizer::from_file(path)
            .map_err(|e| EmbedError::ModelFile { path: path.to_path_buf(), reason: e.to_string() })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| EmbedError::ModelFile { path: path.to_path_buf(), reason: e.to_string() })?;
        if max_tokens < 2 {
            return Err(EmbedError::Unsupported { path: path.to_path_buf(), reason: "window under 2 tokens".into() });
        }
        Ok(Self { tokenizer, max_tokens })
    }

    pub(crate) fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Word-piece ids of `text`, special tokens included, untruncated.
    pub(crate) fn ids_full(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let enc = self.tokenizer.encode(text, true).map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Word-piece ids of `text`, truncated to the window with the last special token kept.
    pub(crate) fn ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let mut ids = self.ids_full(text)?;
        if ids.len() > self.max_tokens {
            // Keep [CLS] + the first window-2 pieces + [SEP], like HF truncation of a single sequence.
            let sep = ids[ids.len() - 1];
            ids.truncate(self.max_tokens - 1);
            ids.push(sep);
        }
        Ok(ids)
    }

    pub(crate) fn count(&self, text: &str) -> usize {
        self.ids_full(text).map(|v| v.len()).unwrap_or(text.len() / 3 + 2)
    }
}
