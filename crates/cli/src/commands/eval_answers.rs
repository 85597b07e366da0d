//! `throughline eval-answers --agent NAME --queries FILE.jsonl`: answer quality. Each question is asked
//! by a fresh contact in a fresh conversation. Metrics:
//! - fact recall: share of `answer_facts` found (case-insensitively) in the answers, over answerable questions;
//! - citation precision: share of cited pages that are among the question's relevant pages;
//! - stage accuracy: share of questions with a stage whose decided stage matches;
//! - "I don't know" precision (share of IDK answers given to `stage: none` questions) and recall (share
//!   of `stage: none` questions answered IDK);
//! - answer latency p50/p99.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use throughline_search::eval::parse_queries;

use super::agent::open_agent;
use super::App;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

pub fn run(app: &App, name: &str, queries: &Path, json_out: bool, verbose: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(queries).with_context(|| format!("{}: cannot read", queries.display()))?;
    let all = parse_queries(&text).map_err(|e| anyhow::anyhow!("{}: {e}", queries.display()))?;
    anyhow::ensure!(!all.is_empty(), "{}: no questions", queries.display());
    let agent = open_agent(app, name)?;
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
    let (mut facts_found, mut facts_total) = (0usize, 0usize);
    let (mut cited_relevant, mut cited_total) = (0usize, 0usize);
    let (mut stage_ok, mut stage_total) = (0usize, 0usize);
    let (mut idk_on_none, mut idk_total, mut none_total) = (0usize, 0usize, 0usize);
    let mut latencies: Vec<f64> = Vec::new();
    let mut rows = Vec::new();
    for q in &all {
        let contact = agent.contact(&format!("eval-{run_id:x}-{}", q.id))?;
        let conv = agent.start_conversation(contact.id)?;
        let start = Instant::now();
        let turn = agent.respond(contact.id, conv.id, &q.question, &mut |_| {})?;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        let expected = q.stage.as_deref().map(str::to_lowercase);
        let is_none = expected.as_deref() == Some("none");
        if turn.idk {
            idk_total += 1;
            if is_none {
                idk_on_none += 1;
            }
        }
        if is_none {
            none_total += 1;
        }
        let answer = turn.answer.to_lowercase();
        let mut found = 0;
        if !is_none {
            for f in &q.answer_facts {
                facts_total += 1;
                if answer.contains(&f.to_lowercase()) {
                    found += 1;
                }
            }
            facts_found += found;
        }
        if !q.relevant.is_empty() {
            for c in &turn.citations {
                cited_total += 1;
                if q.relevant.contains_key(&c.path) {
                    cited_relevant += 1;
                }
            }
        }
        if let Some(s) = expected.as_deref().filter(|s| *s != "none") {
            stage_total += 1;
            if turn.stage.as_str() == s {
                stage_ok += 1;
            }
        }
        if verbose {
            rows.push(json!({
                "id": q.id,
                "question": q.question,
                "expected_stage": q.stage,
                "stage": turn.stage.as_str(),
                "idk": turn.idk,
                "confidence": turn.trace.confidence,
                "facts_found": found,
                "facts": q.answer_facts.len(),
                "citations": turn.citations.iter().map(|c| c.path.clone()).collect::<Vec<_>>(),
                "answer": turn.answer,
            }));
        }
        // Eval contacts are scaffolding: remove them so the audit only shows real conversations.
        agent.delete_contact(turn.contact)?;
    }
    latencies.sort_by(f64::total_cmp);
    let out = json!({
        "questions": all.len(),
        "fact_recall": ratio(facts_found, facts_total),
        "citation_precision": ratio(cited_relevant, cited_total),
        "stage_accuracy": ratio(stage_ok, stage_total),
        "idk_precision": ratio(idk_on_none, idk_total),
        "idk_recall": ratio(idk_on_none, none_total),
        "latency_p50_ms": percentile(&latencies, 0.5),
        "latency_p99_ms": percentile(&latencies, 0.99),
    });
    if verbose {
        for r in &rows {
            if json_out {
                eprintln!("{r}");
            } else {
                println!("{}", serde_json::to_string_pretty(r)?);
            }
        }
    }
    if json_out {
        println!("{out}");
    } else {
        println!("questions           {}", all.len());
        for k in ["fact_recall", "citation_precision", "stage_accuracy", "idk_precision", "idk_recall"] {
            println!("{k:<19} {:.3}", out[k].as_f64().unwrap_or(0.0));
        }
        println!("latency_p50_ms      {:.1}", out["latency_p50_ms"].as_f64().unwrap_or(0.0));
        println!("latency_p99_ms      {:.1}", out["latency_p99_ms"].as_f64().unwrap_or(0.0));
    }
    Ok(ExitCode::SUCCESS)
}
