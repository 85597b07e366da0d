//! End-to-end crawl throughput on a real help center (the Railway docs corpus in `../shared/corpora/`),
//! rendered to HTML pages with site chrome and served on 127.0.0.1. Ignored by default (it embeds a few
//! hundred pages); run it with
//! `cargo test -p throughline-ingest --test it throughput -- --ignored --nocapture`
//! (`THROUGHLINE_CORPUS` overrides the corpus folder, `THROUGHLINE_BENCH_MAX_PAGES` caps the pages fetched).

use std::path::{Path, PathBuf};
use std::time::Duration;

use throughline_core::{CancelToken, IngestStage, NoProgress};
use throughline_ingest::load::markdown::split_front_matter;
use throughline_ingest::{crawl_site, CrawlConfig};

use crate::site::{Route, Site};

fn corpus_dir() -> PathBuf {
    std::env::var_os("THROUGHLINE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/railway/content"))
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "md" || e == "mdx") {
            out.push(p);
        }
    }
}

/// `docs/foo/bar.md` → `/foo/bar` and `guides/x.md` → `/guides/x`, as on the live site.
fn url_path(rel: &Path) -> String {
    let s = rel.with_extension("").to_string_lossy().replace('\\', "/");
    match s.strip_prefix("docs/") {
        Some(rest) => format!("/{rest}"),
        None => format!("/{s}"),
    }
}

fn render(title: &str, description: &str, body_md: &str, nav: &str, siblings: &str) -> String {
    let mut body = String::new();
    pulldown_cmark::html::push_html(
        &mut body,
        pulldown_cmark::Parser::new_ext(body_md, pulldown_cmark::Options::all()),
    );
    format!(
        r#"<!doctype html><html><head><title>{title} | Railway Docs</title><meta name="description" content="{description}"></head>
<body><div class="cookie-banner">We use cookies. <button>OK</button></div>
<header><nav class="navbar">{nav}</nav></header>
<aside class="sidebar"><ul>{siblings}</ul></aside>
<main><article><h1>{title}</h1>{body}</article></main>
<footer><p>© Railway Corp.</p></footer></body></html>"#
    )
}

#[test]
#[ignore = "throughput measurement: embeds a few hundred pages"]
fn crawl_throughput_on_a_real_help_center() {
    let root = corpus_dir();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    assert!(files.len() > 100, "corpus not found at {}", root.display());
    let pages: Vec<(String, String, String, String)> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let (title, desc, body) = split_front_matter(&text);
            let rel = f.strip_prefix(&root).unwrap();
            let path = url_path(rel);
            let title = title.unwrap_or_else(|| path.clone());
            (path, title, desc.unwrap_or_default(), body.to_string())
        })
        .collect();
    let site = Site::start();
    let nav: String = pages.iter().step_by(25).map(|(p, t, _, _)| format!(r#"<a href="{p}">{t}</a> "#)).collect();
    let total_bytes: usize = pages
        .iter()
        .enumerate()
        .map(|(i, (path, title, desc, body))| {
            // The sidebar links a window of neighbouring pages, like a docs sidebar.
            let siblings: String = pages
                .iter()
                .skip(i.saturating_sub(5))
                .take(11)
                .map(|(p, t, _, _)| format!(r#"<li><a href="{p}">{t}</a></li>"#))
                .collect();
            let html = render(title, desc, body, &nav, &siblings);
            let n = html.len();
            site.set(path, Route::html(html));
            n
        })
        .sum();
    let index: String = pages.iter().map(|(p, t, _, _)| format!(r#"<li><a href="{p}">{t}</a></li>"#)).collect();
    site.set("/", Route::html(render("Railway Docs", "Docs", &format!("<ul>{index}</ul>"), &nav, "")));
    let dir = tempfile::tempdir().unwrap();
    let kb = crate::crawl::open_kb(dir.path());
    let max_pages = std::env::var("THROUGHLINE_BENCH_MAX_PAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
    let cfg = CrawlConfig {
        max_pages,
        max_depth: 5,
        concurrency: 4,
        delay: Duration::ZERO,
        allow_loopback: true,
        ..Default::default()
    };
    let s = crawl_site(&kb, &site.url("/"), &cfg, &NoProgress, &CancelToken::new()).unwrap();
    let pages_indexed = s.added + s.updated + s.unchanged;
    let secs = s.elapsed.as_secs_f64();
    println!(
        "crawl: {} pages ({} MB of HTML served) in {secs:.1}s = {:.1} pages/s; {} chunks, {} tokens; {} skipped, {} failed",
        pages_indexed,
        total_bytes / 1_000_000,
        pages_indexed as f64 / secs,
        s.chunks_written,
        s.tokens_embedded,
        s.skipped,
        s.failed
    );
    for (stage, d) in &s.stage_times {
        println!("  {:<8} {:>7.2}s  {:>5.1}%", stage.as_str(), d.as_secs_f64(), 100.0 * d.as_secs_f64() / secs);
    }
    println!("  fetch busy (sum of download times, overlapping other stages): {:.2}s", s.fetch_busy.as_secs_f64());
    println!("  not indexed: {:?}", s.reasons);
    assert!(pages_indexed >= pages.len().min(max_pages) * 9 / 10, "{pages_indexed} of {} pages", pages.len());
    assert!(s.stage_times.iter().any(|(st, d)| *st == IngestStage::Embed && !d.is_zero()));
}
