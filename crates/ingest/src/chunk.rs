//! Heading-aware chunking. Each section becomes one or more chunks that never cross a heading; a chunk's
//! embedding text (title › headings, then text) stays within the token budget measured with the model's
//! own tokenizer. Oversized paragraphs split at sentence ends, oversized sentences at word boundaries.
//! Sections too small to stand alone are merged forward into the next section, with their heading kept
//! inline. FAQ pairs are one chunk each.
//!
//! Every document is chunked within a [`DocBudget`], so hostile input costs a bounded amount of work:
//! text past `max_chars` is not chunked, chunks past `max_chunks` are not kept (so at most
//! `max_chunks × max_tokens` word pieces are embedded per document), and a "word" longer than
//! [`MAX_WORD_CHARS`] is cut into pieces of that length (the model reads it as one unknown piece anyway).
//! What a budget cut is reported as the document's `truncated: …` reason. The work is linear in the
//! input: every piece the tokenizer counts is bounded by the token budget, except the whole-section
//! counts, which the character budget bounds.

use std::borrow::Cow;

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

/// A "word" (no whitespace) longer than this is cut into pieces of this many characters. BERT's
/// tokenizer reads any word over 100 characters as one unknown piece, so nothing readable is lost; real
/// pages have no word this long (the longest URLs stay whole).
pub const MAX_WORD_CHARS: usize = 1000;

/// Bytes of text a chunk may hold per token of the budget. Ordinary text averages 4 to 6 bytes a word
/// piece, so this never binds on it; it bounds chunks of text the tokenizer reads as few pieces (long
/// unknown words), and lets the splitter skip tokenizing any text over the bound.
const MAX_BYTES_PER_TOKEN: usize = 40;

/// What one document may cost the chunker and the embedder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocBudget {
    /// Characters of section text chunked; the rest is dropped (reported). Default 1,000,000.
    pub max_chars: usize,
    /// Chunks kept; the rest are dropped (reported). Default 400 (the largest page of the real doc sets
    /// we measure makes under 200).
    pub max_chunks: usize,
}

impl Default for DocBudget {
    fn default() -> Self {
        Self { max_chars: 1_000_000, max_chunks: 400 }
    }
}

/// A document cut into chunks within its budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunked {
    /// The chunks kept.
    pub chunks: Vec<Chunk>,
    /// The document's hash ([`document_hash`]).
    pub hash: String,
    /// Why some of the document was not chunked (`truncated: …`), when a budget cut it.
    pub truncated: Option<String>,
}

/// Cuts a document into chunks within the default [`DocBudget`]. Returns the chunks and the document's
/// hash ([`document_hash`]).
pub fn chunk_document(
    doc_id: DocId,
    doc: &ExtractedDoc,
    cfg: &ChunkConfig,
    tokens: &dyn Embedder,
) -> (Vec<Chunk>, String) {
    let c = chunk_document_within(doc_id, doc, cfg, DocBudget::default(), tokens);
    (c.chunks, c.hash)
}

/// Cuts a document into chunks within `budget`, saying what the budget cut.
pub fn chunk_document_within(
    doc_id: DocId,
    doc: &ExtractedDoc,
    cfg: &ChunkConfig,
    budget: DocBudget,
    tokens: &dyn Embedder,
) -> Chunked {
    let hash = document_hash(doc, cfg);
    // Headings and the title go into every chunk's embedding text: a hostile one is clipped once here.
    let long = |h: &String| h.len() > MAX_HEADING_CHARS;
    let clipped;
    let doc = if long(&doc.title) || doc.sections.iter().any(|s| s.heading_path.iter().any(long)) {
        let mut d = doc.clone();
        clip(&mut d.title);
        d.sections.iter_mut().flat_map(|s| s.heading_path.iter_mut()).for_each(clip);
        clipped = d;
        &clipped
    } else {
        doc
    };
    let max = cfg.max_tokens.min(tokens.max_tokens()).max(32);
    let mut pieces: Vec<(Vec<String>, String)> = Vec::new();
    let mut carry: Option<String> = None;
    let total_chars: usize = doc.sections.iter().map(|s| s.text.chars().count()).sum();
    let mut chars_left = budget.max_chars;
    let mut notes: Vec<String> = Vec::new();
    if total_chars > budget.max_chars {
        notes.push(format!(
            "text over {} characters (chunked the first {} of {})",
            thousands(budget.max_chars),
            thousands(budget.max_chars),
            thousands(total_chars)
        ));
    }
    // Past 64 pieces per chunk kept (more than merging can fold into one chunk), the rest of the
    // document cannot be kept: it is not tokenized either.
    let max_pieces = budget.max_chunks.saturating_mul(64);
    for (i, section) in doc.sections.iter().enumerate() {
        if chars_left == 0 {
            break;
        }
        if pieces.len() >= max_pieces {
            notes.push(format!(
                "over {} sections (chunked the first {} of {})",
                thousands(max_pieces),
                thousands(i),
                thousands(doc.sections.len())
            ));
            break;
        }
        let mut text = section.text.trim().to_string();
        if text.is_empty() {
            continue;
        }
        let len = text.chars().count();
        if len > chars_left {
            let cut = text.char_indices().nth(chars_left).map(|(b, _)| b).unwrap_or(text.len());
            text.truncate(cut);
        }
        chars_left = chars_left.saturating_sub(len);
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
        if let Cow::Owned(cut) = cut_long_words(&text) {
            text = cut;
        }
        let small = text.len() < cfg.min_tokens * MAX_BYTES_PER_TOKEN && tokens.count_tokens(&text) < cfg.min_tokens;
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
    if pieces.len() > budget.max_chunks {
        notes.push(format!(
            "over {} chunks (kept the first {} of {})",
            budget.max_chunks,
            budget.max_chunks,
            thousands(pieces.len())
        ));
        pieces.truncate(budget.max_chunks);
    }
    let truncated = (!notes.is_empty()).then(|| format!("truncated: {}", notes.join("; ")));
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
    Chunked { chunks, hash, truncated }
}

/// Longest heading (or title) kept whole, in bytes; longer ones are cut at a character boundary with
/// "…". Real headings are far shorter; a hostile one would otherwise be tokenized with every section.
pub const MAX_HEADING_CHARS: usize = 500;

fn clip(h: &mut String) {
    if h.len() > MAX_HEADING_CHARS {
        let mut cut = MAX_HEADING_CHARS;
        while !h.is_char_boundary(cut) {
            cut -= 1;
        }
        h.truncate(cut);
        h.push('…');
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
                // The byte bound first (it never binds on ordinary text): merging stays linear.
                let merged_size = if merged.len() > max * MAX_BYTES_PER_TOKEN {
                    usize::MAX
                } else {
                    tokens.count_tokens(&Chunk::embedding_text(title, &path[..keep], &merged))
                };
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
    // Within the budget: the byte bound first, so text over it is never tokenized whole.
    let max_bytes = budget * MAX_BYTES_PER_TOKEN;
    let fits = |s: &str| s.len() <= max_bytes && count(s) <= budget;
    if fits(text) {
        return vec![text.to_string()];
    }
    let mut units: Vec<String> = Vec::new();
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if fits(para) {
            units.push(para.to_string());
            continue;
        }
        for sentence in split_sentences(para) {
            if fits(&sentence) {
                units.push(sentence);
            } else {
                units.extend(split_words(&sentence, budget, max_bytes, &count));
            }
        }
    }
    // Packing counts each unit once: word pieces add up across whitespace (the tokenizer splits there
    // first), so a candidate's count is the sum of its units' — linear, where re-counting every
    // candidate cost the input times the budget.
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_tokens = 0;
    for unit in units {
        let n = count(&unit);
        if !current.is_empty() && current_tokens + n <= budget && current.len() + 2 + unit.len() <= max_bytes {
            current.push_str("\n\n");
            current.push_str(&unit);
            current_tokens += n;
        } else {
            if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            current = unit;
            current_tokens = n;
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

/// Packs words into parts within `budget` word pieces and `max_bytes`, counting each word once.
fn split_words(text: &str, budget: usize, max_bytes: usize, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut current_tokens = 0;
    for word in text.split_whitespace() {
        let n = count(word);
        if current.is_empty() {
            current.push_str(word);
            current_tokens = n;
        } else if current_tokens + n <= budget && current.len() + 1 + word.len() <= max_bytes {
            current.push(' ');
            current.push_str(word);
            current_tokens += n;
        } else {
            out.push(std::mem::replace(&mut current, word.to_string()));
            current_tokens = n;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `text` with a space inserted every [`MAX_WORD_CHARS`] characters of a longer word; everything else
/// as it was (borrowed when there is no such word).
fn cut_long_words(text: &str) -> Cow<'_, str> {
    let mut run = 0usize;
    let mut out: Option<String> = None;
    for (b, c) in text.char_indices() {
        if c.is_whitespace() {
            run = 0;
        } else {
            if run == MAX_WORD_CHARS {
                out.get_or_insert_with(|| text[..b].to_string()).push(' ');
                run = 0;
            }
            run += 1;
        }
        if let Some(o) = out.as_mut() {
            o.push(c);
        }
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(text),
    }
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

    #[test]
    fn twenty_thousand_tiny_headings_merge_into_a_bounded_number_of_chunks() {
        let sections: Vec<(Vec<String>, String)> =
            (0..20_000).map(|i| (vec![format!("Heading {i}")], format!("Line number {i} here."))).collect();
        let d = ExtractedDoc {
            sections: sections.into_iter().map(|(h, t)| Section { heading_path: h, text: t }).collect(),
            ..doc(vec![])
        };
        let c =
            chunk_document_within(DocId::from_raw(1), &d, &ChunkConfig::default(), DocBudget::default(), &WordCounter);
        assert_eq!(c.chunks.len(), 400, "merged, then cut at the budget");
        // Tiny sections were merged (dozens per chunk), their headings kept inline.
        assert!(c.chunks[0].text.starts_with("Heading 0: Line number 0 here.\n\nHeading 1: Line number 1 here."));
        assert!(c.chunks.iter().all(|ch| ch.token_count <= 200));
        let reason = c.truncated.expect("a truncated reason");
        assert!(reason.starts_with("truncated: over 400 chunks (kept the first 400 of "), "{reason}");
        // Under the budget, nothing is cut and nothing is said.
        let small = ExtractedDoc { sections: d.sections[..500].to_vec(), ..d.clone() };
        let c = chunk_document_within(
            DocId::from_raw(1),
            &small,
            &ChunkConfig::default(),
            DocBudget::default(),
            &WordCounter,
        );
        assert!(c.truncated.is_none() && c.chunks.len() < 30, "{} chunks", c.chunks.len());
    }

    #[test]
    fn one_giant_word_is_cut_and_bounded() {
        let word = "abcdefghij".repeat(300_000); // 3 MB, no whitespace
        let d = doc(vec![(vec!["Blob"], word)]);
        let c =
            chunk_document_within(DocId::from_raw(1), &d, &ChunkConfig::default(), DocBudget::default(), &WordCounter);
        let reason = c.truncated.expect("a truncated reason");
        assert!(
            reason.contains("text over 1,000,000 characters (chunked the first 1,000,000 of 3,000,000)"),
            "{reason}"
        );
        assert!(!c.chunks.is_empty() && c.chunks.len() <= 400, "{} chunks", c.chunks.len());
        for ch in &c.chunks {
            assert!(ch.text.len() <= 200 * MAX_BYTES_PER_TOKEN, "a chunk of {} bytes", ch.text.len());
        }
        let kept: usize = c.chunks.iter().map(|ch| ch.text.split_whitespace().map(str::len).sum::<usize>()).sum();
        assert_eq!(kept, 1_000_000, "no character lost or doubled within the budget");
        // Multi-byte characters are cut on character boundaries.
        let long = format!("a\n\n{}  b", "é".repeat(2500));
        let cut = cut_long_words(&long);
        assert_eq!(cut.split_whitespace().map(|p| p.chars().count()).collect::<Vec<_>>(), [1, 1000, 1000, 500, 1]);
        assert!(cut.starts_with("a\n\n") && cut.ends_with("  b"), "other whitespace kept");
        assert!(matches!(cut_long_words("ordinary text stays borrowed"), Cow::Borrowed(_)));
    }
}
