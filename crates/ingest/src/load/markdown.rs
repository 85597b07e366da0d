//! Markdown and MDX: YAML front matter (title, description), headings into heading paths, lists as
//! `- item` / `1. item`, tables as `cell | cell` rows, code verbatim; MDX `import`/`export` lines dropped
//! and JSX components (`<Banner>`, `<Collapse title="…">`, `<Tabs>`) reduced to their text, with `title` and
//! `label` attributes kept as a bold line.

use std::sync::LazyLock;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use regex::Regex;
use throughline_core::{ExtractedDoc, Section};

use super::text::title_from_path;

static JSX_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"</?[A-Z][A-Za-z0-9_.]*(?:\s+(?:[^>"'{}]|"[^"]*"|'[^']*'|\{[^}]*\})*)?\s*/?>"#).expect("valid regex")
});
static JSX_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\b(?:title|label|summary)\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("valid regex"));
static JSX_OPEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[A-Z][A-Za-z0-9_.]*(?:\s|$)").expect("valid regex"));
static JSX_COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{/\*.*?\*/\}").expect("valid regex"));
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("valid regex"));

/// Splits YAML front matter from the body: `(title, description, body)`.
pub fn split_front_matter(text: &str) -> (Option<String>, Option<String>, &str) {
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else {
        return (None, None, text);
    };
    let Some(end) = rest.find("\n---") else { return (None, None, text) };
    let yaml = &rest[..end];
    let after = &rest[end + 4..];
    let body = after.split_once('\n').map(|(_, b)| b).unwrap_or("");
    let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap_or(serde_yaml::Value::Null);
    let get = |k: &str| value.get(k).and_then(|v| v.as_str()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    (get("title"), get("description"), body)
}

/// Reduces MDX syntax to Markdown, leaving fenced code untouched.
fn strip_mdx(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut fence: Option<&str> = None;
    let mut open_tag: Option<String> = None;
    for line in body.lines() {
        // A component tag spread over several lines (`<Image src=…` / `alt="…"` / `/>`) is joined first,
        // so its attributes (alt text, sizes) never leak into the text.
        if let Some(mut tag) = open_tag.take() {
            tag.push(' ');
            tag.push_str(line.trim());
            if tag_is_open(&tag) && tag.len() < 8192 {
                open_tag = Some(tag);
                continue;
            }
            push_mdx_line(&mut out, &tag);
            continue;
        }
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(if trimmed.starts_with("```") { "```" } else { "~~~" });
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if trimmed.starts_with("import ") || trimmed.starts_with("export ") {
            continue;
        }
        if fence.is_none() && tag_is_open(trimmed) {
            open_tag = Some(trimmed.to_string());
            continue;
        }
        push_mdx_line(&mut out, line);
    }
    if let Some(tag) = open_tag {
        push_mdx_line(&mut out, &tag);
    }
    out
}

/// Whether `line` ends inside an unclosed component tag (`<Image src="…"` with no `>` yet).
fn tag_is_open(line: &str) -> bool {
    let Some(start) = JSX_OPEN.find(line).map(|m| m.start()) else { return false };
    let mut quote: Option<char> = None;
    let mut braces = 0usize;
    for c in line[start..].chars().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{') => braces += 1,
            (None, '}') => braces = braces.saturating_sub(1),
            (None, '>') if braces == 0 => return false,
            _ => {}
        }
    }
    true
}

/// Appends one line of MDX with its component tags reduced to their labels.
fn push_mdx_line(out: &mut String, line: &str) {
    {
        let line = JSX_COMMENT.replace_all(line, "");
        let line = JSX_TAG.replace_all(&line, |caps: &regex::Captures<'_>| {
            let tag = &caps[0];
            match JSX_LABEL.captures(tag) {
                Some(l) if !tag.starts_with("</") => {
                    let label = l.get(1).or_else(|| l.get(2)).map(|m| m.as_str()).unwrap_or("");
                    format!("\n\n**{label}**\n\n")
                }
                _ => String::new(),
            }
        });
        // A line that held only a component tag becomes blank; keep one line break.
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

#[derive(Default)]
struct Builder {
    title: Option<String>,
    headings: Vec<(HeadingLevel, String)>,
    sections: Vec<Section>,
    text: String,
    heading: Option<String>,
    lists: Vec<Option<u64>>,
    table_cell: Option<String>,
    table_row: Vec<String>,
    table_head: Vec<String>,
    images: usize,
    /// Inside a fenced or indented code block.
    in_code: bool,
    links: Vec<String>,
}

impl Builder {
    fn sink(&mut self) -> &mut String {
        if let Some(h) = self.heading.as_mut() {
            return h;
        }
        if let Some(c) = self.table_cell.as_mut() {
            return c;
        }
        &mut self.text
    }

    fn ensure_newline(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn flush(&mut self) {
        let text = tidy(&self.text);
        if !text.is_empty() {
            let heading_path = self.headings.iter().map(|(_, h)| h.clone()).collect();
            self.sections.push(Section { heading_path, text });
        }
        self.text.clear();
    }

    fn event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Start(Tag::Heading { .. }) => {
                self.flush();
                self.heading = Some(String::new());
            }
            Event::End(TagEnd::Heading(level)) => {
                let h = self.heading.take().unwrap_or_default();
                let h = h.split_whitespace().collect::<Vec<_>>().join(" ");
                if h.is_empty() {
                    return;
                }
                if level == HeadingLevel::H1 && self.sections.is_empty() && self.headings.is_empty() {
                    match &self.title {
                        None => {
                            self.title = Some(h);
                            return;
                        }
                        Some(t) if t.eq_ignore_ascii_case(&h) => return,
                        Some(_) => {}
                    }
                }
                while self.headings.last().is_some_and(|(l, _)| *l >= level) {
                    self.headings.pop();
                }
                self.headings.push((level, h));
            }
            Event::End(TagEnd::Paragraph) if self.table_cell.is_none() => {
                self.text.push_str(if self.lists.is_empty() { "\n\n" } else { "\n" });
            }
            Event::Start(Tag::List(start)) => {
                self.ensure_newline();
                self.lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                self.lists.pop();
                if self.lists.is_empty() {
                    self.text.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                self.ensure_newline();
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "- ".to_string(),
                };
                self.text.push_str(&"  ".repeat(depth));
                self.text.push_str(&marker);
            }
            Event::End(TagEnd::Item) => self.ensure_newline(),
            Event::Start(Tag::CodeBlock(kind)) => {
                self.ensure_newline();
                self.in_code = true;
                if let CodeBlockKind::Fenced(lang) = kind {
                    if !lang.is_empty() {
                        self.text.push_str(&format!("({lang})\n"));
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                self.in_code = false;
                self.ensure_newline();
                self.text.push('\n');
            }
            Event::Start(Tag::TableCell) => self.table_cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                let c = self.table_cell.take().unwrap_or_default();
                self.table_row.push(c.split_whitespace().collect::<Vec<_>>().join(" "));
            }
            Event::End(TagEnd::TableHead) => {
                let row = std::mem::take(&mut self.table_row);
                self.ensure_newline();
                if row.iter().any(|c| !c.is_empty()) {
                    self.text.push_str(&row.join(" | "));
                    self.text.push('\n');
                }
                self.table_head = row;
            }
            Event::End(TagEnd::TableRow) => {
                let row = std::mem::take(&mut self.table_row);
                self.ensure_newline();
                self.text.push_str(&labelled_row(&self.table_head, &row));
                self.text.push('\n');
            }
            Event::End(TagEnd::Table) => {
                self.table_head.clear();
                self.text.push('\n');
            }
            // Alt text describes a picture the reader cannot see: never part of the page's text.
            Event::Start(Tag::Image { .. }) => self.images += 1,
            Event::End(TagEnd::Image) => self.images = self.images.saturating_sub(1),
            Event::Text(_) | Event::Code(_) if self.images > 0 => {}
            Event::Start(Tag::Link { dest_url, .. }) => self.links.push(dest_url.to_string()),
            // A blank line ends a block in the chunk text: none inside code.
            Event::Text(t) if self.in_code => {
                let lines: Vec<&str> = t.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
                if !lines.is_empty() {
                    self.ensure_newline();
                    self.text.push_str(&lines.join("\n"));
                    self.text.push('\n');
                }
            }
            Event::Text(t) => self.sink().push_str(&t),
            Event::Code(t) => self.sink().push_str(&t),
            Event::Html(t) | Event::InlineHtml(t) => {
                let stripped = HTML_TAG.replace_all(&t, " ");
                let s = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
                if !s.is_empty() {
                    let sink = self.sink();
                    if !sink.is_empty() && !sink.ends_with([' ', '\n']) {
                        sink.push(' ');
                    }
                    sink.push_str(&s);
                }
            }
            Event::SoftBreak => self.sink().push(' '),
            Event::HardBreak => self.sink().push('\n'),
            Event::TaskListMarker(done) => self.sink().push_str(if done { "[x] " } else { "[ ] " }),
            _ => {}
        }
    }
}

/// A table body row with each cell after the first labelled by its column header ("Hobby | RAM: 48 GB |
/// CPU: 48 vCPU"), so a row quoted alone still says what its numbers are.
fn labelled_row(head: &[String], row: &[String]) -> String {
    if head.len() != row.len() || head.iter().skip(1).all(String::is_empty) {
        return row.join(" | ");
    }
    row.iter()
        .zip(head)
        .enumerate()
        .map(
            |(i, (cell, h))| {
                if i == 0 || h.is_empty() || cell.is_empty() {
                    cell.clone()
                } else {
                    format!("{h}: {cell}")
                }
            },
        )
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Collapses runs of blank lines and trims.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let l = line.trim_end();
        if l.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(l);
    }
    out
}

/// Parses Markdown or MDX text; `rel` names the file (for a fallback title).
pub fn parse_markdown(text: &str, rel: &str) -> ExtractedDoc {
    let text = text.replace("\r\n", "\n");
    let (fm_title, description, body) = split_front_matter(&text);
    let body = strip_mdx(body);
    let mut b = Builder { title: fm_title, ..Default::default() };
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for ev in Parser::new_ext(&body, opts) {
        b.event(ev);
    }
    b.flush();
    ExtractedDoc {
        title: b.title.unwrap_or_else(|| title_from_path(rel)),
        description,
        sections: b.sections,
        one_chunk_per_section: false,
        page_type_hint: None,
        links: b.links,
    }
}

/// Markdown or MDX rendered to HTML (front matter dropped, components reduced as for text), for the
/// pricing extraction, which reads tables and plan cards from HTML whatever the page was written in.
pub fn markdown_to_html(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let (_, _, body) = split_front_matter(&text);
    let body = strip_mdx(body);
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut html = String::with_capacity(body.len() * 2);
    pulldown_cmark::html::push_html(&mut html, Parser::new_ext(&body, opts));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    const MDX: &str = r#"---
title: Slack integration
description: Send alerts to Slack channels.
---
import { Banner } from "../components";

# Slack integration

<Banner type="info">Slack alerts need the **Starter** plan or higher.</Banner>

## Connect

1. Open **Settings > Integrations**.
2. Click `Add to Slack`.
   - Pick a channel

<Tabs>
<Tab title="curl">
```bash
curl -X POST https://api.example/slack
```
</Tab>
</Tabs>

### Limits

| Plan | Channels |
| --- | --- |
| Starter | 1 |
| Team | 10 |

## Troubleshooting

<Collapse title="Alerts stopped?">
Reconnect the app. See [webhooks](/docs/webhooks).
</Collapse>
"#;

    #[test]
    fn mdx_front_matter_components_lists_tables_and_code() {
        let d = parse_markdown(MDX, "docs/slack.mdx");
        assert_eq!(d.title, "Slack integration");
        assert_eq!(d.description.as_deref(), Some("Send alerts to Slack channels."));
        let paths: Vec<Vec<String>> = d.sections.iter().map(|s| s.heading_path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                vec![],
                vec!["Connect".to_string()],
                vec!["Connect".to_string(), "Limits".to_string()],
                vec!["Troubleshooting".to_string()]
            ]
        );
        assert_eq!(d.sections[0].text, "Slack alerts need the Starter plan or higher.");
        let connect = &d.sections[1].text;
        assert!(connect.contains("1. Open Settings > Integrations."), "{connect}");
        assert!(connect.contains("2. Click Add to Slack."), "{connect}");
        assert!(connect.contains("  - Pick a channel"), "{connect}");
        assert!(connect.contains("curl -X POST https://api.example/slack"), "{connect}");
        assert!(connect.contains("curl"), "tab title kept");
        assert!(!connect.contains("<Tab"), "{connect}");
        assert!(
            d.sections[2].text.contains("Plan | Channels\nStarter | Channels: 1\nTeam | Channels: 10"),
            "rows carry their column headers: {}",
            d.sections[2].text
        );
        assert!(d.sections[3].text.starts_with("Alerts stopped?"), "{}", d.sections[3].text);
        assert!(d.sections[3].text.contains("Reconnect the app."));
        assert_eq!(d.links, vec!["/docs/webhooks".to_string()]);
    }

    #[test]
    fn a_code_block_with_blank_lines_stays_one_block() {
        let d = parse_markdown(
            "1. Install the SDK:\n\n    ```shell\n    mkdir demo\n\n    # then\n    pip install demo\n    ```\n\nAfter the code.",
            "a.md",
        );
        let text = &d.sections[0].text;
        assert!(text.contains("(shell)\nmkdir demo\n# then\npip install demo\n"), "{text:?}");
        assert!(text.contains("After the code."), "{text:?}");
    }

    #[test]
    fn title_falls_back_to_h1_then_file_name() {
        assert_eq!(parse_markdown("# Hello\n\ntext", "a.md").title, "Hello");
        assert_eq!(parse_markdown("just text", "help/reset-password.md").title, "Reset password");
        // A broken front matter block is treated as text, never a panic.
        let d = parse_markdown("---\ntitle: [unclosed\n", "x.md");
        assert_eq!(d.title, "X");
    }
}
