//! `throughline search --kb NAME "query"`.

use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use throughline_core::{PageType, SearchFilters, SearchRequest, SourceId};
use throughline_server::wire::search::TotalRelation;
use throughline_server::wire::{Hit, SearchResponse};

use super::{to_fusion, to_mode, App};
use crate::cli::{Fusion, Mode};

pub struct Args {
    pub kb: String,
    pub query: String,
    pub mode: Mode,
    pub page_types: Vec<String>,
    pub sources: Vec<String>,
    pub limit: usize,
    pub all_chunks: bool,
    pub fusion: Option<Fusion>,
    pub json: bool,
}

/// Most characters of query text accepted; longer queries are cut (the retrievers only use the start).
const MAX_QUERY_CHARS: usize = 2000;

pub fn run(app: &App, a: Args) -> anyhow::Result<ExitCode> {
    let page_types = a.page_types.iter().map(|t| t.parse::<PageType>()).collect::<Result<Vec<_>, _>>()?;
    let sources = a
        .sources
        .iter()
        .map(|s| s.parse::<SourceId>().map_err(|e| anyhow::anyhow!("--source: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!((1..=1000).contains(&a.limit), "--limit {} is out of range (1..=1000)", a.limit);
    let query: String = a.query.chars().take(MAX_QUERY_CHARS).collect();
    let kb = app.open_kb(&a.kb, false)?;
    let request = SearchRequest {
        query,
        mode: to_mode(a.mode),
        limit: a.limit,
        filters: SearchFilters { page_types, sources },
        dedupe_documents: !a.all_chunks,
        fusion: a.fusion.map(to_fusion),
        query_vector: None,
    };
    let start = Instant::now();
    let hits = kb.search(&request)?;
    let took = start.elapsed();
    if a.json {
        // The API's view of a search (`POST /v1/kbs/{kb}/search`), with the knowledge base named.
        let response = SearchResponse {
            query: request.query.clone(),
            mode: request.mode.as_str().to_string(),
            hits: hits.iter().map(|h| Hit::new(h, false)).collect(),
            offset: 0,
            limit: request.limit,
            // A one-off search can afford the exact count (the API counts on request: `track_total_hits`).
            estimated_total_hits: kb.total_hits(&request, hits.len())?,
            total_hits_relation: TotalRelation::Eq,
            processing_time_ms: took.as_secs_f64() * 1000.0,
        };
        let mut out = serde_json::to_value(&response)?;
        out["kb"] = json!(a.kb);
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("No results for {:?} in `{}` ({} mode).", request.query, a.kb, request.mode.as_str());
        return Ok(ExitCode::SUCCESS);
    }
    for (i, h) in hits.iter().enumerate() {
        let retrievers = [
            h.bm25.map(|r| format!("bm25 #{} ({:.2})", r.rank, r.score)),
            h.vector.map(|r| format!("vector #{} ({:.3})", r.rank, r.score)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        println!(
            "{:>2}. {} — {} [{}]  score {:.4}  {}",
            i + 1,
            h.title,
            h.url.as_deref().unwrap_or(&h.path),
            h.page_type,
            h.score,
            retrievers
        );
        if !h.heading_path.is_empty() {
            println!("    {}", h.heading_path.join(" › "));
        }
        println!("    {}", highlight(&h.snippet, &h.highlights).replace('\n', " "));
    }
    println!("({} results in {:.1} ms)", hits.len(), took.as_secs_f64() * 1000.0);
    Ok(ExitCode::SUCCESS)
}

/// Marks highlighted ranges with `[` `]`.
fn highlight(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len() + ranges.len() * 2);
    let mut last = 0;
    for &(a, b) in ranges {
        if a < last || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        out.push_str(&text[last..a]);
        out.push('[');
        out.push_str(&text[a..b]);
        out.push(']');
        last = b;
    }
    out.push_str(&text[last..]);
    out
}
