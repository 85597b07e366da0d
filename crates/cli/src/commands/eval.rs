//! `throughline eval --kb NAME --queries FILE.jsonl`: retrieval quality per mode.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use throughline_core::{SearchMode, SearchRequest};
use throughline_search::eval::{mean, parse_queries, score, QueryMetrics};

use super::{to_fusion, to_mode, App};
use crate::cli::{Fusion, Mode};

/// A stage, its number of questions and their mean nDCG@10.
type StageNdcg = (String, usize, f64);

fn metrics_json(m: &QueryMetrics) -> serde_json::Value {
    json!({"ndcg@10": m.ndcg10, "recall@10": m.recall10, "recall@50": m.recall50, "mrr@10": m.mrr10})
}

pub fn run(
    app: &App,
    kb_name: &str,
    queries: &Path,
    mode: Option<Mode>,
    fusion: Option<Fusion>,
    json: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(queries).with_context(|| format!("{}: cannot read", queries.display()))?;
    let all = parse_queries(&text).map_err(|e| anyhow::anyhow!("{}: {e}", queries.display()))?;
    let labelled: Vec<_> = all.iter().filter(|q| !q.relevant.is_empty()).collect();
    anyhow::ensure!(!labelled.is_empty(), "{}: no query has relevant documents", queries.display());
    let kb = app.open_kb(kb_name, false)?;
    let modes: Vec<SearchMode> = match mode {
        Some(m) => vec![to_mode(m)],
        None => SearchMode::ALL.to_vec(),
    };
    // Each question as search reads it (`KnowledgeBase::search` spells out chat shorthand), embedded once
    // and reused across modes.
    let questions: Vec<String> =
        labelled.iter().map(|q| throughline_ingest::KnowledgeBase::searched_query(&q.question)).collect();
    let vectors: Vec<Vec<f32>> = {
        let texts: Vec<&str> = questions.iter().map(String::as_str).collect();
        kb.embedder().embed(&texts)?
    };
    let mut results = Vec::new();
    // nDCG@10 per expected stage (questions without a stage are counted under "unlabelled").
    let stage_of = |q: &throughline_search::eval::EvalQuery| q.stage.clone().unwrap_or_else(|| "unlabelled".into());
    let mut stages: Vec<String> = labelled.iter().map(|q| stage_of(q)).collect();
    stages.sort();
    stages.dedup();
    let mut per_stage: Vec<(SearchMode, Vec<StageNdcg>)> = Vec::new();
    for m in &modes {
        let mut per_query = Vec::with_capacity(labelled.len());
        for ((q, v), question) in labelled.iter().zip(&vectors).zip(&questions) {
            let req = SearchRequest {
                mode: *m,
                limit: 50,
                fusion: fusion.map(to_fusion),
                ..SearchRequest::new(question.clone())
            };
            let hits = kb.index().search(&req, Some(v))?;
            let ranked: Vec<String> =
                hits.iter().map(|h| h.url.clone().map(|u| url_path(&u)).unwrap_or_else(|| h.path.clone())).collect();
            let metrics = score(&ranked, &q.relevant);
            if verbose && *m == SearchMode::Hybrid && !json {
                println!(
                    "{:<6} ndcg {:.3}  {:<60} → {}",
                    q.id,
                    metrics.ndcg10,
                    q.question,
                    ranked.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                );
            }
            per_query.push(metrics);
        }
        let by_stage = stages
            .iter()
            .map(|st| {
                let ms: Vec<QueryMetrics> =
                    labelled.iter().zip(&per_query).filter(|(q, _)| &stage_of(q) == st).map(|(_, m)| *m).collect();
                (st.clone(), ms.len(), mean(&ms).ndcg10)
            })
            .collect();
        per_stage.push((*m, by_stage));
        results.push((*m, mean(&per_query)));
    }
    if json {
        let mut out = serde_json::Map::new();
        out.insert("kb".into(), json!(kb_name));
        out.insert("queries".into(), json!(labelled.len()));
        out.insert("skipped".into(), json!(all.len() - labelled.len()));
        for ((m, metrics), (_, by_stage)) in results.iter().zip(&per_stage) {
            let mut v = metrics_json(metrics);
            v["ndcg@10_by_stage"] = by_stage.iter().map(|(s, _, n)| (s.clone(), json!(n))).collect();
            out.insert(m.as_str().into(), v);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} queries with relevance labels ({} without labels skipped), knowledge base `{kb_name}`",
            labelled.len(),
            all.len() - labelled.len()
        );
        println!("{:<8} {:>8} {:>10} {:>10} {:>8}", "mode", "nDCG@10", "Recall@10", "Recall@50", "MRR@10");
        for (m, x) in &results {
            println!("{:<8} {:>8.4} {:>10.4} {:>10.4} {:>8.4}", m.as_str(), x.ndcg10, x.recall10, x.recall50, x.mrr10);
        }
        if stages.len() > 1 {
            println!();
            print!("{:<8}", "nDCG@10");
            for (st, n, _) in &per_stage[0].1 {
                print!(" {:>14}", format!("{st} ({n})"));
            }
            println!();
            for (m, by_stage) in &per_stage {
                print!("{:<8}", m.as_str());
                for (_, _, ndcg) in by_stage {
                    print!(" {ndcg:>14.4}");
                }
                println!();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The path of a URL without scheme and host: the evaluation id of a crawled page.
fn url_path(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or_else(|| url.to_string())
}
