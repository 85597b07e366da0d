//! `throughline ingest --kb NAME PATH`.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use throughline_ingest::{ingest_path, IngestSummary};

use super::App;
use crate::progress::CliProgress;

pub fn run(
    app: &App,
    kb_name: &str,
    path: &Path,
    batch_size: Option<usize>,
    max_file_bytes: Option<u64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if !path.exists() {
        anyhow::bail!("{}: no such file or folder", path.display());
    }
    let mut cfg = app.config.ingest.clone();
    if let Some(b) = batch_size {
        anyhow::ensure!(b > 0, "--batch-size must be at least 1");
        cfg.batch_docs = b;
    }
    if let Some(m) = max_file_bytes {
        cfg.max_file_bytes = m;
    }
    let kb = app.open_kb(kb_name, true)?;
    let progress = CliProgress::new();
    let result = ingest_path(&kb, path, &cfg, &progress);
    progress.finish();
    let summary = result?;
    let info = kb.refreshed_info()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary_json(kb_name, &summary, info.documents, info.chunks))?);
    } else {
        print_summary(kb_name, path, &summary, info.documents, info.chunks);
    }
    // Partial failures are reported, not fatal; a run where every file failed is.
    let nothing_ok = summary.failed.len() == summary.files_seen - summary.skipped.len() && !summary.failed.is_empty();
    Ok(if nothing_ok { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// The server's view of the ingestion (`throughline_server::jobs::ingest_summary_json`), with the knowledge base's name and
/// totals.
fn summary_json(kb: &str, s: &IngestSummary, total_docs: u64, total_chunks: u64) -> serde_json::Value {
    let mut v = throughline_server::jobs::ingest_summary_json(s);
    v["kb"] = json!(kb);
    v["kb_documents"] = json!(total_docs);
    v["kb_chunks"] = json!(total_chunks);
    v
}

fn print_summary(kb: &str, path: &Path, s: &IngestSummary, total_docs: u64, total_chunks: u64) {
    println!(
        "Ingested {} into `{kb}` in {:.1}s: {} files, {} added, {} updated, {} unchanged, {} deleted, {} chunks written",
        path.display(),
        s.elapsed.as_secs_f64(),
        s.files_seen,
        s.added,
        s.updated,
        s.unchanged,
        s.deleted,
        s.chunks_written
    );
    let stages: Vec<String> = s
        .stage_times
        .iter()
        .map(|(st, d)| {
            if *st == throughline_core::IngestStage::Embed && d.as_secs_f64() > 0.0 {
                format!(
                    "{} {:.1}s ({:.0} tokens/s)",
                    st.as_str(),
                    d.as_secs_f64(),
                    s.tokens_embedded as f64 / d.as_secs_f64()
                )
            } else {
                format!("{} {:.2}s", st.as_str(), d.as_secs_f64())
            }
        })
        .collect();
    println!("  stages: {}", stages.join(" · "));
    println!("  knowledge base now holds {total_docs} documents, {total_chunks} chunks");
    if !s.skipped.is_empty() {
        println!("  skipped {}:", s.skipped.len());
        for p in &s.skipped {
            println!("    {}: {}", p.item, p.reason);
        }
    }
    if !s.truncated.is_empty() {
        println!("  indexed in part {} (per-document budget):", s.truncated.len());
        for p in &s.truncated {
            println!("    {}: {}", p.item, p.reason);
        }
    }
    if !s.failed.is_empty() {
        println!("  failed {}:", s.failed.len());
        for p in &s.failed {
            println!("    {}: {}", p.item, p.reason);
        }
    }
}
