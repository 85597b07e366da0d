//! What loaders produce ([`ExtractedDoc`], [`Section`]) and what the chunker produces ([`Chunk`]).

use crate::{ChunkId, DocId, PageType};

/// A document after extraction: clean text split by headings.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedDoc {
    /// The document's title (front matter, `<title>`, first heading, or file name).
    pub title: String,
    /// A one-line description when the source has one (front matter, meta description).
    pub description: Option<String>,
    /// Sections in document order, each under its heading path.
    pub sections: Vec<Section>,
    /// Whether each section must become exactly one chunk (FAQ pairs) instead of being packed.
    pub one_chunk_per_section: bool,
    /// A page type the loader knows for certain (FAQ data), overriding classification.
    pub page_type_hint: Option<PageType>,
    /// Links found in the document (absolute or relative), for crawling and call-to-action discovery.
    pub links: Vec<String>,
}

impl ExtractedDoc {
    /// All text of the document, sections joined, for hashing and classification.
    pub fn full_text(&self) -> String {
        let mut out = String::new();
        for s in &self.sections {
            if !s.heading_path.is_empty() {
                out.push_str(&s.heading_path.join(" > "));
                out.push('\n');
            }
            out.push_str(&s.text);
            out.push_str("\n\n");
        }
        out
    }

    /// Whether the document holds no text at all.
    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|s| s.text.trim().is_empty())
    }
}

/// A run of text under one heading path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Headings from the top of the document down to this section (without the title).
    pub heading_path: Vec<String>,
    /// The section's text: paragraphs separated by blank lines; list items as `- item`; table rows as
    /// `cell | cell`; code kept verbatim.
    pub text: String,
}

/// A chunk ready to embed and index.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Stable id derived from the document, its content hash and the position.
    pub id: ChunkId,
    /// The document it belongs to.
    pub doc_id: DocId,
    /// Position within the document, from 0.
    pub ordinal: u32,
    /// Heading path of the section it comes from.
    pub heading_path: Vec<String>,
    /// The chunk's own text.
    pub text: String,
    /// Word pieces of [`Chunk::embedding_text`] as counted by the model's tokenizer.
    pub token_count: u32,
}

impl Chunk {
    /// The text given to the embedder: title and heading path first, so a chunk knows its context.
    pub fn embedding_text(title: &str, heading_path: &[String], text: &str) -> String {
        let mut out = String::with_capacity(title.len() + text.len() + 16);
        out.push_str(title);
        for h in heading_path {
            out.push_str(" > ");
            out.push_str(h);
        }
        out.push('\n');
        out.push_str(text);
        out
    }
}

/// The content hash of a document's extracted text (hex blake3), used to skip unchanged documents.
pub fn content_hash(title: &str, text: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(title.as_bytes());
    h.update(&[0]);
    h.update(text.as_bytes());
    h.finalize().to_hex()[..32].to_string()
}
