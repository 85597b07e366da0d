//! `throughline ingest --kb NAME https://...` (a site crawl) and `throughline crawl-report --kb NAME`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use throughline_core::{CancelToken, CrawlStatus, IngestStage, SourceId};
use throughline_ingest::{crawl_report_in, crawl_site, CrawlConfig, CrawlSummary};

use super::App;
use crate::cli::{CrawlArgs, CrawlStatusArg};
use crate::progress::CliProgress;

/// The URL when the ingest argument is one (`http://` or `https://`).
pub fn as_url(path: &Path) -> Option<String> {
    let s = path.to_str()?;
    let lower = s.to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then(|| s.to_string())
}

fn config(app: &App, args: &CrawlArgs, batch_size: Option<usize>) -> anyhow::Result<CrawlConfig> {
    let mut cfg = CrawlConfig { ingest: app.config.ingest.clone(), ..Default::default() };
    if let Some(b) = batch_size {
        anyhow::ensure!(b > 0, "--batch-size must be at least 1");
        cfg.ingest.batch_docs = b;
    }
    if let Some(n) = args.max_pages {
        anyhow::ensure!(n > 0, "--max-pages must be at least 1");
        cfg.max_pages = n;
    }
    if let Some(d) = args.max_depth {
        cfg.max_depth = d;
    }
    if let Some(c) = args.concurrency {
        anyhow::ensure!((1..=16).contains(&c), "--concurrency must be between 1 and 16");
        cfg.concurrency = c;
    }
    if let Some(ms) = args.delay_ms {
        cfg.delay = Duration::from_millis(ms);
    }
    if let Some(t) = args.timeout_secs {
        anyhow::ensure!(t > 0, "--timeout-secs must be at least 1");
        cfg.timeout = Duration::from_secs(t);
    }
    cfg.include = args.include.clone();
    cfg.exclude = args.exclude.clone();
    cfg.allow_private_network = args.allow_private_network;
    cfg.confirm_removal = args.confirm_removal;
    Ok(cfg)
}

pub fn run(
    app: &App,
    kb_name: &str,
    url: &str,
    args: &CrawlArgs,
    batch_size: Option<usize>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = config(app, args, batch_size)?;
    let kb = app.open_kb(kb_name, true)?;
    let progress = CliProgress::new();
    let cancel = CancelToken::new();
    let result = crawl_site(&kb, url, &cfg, &progress, &cancel);
    progress.finish();
    let summary = result?;
    let info = kb.refreshed_info()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary_json(kb_name, &summary, info.documents, info.chunks))?);
    } else {
        print_summary(kb_name, &summary, info.documents, info.chunks);
    }
    let current = summary.added + summary.updated + summary.unchanged;
    Ok(if current == 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// The server's view of the crawl (`throughline_server::jobs::crawl_summary_json`), with the knowledge base's name and
/// totals.
fn summary_json(kb: &str, s: &CrawlSummary, total_docs: u64, total_chunks: u64) -> serde_json::Value {
    let mut v = throughline_server::jobs::crawl_summary_json(s);
    v["kb"] = json!(kb);
    v["kb_documents"] = json!(total_docs);
    v["kb_chunks"] = json!(total_chunks);
    v
}

fn pages_per_second(s: &CrawlSummary) -> f64 {
    (s.added + s.updated + s.unchanged) as f64 / s.elapsed.as_secs_f64().max(1e-6)
}

fn print_summary(kb: &str, s: &CrawlSummary, total_docs: u64, total_chunks: u64) {
    println!(
        "Crawled {} into `{kb}` in {:.1}s ({:.1} pages/s): {} URLs discovered, {} fetched, {} added, {} updated, {} unchanged, {} removed, {} skipped, {} failed",
        s.start_url,
        s.elapsed.as_secs_f64(),
        pages_per_second(s),
        s.discovered,
        s.fetched,
        s.added,
        s.updated,
        s.unchanged,
        s.removed,
        s.skipped,
        s.failed
    );
    let stages: Vec<String> = s
        .stage_times
        .iter()
        .map(|(st, d)| {
            if *st == IngestStage::Embed && d.as_secs_f64() > 0.0 {
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
    if s.conditional_requests > 0 {
        println!("  conditional requests: {} ({} not modified)", s.conditional_requests, s.not_modified);
    }
    println!("  knowledge base now holds {total_docs} documents, {total_chunks} chunks");
    if !s.reasons.is_empty() {
        println!("  not indexed:");
        for (status, reason, n) in &s.reasons {
            println!("    {n:>5} {status}: {reason}");
        }
        println!("  details: throughline crawl-report --kb {kb} --source {}", s.source);
    }
    if s.cancelled {
        println!("  the crawl was cancelled; re-run to complete it");
    }
    if let Some((n, why)) = &s.removal_withheld {
        println!("  {n} stored pages kept: {why} (re-run with --confirm-removal to remove them)");
    }
}

fn to_status(s: CrawlStatusArg) -> CrawlStatus {
    match s {
        CrawlStatusArg::Indexed => CrawlStatus::Indexed,
        CrawlStatusArg::Unchanged => CrawlStatus::Unchanged,
        CrawlStatusArg::Skipped => CrawlStatus::Skipped,
        CrawlStatusArg::Failed => CrawlStatus::Failed,
    }
}

pub fn report(
    app: &App,
    kb_name: &str,
    source: Option<&str>,
    status: Option<CrawlStatusArg>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let kb = app.store.kb(kb_name)?.ok_or_else(|| anyhow::anyhow!("knowledge base `{kb_name}` does not exist"))?;
    let source = match source {
        Some(s) => {
            let id: SourceId = s.parse().map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            anyhow::ensure!(
                app.store.sources(kb.id)?.iter().any(|x| x.id == id),
                "--source: knowledge base `{kb_name}` has no source {s}"
            );
            Some(id)
        }
        None => None,
    };
    let records = crawl_report_in(app.store.as_ref(), kb.id, source, status.map(to_status))?;
    if as_json {
        let out: Vec<_> =
            records.iter().map(|r| json!({"url": r.url, "status": r.status.as_str(), "reason": r.reason})).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        println!(
            "No crawl report rows for `{kb_name}`. Crawl a site with: throughline ingest --kb {kb_name} https://..."
        );
        return Ok(ExitCode::SUCCESS);
    }
    for r in &records {
        if r.reason.is_empty() {
            println!("{:<9}  {}", r.status.as_str(), r.url);
        } else {
            println!("{:<9}  {}  ({})", r.status.as_str(), r.url, r.reason);
        }
    }
    Ok(ExitCode::SUCCESS)
}
