//! Loaders: turn one file's bytes into an [`ExtractedDoc`] (title, description, sections under their
//! heading paths). Dispatch is by extension; content is checked first (size, emptiness, binary data,
//! UTF-8) so that each bad file gets a precise message naming it.

pub mod faq;
pub mod html;
pub mod markdown;
pub mod text;

use std::path::Path;

use throughline_core::ExtractedDoc;

use crate::pdf::{self, PdfConfig};
use crate::{IngestError, Result};

/// The kind of loader a file goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Markdown or MDX.
    Markdown,
    /// HTML.
    Html,
    /// Plain text.
    Text,
    /// FAQ data as JSON.
    FaqJson,
    /// FAQ data as CSV.
    FaqCsv,
    /// PDF.
    Pdf,
}

/// The loader for a path, from its extension.
pub fn kind_of(path: &Path) -> Result<FileKind> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    Ok(match ext.as_str() {
        "md" | "mdx" | "markdown" => FileKind::Markdown,
        "html" | "htm" => FileKind::Html,
        "txt" | "text" => FileKind::Text,
        "json" => FileKind::FaqJson,
        "csv" => FileKind::FaqCsv,
        "pdf" => FileKind::Pdf,
        _ => {
            return Err(IngestError::UnsupportedType {
                path: path.to_path_buf(),
                extension: if ext.is_empty() { "(none)".into() } else { ext },
            })
        }
    })
}

/// Checks that `bytes` are UTF-8 text and not binary junk.
pub fn as_text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| IngestError::NotText {
        path: path.to_path_buf(),
        detail: format!("invalid byte at offset {}", e.valid_up_to()),
    })?;
    let sample: Vec<char> = text.chars().take(8192).collect();
    let control = sample.iter().filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}')).count();
    if sample.contains(&'\0') || control * 20 > sample.len() {
        return Err(IngestError::NotText { path: path.to_path_buf(), detail: "binary data".into() });
    }
    Ok(text.trim_start_matches('\u{feff}'))
}

/// Reads and extracts one file. `rel` is its document id (used for titles and messages).
pub fn load_file(path: &Path, rel: &str, max_bytes: u64, pdf: &PdfConfig) -> Result<(ExtractedDoc, u64)> {
    let kind = kind_of(path)?;
    let meta = std::fs::metadata(path)
        .map_err(|e| IngestError::Unreadable { path: path.to_path_buf(), reason: e.to_string() })?;
    if meta.len() > max_bytes {
        return Err(IngestError::TooLarge { path: path.to_path_buf(), size: meta.len(), limit: max_bytes });
    }
    let bytes =
        std::fs::read(path).map_err(|e| IngestError::Unreadable { path: path.to_path_buf(), reason: e.to_string() })?;
    let doc = load_bytes(path, rel, kind, &bytes, pdf)?;
    if doc.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    Ok((doc, bytes.len() as u64))
}

/// Extracts a document from bytes already read.
pub fn load_bytes(path: &Path, rel: &str, kind: FileKind, bytes: &[u8], pdf_cfg: &PdfConfig) -> Result<ExtractedDoc> {
    match kind {
        FileKind::Pdf => {
            if bytes.is_empty() {
                return Err(IngestError::Empty { path: path.to_path_buf() });
            }
            let text = pdf::extract_isolated(pdf_cfg, path)?;
            // PDF text has no reliable structure: the file name is the title, every line is content.
            let doc = text::parse_paragraphs(&text, rel, false);
            if doc.is_empty() {
                return Err(IngestError::Pdf {
                    path: path.to_path_buf(),
                    reason: "no extractable text (scanned images?)".into(),
                });
            }
            Ok(doc)
        }
        FileKind::Markdown => Ok(markdown::parse_markdown(as_text(path, bytes)?, rel)),
        FileKind::Html => Ok(html::parse_html(as_text(path, bytes)?, rel)),
        FileKind::Text => Ok(text::parse_text(as_text(path, bytes)?, rel)),
        FileKind::FaqJson => faq::parse_faq_json(as_text(path, bytes)?, rel)
            .map_err(|reason| IngestError::Malformed { path: path.to_path_buf(), reason }),
        FileKind::FaqCsv => faq::parse_faq_csv(as_text(path, bytes)?, rel)
            .map_err(|reason| IngestError::Malformed { path: path.to_path_buf(), reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_get_precise_messages() {
        let p = Path::new("bad.md");
        assert_eq!(as_text(p, b"  \n ").unwrap_err().to_string(), "bad.md: file is empty");
        assert_eq!(
            as_text(p, &[b'a', 0xff, 0xfe]).unwrap_err().to_string(),
            "bad.md: not valid UTF-8 text (invalid byte at offset 1)"
        );
        assert_eq!(
            as_text(p, b"ab\0cd\x01\x02\x03").unwrap_err().to_string(),
            "bad.md: not valid UTF-8 text (binary data)"
        );
        assert_eq!(
            kind_of(Path::new("x.exe")).unwrap_err().to_string(),
            "x.exe: unsupported file type `exe` (supported: md, mdx, markdown, html, htm, txt, json, csv, pdf)"
        );
    }
}
