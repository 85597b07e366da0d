//! Page-type classification from the path or URL first (the strongest signal on real sites), then from
//! the title and content (price tables, question lists, dated release entries).

use std::sync::LazyLock;

use regex::Regex;
use throughline_core::{ExtractedDoc, PageType};

static PRICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[$€£]\s?\d[\d,.]*\s*(?:/|per\s)\s*(?:mo|month|year|yr|user|seat)").expect("valid regex")
});
static DATED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b20\d\d-\d\d-\d\d\b").expect("valid regex"));

const RULES: [(PageType, &[&str]); 7] = [
    (PageType::Pricing, &["pricing", "prices", "plans", "price", "plan-comparison"]),
    (PageType::Faq, &["faq", "faqs", "frequently-asked-questions"]),
    (PageType::Changelog, &["changelog", "release-notes", "releases", "whats-new", "what-s-new", "updates"]),
    (PageType::Blog, &["blog", "news", "posts", "announcements"]),
    (
        PageType::Legal,
        &[
            "legal",
            "terms",
            "privacy",
            "tos",
            "gdpr",
            "dpa",
            "cookie-policy",
            "security",
            "compliance",
            "sla",
            "subprocessors",
            "acceptable-use",
        ],
    ),
    (
        PageType::Help,
        &["help", "support", "kb", "knowledge-base", "troubleshooting", "troubleshoot", "help-center", "helpcenter"],
    ),
    (
        PageType::Docs,
        &[
            "docs",
            "doc",
            "guides",
            "guide",
            "reference",
            "api",
            "tutorials",
            "getting-started",
            "quickstart",
            "manual",
            "cli",
            "integrations",
        ],
    ),
];

/// Lowercase path segments without extensions: `content/Docs/Pricing.md` → `[content, docs, pricing]`.
fn segments(path: &str) -> Vec<String> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = path.split_once("://").map(|(_, rest)| rest.split_once('/').map(|x| x.1).unwrap_or("")).unwrap_or(path);
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.rsplit_once('.').map(|(a, _)| a).unwrap_or(s).to_ascii_lowercase())
        .collect()
}

/// Classifies a document by its path (or URL) and content.
pub fn classify(path: &str, doc: &ExtractedDoc) -> PageType {
    if let Some(t) = doc.page_type_hint {
        return t;
    }
    let segs = segments(path);
    // The file name is the most specific signal, then folders from the deepest up.
    for seg in segs.iter().rev() {
        for (t, words) in RULES {
            if words.contains(&seg.as_str()) || words.iter().any(|w| seg.starts_with(&format!("{w}-")) && w.len() > 3) {
                return t;
            }
        }
    }
    let title = doc.title.to_ascii_lowercase();
    let text = doc.full_text();
    if title.contains("pricing") || title.contains("plans") || PRICE.find_iter(&text).count() >= 3 {
        return PageType::Pricing;
    }
    if title.contains("faq") || title.contains("frequently asked") {
        return PageType::Faq;
    }
    if title.contains("changelog") || title.contains("release notes") || DATED.find_iter(&text).count() >= 4 {
        return PageType::Changelog;
    }
    if title.contains("terms of service") || title.contains("privacy policy") {
        return PageType::Legal;
    }
    if title.starts_with("how to") || title.contains("troubleshoot") || title.starts_with("why ") {
        return PageType::Help;
    }
    if text.contains("```") || doc.sections.len() >= 3 {
        return PageType::Docs;
    }
    PageType::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use throughline_core::Section;

    fn doc(title: &str, text: &str) -> ExtractedDoc {
        ExtractedDoc {
            title: title.into(),
            description: None,
            sections: vec![Section { heading_path: vec![], text: text.into() }],
            one_chunk_per_section: false,
            page_type_hint: None,
            links: vec![],
        }
    }

    #[test]
    fn paths_win_then_content() {
        let d = doc("Something", "text");
        assert_eq!(classify("pricing.html", &d), PageType::Pricing);
        assert_eq!(classify("help/billing/update-card.md", &d), PageType::Help);
        assert_eq!(classify("docs/api-reference.md", &d), PageType::Docs);
        assert_eq!(classify("https://example.com/blog/alert-fatigue", &d), PageType::Blog);
        assert_eq!(classify("legal/privacy.md", &d), PageType::Legal);
        assert_eq!(classify("changelog.md", &d), PageType::Changelog);
        assert_eq!(classify("content/docs/pricing/plans.md", &d), PageType::Pricing);
        assert_eq!(classify("/faq", &d), PageType::Faq);
        let priced = doc("Our offer", "Basic $10/month. Pro $20 per month. Max $99/mo.");
        assert_eq!(classify("offer.html", &priced), PageType::Pricing);
        assert_eq!(classify("notes.txt", &doc("Notes", "hello")), PageType::Other);
    }
}
