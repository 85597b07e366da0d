//! `throughline demo`: the first thing a newcomer runs. Ingests the shipped sample knowledge base as
//! `sample` when the data dir does not have it yet, then shows a few customer questions answered by
//! hybrid search, with where each answer came from.

use std::path::Path;
use std::process::ExitCode;

use throughline_core::SearchRequest;
use throughline_ingest::ingest_path;

use super::App;
use crate::config::shipped;
use crate::progress::CliProgress;

const QUESTIONS: [&str; 4] = [
    "how much is it for a team of 8?",
    "slak alerts stopped working",
    "can we log in with okta",
    "what happens when I hit the monitor limit",
];

/// Ingests the shipped sample knowledge base from `src` as `sample`, with a progress bar and a one-line
/// summary (shared by `demo` and the first start of `serve`).
pub fn ingest_sample(app: &App, src: &Path) -> anyhow::Result<()> {
    let kb = app.open_kb("sample", true)?;
    let progress = CliProgress::new();
    let summary = ingest_path(&kb, src, &app.config.ingest, &progress);
    progress.finish();
    let s = summary?;
    println!(
        "`sample`: {} documents, {} chunks in {:.1}s.",
        s.added + s.updated + s.unchanged,
        s.chunks_written,
        s.elapsed.as_secs_f64()
    );
    Ok(())
}

pub fn run(app: &App) -> anyhow::Result<ExitCode> {
    if app.store.kb("sample")?.is_none() {
        let src = shipped(Path::new("sample-kb"))
            .ok_or_else(|| anyhow::anyhow!("sample-kb: not found beside the working directory or the binary"))?;
        println!("Ingesting the sample knowledge base from {} into `sample`…", src.display());
        ingest_sample(app, &src)?;
        println!();
    }
    let kb = app.open_kb("sample", false)?;
    for q in QUESTIONS {
        println!("? {q}");
        for (i, h) in kb.search(&SearchRequest { limit: 3, ..SearchRequest::new(q) })?.iter().enumerate() {
            let heading = if h.heading_path.is_empty() {
                String::new()
            } else {
                format!(" › {}", h.heading_path.join(" › "))
            };
            println!("  {}. {}{} ({}, {})", i + 1, h.title, heading, h.path, h.page_type);
        }
        println!();
    }
    println!(
        "Try your own: throughline search --kb sample \"your question\"   (data in {})",
        app.config.data_dir.display()
    );
    println!("Evaluate:     throughline eval --kb sample --queries sample-kb/queries.jsonl");
    Ok(ExitCode::SUCCESS)
}
