//! HTML: main content only. The root is `<main>`, `[role=main]` or `<article>` when present, else
//! `<body>`; navigation, headers, footers, sidebars, scripts, forms and cookie banners are dropped.
//! Headings start sections; lists, tables (`cell | cell`), and `<pre>` code are kept.

use std::sync::LazyLock;

use scraper::{ElementRef, Html, Node, Selector};
use throughline_core::{ExtractedDoc, Section};

use super::text::title_from_path;

const DROP_TAGS: [&str; 14] = [
    "nav", "header", "footer", "aside", "script", "style", "noscript", "template", "svg", "form", "iframe", "button",
    "dialog", "select",
];
const DROP_HINTS: [&str; 12] = [
    "cookie",
    "consent",
    "gdpr",
    "sidebar",
    "breadcrumb",
    "skip-link",
    "site-nav",
    "navbar",
    "menu",
    "toc",
    "newsletter",
    "banner-cookie",
];
const BLOCK_TAGS: [&str; 17] = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "details",
    "summary",
    "ul",
    "ol",
    "body",
    "address",
];

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("valid selector")
}

static TITLE: LazyLock<Selector> = LazyLock::new(|| sel("title"));
static H1: LazyLock<Selector> = LazyLock::new(|| sel("h1"));
static DESCRIPTION: LazyLock<Selector> = LazyLock::new(|| sel(r#"meta[name="description"]"#));
static MAIN: LazyLock<Selector> = LazyLock::new(|| sel(r#"main, [role="main"]"#));
static ARTICLE: LazyLock<Selector> = LazyLock::new(|| sel("article"));
static BODY: LazyLock<Selector> = LazyLock::new(|| sel("body"));
static CANONICAL: LazyLock<Selector> = LazyLock::new(|| sel(r#"link[rel="canonical"]"#));
static ANCHOR: LazyLock<Selector> = LazyLock::new(|| sel("a[href]"));

/// Whether an element is site chrome rather than content.
fn is_chrome(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if DROP_TAGS.contains(&v.name()) {
        return true;
    }
    if v.attr("hidden").is_some() || v.attr("aria-hidden") == Some("true") {
        return true;
    }
    if matches!(v.attr("role"), Some("navigation" | "banner" | "contentinfo" | "complementary" | "dialog")) {
        return true;
    }
    let hints = format!("{} {}", v.attr("class").unwrap_or(""), v.attr("id").unwrap_or("")).to_ascii_lowercase();
    hints.split(|c: char| c.is_whitespace()).any(|token| {
        DROP_HINTS
            .iter()
            .any(|h| token == *h || token.starts_with(&format!("{h}-")) || token.ends_with(&format!("-{h}")))
    })
}

#[derive(Default)]
struct Walker {
    headings: Vec<(u8, String)>,
    sections: Vec<Section>,
    text: String,
    links: Vec<String>,
    skip_first_h1: Option<String>,
}

impl Walker {
    fn newline(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn flush(&mut self) {
        let text = tidy(&self.text);
        if !text.is_empty() {
            self.sections.push(Section { heading_path: self.headings.iter().map(|h| h.1.clone()).collect(), text });
        }
        self.text.clear();
    }

    fn push_inline(&mut self, s: &str) {
        let collapsed: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            if !s.is_empty() && !self.text.ends_with([' ', '\n']) && !self.text.is_empty() {
                self.text.push(' ');
            }
            return;
        }
        if s.starts_with(char::is_whitespace) && !self.text.ends_with([' ', '\n']) && !self.text.is_empty() {
            self.text.push(' ');
        }
        self.text.push_str(&collapsed);
        if s.ends_with(char::is_whitespace) {
            self.text.push(' ');
        }
    }

    fn walk(&mut self, el: ElementRef<'_>, list_depth: usize) {
        self.walk_at(el, list_depth, 0)
    }

    fn walk_at(&mut self, el: ElementRef<'_>, list_depth: usize, nesting: usize) {
        if is_chrome(&el) {
            return;
        }
        if nesting >= MAX_NESTING {
            // Hostile nesting (20,000 `<div>`s) would overflow the stack: below this depth the text is
            // taken flat, by an iterative traversal.
            let text = inline_text(el);
            if !text.is_empty() {
                self.push_inline(&format!(" {text} "));
            }
            return;
        }
        let name = el.value().name();
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name.as_bytes()[1] - b'0';
                let h = inline_text(el);
                if h.is_empty() {
                    return;
                }
                if level == 1 && self.skip_first_h1.as_deref() == Some(h.as_str()) {
                    self.skip_first_h1 = None;
                    return;
                }
                self.flush();
                while self.headings.last().is_some_and(|(l, _)| *l >= level) {
                    self.headings.pop();
                }
                self.headings.push((level, h));
                return;
            }
            "pre" => {
                self.newline();
                let code: String = el.text().collect();
                // A blank line ends a block in the chunk text: none inside code.
                let code: Vec<&str> = code.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
                self.text.push_str(&code.join("\n"));
                self.text.push_str("\n\n");
                return;
            }
            "table" => {
                self.newline();
                for row in el.select(&ROW) {
                    let cells: Vec<String> = row.select(&CELL).map(inline_text).collect();
                    if cells.iter().any(|c| !c.is_empty()) {
                        self.text.push_str(&cells.join(" | "));
                        self.text.push('\n');
                    }
                }
                self.text.push('\n');
                return;
            }
            "br" => {
                self.text.push('\n');
                return;
            }
            "li" => {
                self.newline();
                self.text.push_str(&"  ".repeat(list_depth.saturating_sub(1)));
                self.text.push_str("- ");
            }
            "img" => {
                if let Some(alt) = el.value().attr("alt").filter(|a| !a.trim().is_empty()) {
                    self.push_inline(&format!(" {alt} "));
                }
                return;
            }
            "a" => {
                if let Some(href) = el.value().attr("href") {
                    self.links.push(href.to_string());
                }
            }
            _ => {}
        }
        let block = BLOCK_TAGS.contains(&name) || name == "li" || name == "tr";
        if block && name != "li" {
            self.newline();
        }
        let depth = if name == "ul" || name == "ol" { list_depth + 1 } else { list_depth };
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.push_inline(t),
                Node::Element(_) => {
                    if let Some(c) = ElementRef::wrap(child) {
                        self.walk_at(c, depth, nesting + 1);
                    }
                }
                _ => {}
            }
        }
        if block {
            self.newline();
            if name == "p" {
                self.text.push('\n');
            }
        }
    }
}

/// Elements nested deeper than this are read as flat text (no real page nests 200 elements deep).
const MAX_NESTING: usize = 200;

static ROW: LazyLock<Selector> = LazyLock::new(|| sel("tr"));
static CELL: LazyLock<Selector> = LazyLock::new(|| sel("th, td"));

fn inline_text(el: ElementRef<'_>) -> String {
    el.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(l);
    }
    out
}

/// Parses an HTML page; `rel` names the file or URL path (for a fallback title).
pub fn parse_html(html: &str, rel: &str) -> ExtractedDoc {
    let doc = Html::parse_document(html);
    let h1 = doc.select(&H1).next().map(inline_text).filter(|t| !t.is_empty());
    let page_title = doc
        .select(&TITLE)
        .next()
        .map(inline_text)
        .filter(|t| !t.is_empty())
        .map(|t| strip_site_suffix(&t, h1.as_deref()));
    let title = h1.clone().or(page_title).unwrap_or_else(|| title_from_path(rel));
    let description = doc
        .select(&DESCRIPTION)
        .next()
        .and_then(|m| m.value().attr("content"))
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let root = doc
        .select(&MAIN)
        .next()
        .or_else(|| doc.select(&ARTICLE).next())
        .or_else(|| doc.select(&BODY).next())
        .unwrap_or_else(|| doc.root_element());
    let mut w = Walker { skip_first_h1: h1, ..Default::default() };
    w.walk(root, 0);
    w.flush();
    let mut links = w.links;
    if let Some(c) = doc.select(&CANONICAL).next().and_then(|l| l.value().attr("href")) {
        links.insert(0, format!("canonical:{c}"));
    }
    ExtractedDoc { title, description, sections: w.sections, one_chunk_per_section: false, page_type_hint: None, links }
}

/// Every link of a page in document order, chrome included: navigation, sidebars and footers are how a
/// crawler finds a site's pages even though their text is not content. `rel="nofollow"` links are left out.
pub fn all_links(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    doc.select(&ANCHOR)
        .filter(|a| {
            !a.value().attr("rel").is_some_and(|r| r.split_whitespace().any(|t| t.eq_ignore_ascii_case("nofollow")))
        })
        .filter_map(|a| a.value().attr("href"))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect()
}

/// `Pricing | Uptrail` → `Pricing` (site names after a separator are noise in titles).
fn strip_site_suffix(title: &str, h1: Option<&str>) -> String {
    if let Some(h) = h1 {
        if title.starts_with(h) {
            return h.to_string();
        }
    }
    for sep in [" | ", " – ", " — ", " - "] {
        if let Some((head, _)) = title.split_once(sep) {
            return head.trim().to_string();
        }
    }
    title.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head><title>Pricing | Uptrail</title>
<meta name="description" content="Plans for every team."><link rel="canonical" href="https://uptrail.example/pricing">
<script>var tracking = "SECRET";</script><style>.x{}</style></head>
<body><nav><a href="/">Home</a><a href="/docs">Docs</a></nav>
<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<header class="site-header">Uptrail</header>
<main><h1>Pricing</h1><p>Simple plans for   teams of any size.</p>
<h2>Plans</h2><table><tr><th>Plan</th><th>Price</th></tr><tr><td>Starter</td><td>$19/month</td></tr></table>
<h3>Included</h3><ul><li>Email alerts</li><li>Slack <b>alerts</b></li></ul>
<pre><code>curl https://api.uptrail.example</code></pre>
<aside>Related: blog</aside><a href="/demo">Book a demo</a></main>
<footer>© 2026 Uptrail · <a href="/terms">Terms</a></footer></body></html>"#;

    #[test]
    fn main_content_without_chrome() {
        let d = parse_html(PAGE, "pricing.html");
        assert_eq!(d.title, "Pricing");
        assert_eq!(d.description.as_deref(), Some("Plans for every team."));
        let all = d.full_text();
        for chrome in ["SECRET", "cookies", "Home", "©", "Related", "Accept"] {
            assert!(!all.contains(chrome), "{chrome} leaked into {all}");
        }
        assert_eq!(d.sections[0].heading_path, Vec::<String>::new());
        assert_eq!(d.sections[0].text, "Simple plans for teams of any size.");
        assert_eq!(d.sections[1].heading_path, vec!["Plans".to_string()]);
        assert_eq!(d.sections[1].text, "Plan | Price\nStarter | $19/month");
        assert_eq!(d.sections[2].heading_path, vec!["Plans".to_string(), "Included".to_string()]);
        assert!(d.sections[2].text.contains("- Email alerts\n- Slack alerts"), "{}", d.sections[2].text);
        assert!(d.sections[2].text.contains("curl https://api.uptrail.example"));
        assert!(d.links.contains(&"/demo".to_string()));
        assert_eq!(d.links[0], "canonical:https://uptrail.example/pricing");
    }

    #[test]
    fn malformed_html_still_gives_text() {
        let d = parse_html("<p>Unclosed <b>bold <div>text", "x.html");
        assert!(d.full_text().contains("Unclosed bold"));
        assert_eq!(d.title, "X");
    }

    #[test]
    fn hostile_nesting_does_not_overflow_the_stack() {
        let html = format!(
            "<html><body><main>{}deep text{}</main></body></html>",
            "<div>".repeat(20_000),
            "</div>".repeat(20_000)
        );
        // A 2 MiB stack, like a test thread or a blocking-pool thread of the server.
        let doc = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse_html(&html, "nested.html"))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(doc.full_text().contains("deep text"));
    }
}
