//! Heading-aware chunking. Each section becomes one or more chunks that never cross a heading; a chunk's
//! embedding text (title › headings, then text) stays within the token budget measured with the model's
//! own tokenizer. Oversized paragraphs split at sentence ends, oversized sentences at word boundaries.
//! Sections too small to stand alone are merged forward into the next section, with their heading kept
//! inline. FAQ pairs are one chunk each.

use throughline_core::{content_hash, Chunk, ChunkConfig, ChunkId, DocId, Embedder, ExtractedDoc};

/// Version of the chunking rules; part of every document hash, so changing the rules (or the chunk
/// settings) re-chunks documents on the next ingest instead of keeping stale chunks.
const CHUNKER_VERSION: u32 = 4;

/// The hash a document is stored under: its extracted content plus the chunking rules and settings.
/// Cheap to compute, so unchanged documents are skipped before any chunking or embedding.
pub fn document_hash(doc: &ExtractedDoc, cfg: &ChunkConfig) -> String {
    let settings = format!("\0chunker-v{CHUNKER_VERSION}/{}/{}", cfg.max_tokens, cfg.min_tokens);
    content_hash(&doc.title, &(doc.full_text() + &settings))
}

/// Cuts a document into chunks. Returns the chunks and the document's hash ([`document_hash`]).
pub fn chunk_document(
    doc_id: DocId,
    doc: &ExtractedDoc,
    cfg: &ChunkConfig,
    tokens: &dyn Embedder,
) -> (Vec<Chunk>, String) {
    let hash = document_hash(doc, cfg);
    let max = cfg.max_tokens.min(tokens.max_tokens()).max(32);
    let mut pieces: Vec<(Vec<String>, String)> = Vec::new();
    let mut carry: Option<String> = None;
    for (i, section) in doc.sections.iter().enumerate() {
        let mut text = section.text.trim().to_string();
        if text.is_empty() {
            continue;
        }
        if let Some(c) = carry.take() {
            text = format!("{c}\n\n{text}");
        }
        let prefix = Chunk::embedding_text(&doc.title, &section.heading_path, "");
        let budget = max.saturating_sub(tokens.count_tokens(&prefix)).max(24);
        if doc.one_chunk_per_section {
            // FAQ pairs stay whole; the embedder truncates the rare answer longer than the window.
            pieces.push((section.heading_path.clone(), text));
            continue;
        }
        let small = tokens.count_tokens(&text) < cfg.min_tokens;
        let next_is_related = doc.sections.get(i + 1).is_some_and(|n| {
            n.heading_path.len() > section.heading_path.len() && n.heading_path.starts_with(&section.heading_path)
        });
        if small && next_is_related {
            // A lead-in paragraph under a heading whose content lives in sub-sections: keep it with them.
            let heading = section.heading_path.last().cloned().unwrap_or_default();
            carry = Some(if heading.is_empty() { text } else { inline_heading(&heading, &text) });
            continue;
        }
        for part in split_to_budget(&text, budget, tokens) {
            pieces.push((section.heading_path.clone(), part));
        }
    }
    if let Some(c) = carry {
        pieces.push((Vec::new(), c));
    }
    if !doc.one_chunk_per_section {
        pieces = merge_small(pieces, &doc.title, max, cfg.min_tokens, tokens);
    }
    let chunks = pieces
        .into_iter()
        .enumerate()
        .map(|(i, (heading_path, text))| {
            let token_count = tokens.count_tokens(&Chunk::embedding_text(&doc.title, &heading_path, &text)) as u32;
            Chunk {
                id: ChunkId::derive(doc_id, &hash, i as u32),
                doc_id,
                ordinal: i as u32,
                heading_path,
                text,
                token_count,
            }
        })
        .collect();
    (chunks, hash)
}

/// A heading kept inline before its text: "Heading: text", or "Heading? text" when the heading is a
/// sentence of its own (a question stays a question, so an answerer can recognise it).
fn inline_heading(heading: &str, text: &str) -> String {
    if heading.ends_with(['?', '.', '!']) {
        format!("{heading} {text}")
    } else {
        format!("{heading}: {text}")
    }
}

/// Merges pieces under `min` word pieces (a heading with one line) into their previous neighbour while
/// the result fits `max`: the merged chunk keeps the headings both share, and the headings it no longer
/// carries move inline ("Heading: text"), so a tiny section is found with its context instead of
/// becoming a chunk of its own.
fn merge_small(
    pieces: Vec<(Vec<String>, String)>,
    title: &str,
    max: usize,
    min: usize,
    tokens: &dyn Embedder,
) -> Vec<(Vec<String>, String)> {
    let inline = |path: &[String], keep: usize, text: &str| -> String {
        if path.len() > keep {
            inline_heading(&path[keep..].join(" › "), text)
        } else {
            text.to_string()
        }
    };
    let mut out: Vec<(Vec<String>, String, usize)> = Vec::with_capacity(pieces.len());
    for (path, text) in pieces {
        let size = tokens.count_tokens(&text);
        if let Some((prev_path, prev_text, prev_size)) = out.last_mut() {
            if size < min || *prev_size < min {
                let keep = prev_path.iter().zip(&path).take_while(|(a, b)| a == b).count();
                let merged = format!("{}\n\n{}", inline(prev_path, keep, prev_text), inline(&path, keep, &text));
                let merged_size = tokens.count_tokens(&Chunk::embedding_text(title, &path[..keep], &merged));
                if merged_size <= max {
                    prev_path.truncate(keep);
                    *prev_text = merged;
                    *prev_size = merged_size;
                    continue;
                }
            }
        }
        out.push((path, text, size));
    }
    out.into_iter().map(|(p, t, _)| (p, t)).collect()
}

/// Packs paragraphs (then sentences, then words) into parts of at most `budget` word pieces.
fn split_to_budget(text: &str, budget: usize, tokens: &dyn Embedder) -> Vec<String> {
    // Word pieces of a fragment without the two special tokens the counter includes.
    let count = |s: &str| tokens.count_tokens(s).saturating_sub(2);
    if count(text) <= budget {
        return vec![text.to_string()];
    }
    let mut units: Vec<String> = Vec::new();
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if count(para) <= budget {
            units.push(para.to_string());
            continue;
        }
        for sentence in split_sentences(para) {
            if count(&sentence) <= budget {
                units.push(sentence);
            } else {
                units.extend(split_words(&sentence, budget, &count));
            }
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for unit in units {
        let candidate = if current.is_empty() { unit.clone() } else { format!("{current}\n\n{unit}") };
        if count(&candidate) <= budget {
            current = candidate;
        } else {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            current = unit;
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Splits at sentence ends (". ", "? ", "! ") and line breaks (list items, table rows).
fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        let end_here = bytes[i] == b'\n'
            || (matches!(bytes[i], b'.' | b'?' | b'!') && bytes.get(i + 1).is_some_and(|b| *b == b' '));
        if end_here {
            let s = text[start..=i].trim();
            if !s.is_empty() {
                out.push(s.to_string());
            }
            start = i + 1;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

fn split_words(text: &str, budget: usize, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
        if count(&candidate) <= budget || current.is_empty() {
            current = candidate;
        } else {
            out.push(std::mem::replace(&mut current, word.to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use throughline_core::{EmbedderError, KbId, Section};

    /// Counts one word piece per whitespace-separated word plus two special tokens: enough to test
    /// packing without the model (the real tokenizer is exercised by the integration tests).
    struct WordCounter;
    impl Embedder for WordCounter {
        fn dim(&self) -> usize {
            1
        }
        fn model_id(&self) -> String {
            "words".into()
        }
        fn max_tokens(&self) -> usize {
            256
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count() + 2
        }
        fn embed(&self, _: &[&str]) -> Result<Vec<Vec<f32>>, EmbedderError> {
            Err(EmbedderError("not used".into()))
        }
    }

    fn doc(sections: Vec<(Vec<&str>, String)>) -> ExtractedDoc {
        ExtractedDoc {
            title: "Guide".into(),
            description: None,
            sections: sections
                .into_iter()
                .map(|(h, t)| Section { heading_path: h.into_iter().map(String::from).collect(), text: t })
                .collect(),
            one_chunk_per_section: false,
            page_type_hint: None,
            links: vec![],
        }
    }

    #[test]
    fn chunks_respect_budget_headings_and_are_stable() {
        let long: String = (0..120).map(|i| format!("Sentence number {i} is here.")).collect::<Vec<_>>().join(" ");
        let d = doc(vec![
            (vec!["Setup"], long.clone()),
            (vec!["Setup", "Step two"], "Short but sufficient text about the second step of the setup process that goes on for a while longer than forty words so it stands alone as its own chunk in the output of the chunker for sure yes indeed it does.".into()),
        ]);
        let cfg = ChunkConfig { max_tokens: 100, min_tokens: 10 };
        let id = DocId::derive(KbId::from_name("k"), "guide.md");
        let (chunks, hash) = chunk_document(id, &d, &cfg, &WordCounter);
        assert!(chunks.len() >= 6, "{} chunks", chunks.len());
        for c in &chunks {
            assert!(c.token_count as usize <= 100, "chunk of {} tokens", c.token_count);
        }
        assert_eq!(chunks.last().unwrap().heading_path, vec!["Setup".to_string(), "Step two".to_string()]);
        assert!(chunks.iter().take(chunks.len() - 1).all(|c| c.heading_path == vec!["Setup".to_string()]));
        // No text is lost or duplicated.
        let joined: String = chunks.iter().map(|c| c.text.clone()).collect::<Vec<_>>().join(" ");
        assert_eq!(joined.matches("Sentence number").count(), 120);
        let (again, hash2) = chunk_document(id, &d, &cfg, &WordCounter);
        assert_eq!(hash, hash2);
        assert_eq!(again.iter().map(|c| c.id).collect::<Vec<_>>(), chunks.iter().map(|c| c.id).collect::<Vec<_>>());
    }

    #[test]
    fn small_lead_in_merges_forward_and_faq_pairs_stay_whole() {
        let d = doc(vec![
            (vec!["Billing"], "Everything about invoices.".into()),
            (vec!["Billing", "Invoices"], "Download invoices from Settings > Billing.".into()),
        ]);
        let (chunks, _) = chunk_document(DocId::from_raw(1), &d, &ChunkConfig::default(), &WordCounter);
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].text.starts_with("Billing: Everything about invoices."));
        assert_eq!(chunks[0].heading_path, vec!["Billing".to_string(), "Invoices".to_string()]);
        let mut faq = doc(vec![(vec!["Q1?"], "A1.".into()), (vec!["Q2?"], "A2.".into())]);
        faq.one_chunk_per_section = true;
        let (chunks, _) = chunk_document(DocId::from_raw(1), &faq, &ChunkConfig::default(), &WordCounter);
        assert_eq!(chunks.len(), 2);
    }
}
