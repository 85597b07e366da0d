//! The extractive answer: the selected sentences and list items in answer order, each followed by the
//! number of the page it quotes, and the citations (one per page) with the exact text each chunk
//! contributed, so the answer can be checked against later versions of the page.

use super::*;

/// An extractive answer with its citations.
pub(super) struct Composed {
    /// The answer text with `[n]` markers.
    pub answer: String,
    /// One citation per cited page, numbered in order of first use.
    pub citations: Vec<Citation>,
    /// What each cited chunk contributed (one quoted unit per line).
    pub cited: Vec<CitedSource>,
}

/// Composes the answer from `selection`, streaming it to `on_delta` piece by piece.
pub(super) fn extractive(
    selection: &Selection,
    hits: &[SearchHit],
    retrieved: &[RetrievedChunk],
    on_delta: &mut dyn FnMut(&str),
) -> Composed {
    let mut citations: Vec<Citation> = Vec::new();
    let mut cited: Vec<CitedSource> = Vec::new();
    let mut numbers: Vec<usize> = Vec::new(); // hit index per citation number
    let mut parts: Vec<String> = Vec::new();
    let mut after_list = false;
    for e in &selection.evidence {
        let n = match numbers.iter().position(|&h| hits[h].path == hits[e.hit].path) {
            Some(p) => p + 1,
            None => {
                numbers.push(e.hit);
                numbers.len()
            }
        };
        // A table row (`cell | header: cell`, as the loaders write it) reads as an item of a list too.
        let row = !e.list_item && !e.code && e.text.contains(" | ");
        let piece = if e.list_item || row {
            format!("\n- {} [{n}]", e.text)
        } else if e.code {
            format!("`{}` [{n}]", e.text)
        } else {
            format!("{} [{n}]", e.text)
        };
        // Prose after a list starts its own line, not the last item's.
        let sep = if parts.is_empty() || piece.starts_with('\n') {
            ""
        } else if after_list {
            "\n"
        } else {
            " "
        };
        after_list = e.list_item || row;
        let chunk = format!("{sep}{piece}");
        on_delta(&chunk);
        parts.push(chunk);
    }
    let mut answer = parts.concat().trim().to_string();
    if let Some(&first) = numbers.first() {
        let h = &hits[first];
        let more = format!("\n\n{}", copy::read_more(&h.title, h.url.as_deref().unwrap_or(&h.path)));
        on_delta(&more);
        answer.push_str(&more);
    }
    for (i, &h) in numbers.iter().enumerate() {
        let h = &hits[h];
        citations.push(Citation { number: i + 1, path: h.path.clone(), title: h.title.clone(), url: h.url.clone() });
    }
    // What each cited chunk contributed, so the answer can be checked against later versions.
    for e in &selection.evidence {
        let h = &hits[e.hit];
        let n = citations.iter().find(|c| c.path == h.path).map_or(0, |c| c.number);
        match cited.iter_mut().find(|c| c.chunk == Some(h.chunk_id)) {
            Some(c) => {
                // One quoted sentence per line: each is checked on its own against later versions.
                c.quote.push('\n');
                c.quote.push_str(&e.text);
            }
            None => cited.push(cited_source(n, &retrieved[e.hit].kb, h, &e.text)),
        }
    }
    Composed { answer, citations, cited }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extractive::Evidence;

    #[test]
    fn list_items_and_table_rows_take_a_line_each_and_prose_after_them_its_own() {
        let hit = SearchHit {
            chunk_id: throughline_core::ChunkId::from_raw(1),
            doc_id: throughline_core::DocId::from_raw(2),
            source_id: throughline_core::SourceId::from_raw(3),
            path: "docs/plans.md".into(),
            url: None,
            title: "Plans".into(),
            heading_path: Vec::new(),
            page_type: throughline_core::PageType::Docs,
            text: String::new(),
            snippet: String::new(),
            highlights: Vec::new(),
            score: 1.0,
            bm25: None,
            vector: None,
            family_variant: false,
        };
        let retrieved = RetrievedChunk {
            kb: "k".into(),
            path: hit.path.clone(),
            title: hit.title.clone(),
            heading_path: Vec::new(),
            page_type: hit.page_type,
            fused: 1.0,
            bm25: None,
            vector: None,
        };
        let unit = |text: &str, list_item: bool| Evidence {
            hit: 0,
            text: text.into(),
            list_item,
            code: false,
            score: 1.0,
            similarity: 1.0,
            overlap: 1.0,
        };
        let selection = Selection {
            evidence: vec![
                unit("Two plans are offered:", false),
                unit("Hobby", true),
                unit("Pro", true),
                unit("Both are billed monthly.", false),
                unit("Hobby | Price: $5 / month", false),
                unit("Pro | Price: $20 / month", false),
                unit("Usage is billed on top.", false),
            ],
            ..Selection::default()
        };
        let c = extractive(&selection, &[hit], &[retrieved], &mut |_| {});
        assert!(
            c.answer.starts_with(
                "Two plans are offered: [1]\n- Hobby [1]\n- Pro [1]\nBoth are billed monthly. [1]\n\
                 - Hobby | Price: $5 / month [1]\n- Pro | Price: $20 / month [1]\nUsage is billed on top. [1]"
            ),
            "{}",
            c.answer
        );
    }
}
