//! Answers a knowledge change made stale, found across the seam between knowledge and memory: the
//! memory side says which page versions (chunks) answers cited and which answers cite the ones that are
//! gone; the knowledge side says which chunks exist and what the page holds now. Neither store reads the
//! other's tables, so either may live in another database.

use std::collections::{HashMap, HashSet};

use crate::{CoreError, KnowledgeStore, MemoryStore, SourceChange, StaleAnswer};

/// Answers (of every agent) that cited a page of knowledge base `kb` in a version it no longer holds and
/// whose quoted text is gone from the current page, grouped by page path, oldest answer first. A page
/// re-chunked, or edited elsewhere, that still holds every quoted line does not make its answers stale.
pub fn stale_answers(
    knowledge: &dyn KnowledgeStore,
    memory: &dyn MemoryStore,
    kb: &str,
) -> Result<Vec<StaleAnswer>, CoreError> {
    let cited = memory.cited_chunks(kb)?;
    if cited.is_empty() {
        return Ok(Vec::new());
    }
    let info = knowledge.kb(kb)?;
    let live: HashSet<_> = match &info {
        Some(i) => knowledge.chunk_ids(i.id)?.into_iter().collect(),
        None => HashSet::new(),
    };
    let gone: Vec<_> = cited.into_iter().filter(|c| !live.contains(c)).collect();
    if gone.is_empty() {
        return Ok(Vec::new());
    }
    let mut pages: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    let mut out = Vec::new();
    for a in memory.answers_citing(kb, &gone)? {
        if !pages.contains_key(&a.citation.path) {
            let versions = match &info {
                Some(i) => knowledge.page_versions(i.id, &a.citation.path)?,
                None => Vec::new(),
            };
            let squashed = versions.into_iter().map(|(at, text)| (at, squash(&text))).collect();
            pages.insert(a.citation.path.clone(), squashed);
        }
        let versions = &pages[&a.citation.path];
        if still_quoted(versions, &a.citation.quote) {
            continue;
        }
        let (change, page_updated_at) = match versions.iter().map(|(at, _)| *at).max() {
            None => (SourceChange::Removed, None),
            Some(at) => (SourceChange::Changed, Some(at)),
        };
        out.push(StaleAnswer { cited: a, change, page_updated_at });
    }
    Ok(out)
}

/// Whitespace-collapsed, for comparing quotes with page text across re-chunking.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether one version of the page (whitespace-collapsed) still holds every quoted line.
fn still_quoted(pages: &[(i64, String)], quote: &str) -> bool {
    pages.iter().any(|(_, text)| quote.lines().map(squash).filter(|l| !l.is_empty()).all(|l| text.contains(&l)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_still_there_when_each_of_its_lines_is_in_one_version_of_the_page() {
        let page = |t: &str| vec![(1, squash(t))];
        let quote = "Refunds take 5 days.\nAnnual plans are refunded in full.";
        // Sentences quoted out of page order, the page edited between them and re-wrapped: still quoted.
        assert!(still_quoted(
            &page("Annual plans are refunded\n in full. We added a line. Refunds take 5 days."),
            quote
        ));
        // One sentence changed: stale.
        assert!(!still_quoted(&page("Refunds take 10 days. Annual plans are refunded in full."), quote));
        // Two versions of the path (two sources): one holding every line is enough; lines split across
        // versions are not.
        let two = vec![(1, squash("Refunds take 5 days.")), (2, squash("Annual plans are refunded in full."))];
        assert!(!still_quoted(&two, quote));
        assert!(!still_quoted(&[], quote), "a removed page holds nothing");
    }
}
