//! The crawl report: reading it back ([`crawl_report`]) and grouping reasons for summaries.

use throughline_core::{CrawlRecord, CrawlStatus, KbId, KnowledgeStore, SourceId};

use crate::{KnowledgeBase, Result};

/// The crawl report of a knowledge base: every URL its site crawls discovered, with outcome and reason,
/// ordered by source then URL. `source` and `status` narrow it.
pub fn crawl_report(
    kb: &KnowledgeBase,
    source: Option<SourceId>,
    status: Option<CrawlStatus>,
) -> Result<Vec<CrawlRecord>> {
    crawl_report_in(kb.store().as_ref(), kb.info().id, source, status)
}

/// [`crawl_report`] straight from a store, without opening the knowledge base's indexes and model.
pub fn crawl_report_in(
    store: &dyn KnowledgeStore,
    kb: KbId,
    source: Option<SourceId>,
    status: Option<CrawlStatus>,
) -> Result<Vec<CrawlRecord>> {
    let mut records = store.crawl_records(kb, source)?;
    if let Some(s) = status {
        records.retain(|r| r.status == s);
    }
    Ok(records)
}

/// The reason without the URL or address it names (`duplicate of https://…` → `duplicate of`), so
/// reasons can be counted by kind.
pub fn reason_kind(reason: &str) -> String {
    let cut = [" http://", " https://", ": ", " ("].iter().filter_map(|m| reason.find(m)).min().unwrap_or(reason.len());
    let head = reason[..cut].trim();
    // Keep the status number of HTTP failures, the address-free part of refusals.
    if head.starts_with("refused address") {
        return "refused address".into();
    }
    head.to_string()
}

/// Counts records per (status, reason kind), most frequent first.
pub fn count_reasons(records: &[CrawlRecord]) -> Vec<(CrawlStatus, String, usize)> {
    let mut counts: std::collections::BTreeMap<(CrawlStatus, String), usize> = Default::default();
    for r in records.iter().filter(|r| matches!(r.status, CrawlStatus::Skipped | CrawlStatus::Failed)) {
        *counts.entry((r.status, reason_kind(&r.reason))).or_default() += 1;
    }
    let mut out: Vec<_> = counts.into_iter().map(|((s, k), n)| (s, k, n)).collect();
    out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)).then_with(|| a.1.cmp(&b.1)));
    out
}

#[cfg(test)]
mod tests {
    use super::reason_kind;

    #[test]
    fn reasons_group_by_kind() {
        assert_eq!(reason_kind("duplicate of http://127.0.0.1:9/help/a"), "duplicate of");
        assert_eq!(reason_kind("canonical to https://e.com/x"), "canonical to");
        assert_eq!(reason_kind("out of scope: other host e.com"), "out of scope");
        assert_eq!(reason_kind("trap: URL longer than 512 characters"), "trap");
        assert_eq!(reason_kind("HTTP 404"), "HTTP 404");
        assert_eq!(reason_kind("timeout"), "timeout");
        assert_eq!(
            reason_kind("refused address 10.0.0.1 (private network; allow with --allow-private-network)"),
            "refused address"
        );
        assert_eq!(reason_kind("refused address 127.0.0.1 of localhost (loopback)"), "refused address");
        assert_eq!(reason_kind("robots.txt disallows"), "robots.txt disallows");
        assert_eq!(reason_kind("wrong type: image/png"), "wrong type");
    }
}
