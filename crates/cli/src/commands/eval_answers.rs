//! `throughline eval-answers --agent NAME --queries FILE.jsonl`: answer quality. Each question is asked
//! by a fresh contact in a fresh conversation. Metrics:
//! - fact recall: share of `answer_facts` found (case-insensitively) in the answers, over answerable
//!   questions (an "I don't know" finds none);
//! - citation precision: share of cited pages that are among the question's relevant pages;
//! - stage accuracy: share of questions with a stage whose decided stage matches;
//! - "I don't know" precision (share of IDK answers given to `stage: none` questions) and recall (share
//!   of `stage: none` questions answered IDK);
//! - answer latency p50/p99;
//! - the same per expected stage, and a confusion matrix of expected against decided stage ("idk" for
//!   an "I don't know").
//!
//! `--json` prints one object with the totals, `by_stage`, `confusion` and a `records` array (question,
//! expected and decided stage, answer, citations, confidence, threshold, facts found, idk).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use throughline_search::eval::{normalize_id, parse_queries};

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

/// Counts behind the metrics, for all questions or one expected stage.
#[derive(Default, Clone, Copy)]
struct Tally {
    questions: usize,
    facts_found: usize,
    facts_total: usize,
    cited_relevant: usize,
    cited_total: usize,
    stage_ok: usize,
    stage_total: usize,
    idk_on_none: usize,
    idk_total: usize,
    none_total: usize,
}

impl Tally {
    fn json(&self) -> serde_json::Value {
        json!({
            "questions": self.questions,
            "fact_recall": ratio(self.facts_found, self.facts_total),
            "citation_precision": ratio(self.cited_relevant, self.cited_total),
            "stage_accuracy": ratio(self.stage_ok, self.stage_total),
            "idk_precision": ratio(self.idk_on_none, self.idk_total),
            "idk_recall": ratio(self.idk_on_none, self.none_total),
            "idk_answers": self.idk_total,
        })
    }
}

const STAGES: [&str; 5] = ["acquisition", "activation", "support", "expansion", "none"];

pub fn run(app: &App, name: &str, queries: &Path, json_out: bool, verbose: bool) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(queries).with_context(|| format!("{}: cannot read", queries.display()))?;
    let all = parse_queries(&text).map_err(|e| anyhow::anyhow!("{}: {e}", queries.display()))?;
    anyhow::ensure!(!all.is_empty(), "{}: no questions", queries.display());
    let agent = open_agent(app, name)?;
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
    let mut total = Tally::default();
    let mut by_stage: BTreeMap<String, Tally> = BTreeMap::new();
    // confusion[expected][decided], decided "idk" for an "I don't know".
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut latencies: Vec<f64> = Vec::new();
    let mut records = Vec::new();
    for q in &all {
        let contact = agent.contact(&format!("eval-{run_id:x}-{}", q.id))?;
        let conv = agent.start_conversation(contact.id)?;
        let start = Instant::now();
        let turn = agent.respond(contact.id, conv.id, &q.question, &mut |_| {})?;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        let expected = q.stage.as_deref().map(str::to_lowercase);
        let is_none = expected.as_deref() == Some("none");
        let mut t = Tally { questions: 1, ..Tally::default() };
        if turn.idk {
            t.idk_total += 1;
            if is_none {
                t.idk_on_none += 1;
            }
        }
        if is_none {
            t.none_total += 1;
        }
        let answer = if turn.idk { String::new() } else { turn.answer.to_lowercase() };
        let mut found_facts = Vec::new();
        if !is_none {
            for f in &q.answer_facts {
                t.facts_total += 1;
                if answer.contains(&f.to_lowercase()) {
                    t.facts_found += 1;
                    found_facts.push(f.clone());
                }
            }
        }
        let relevant: Vec<String> = q.relevant.keys().map(|k| normalize_id(k)).collect();
        if !q.relevant.is_empty() {
            for c in &turn.citations {
                t.cited_total += 1;
                if relevant.contains(&normalize_id(&c.path)) {
                    t.cited_relevant += 1;
                }
            }
        }
        if let Some(s) = expected.as_deref().filter(|s| *s != "none") {
            t.stage_total += 1;
            if turn.stage.as_str() == s {
                t.stage_ok += 1;
            }
        }
        let decided = if turn.idk { "idk".to_string() } else { turn.stage.as_str().to_string() };
        let exp_key = expected.clone().unwrap_or_else(|| "unlabelled".into());
        *confusion.entry(exp_key.clone()).or_default().entry(decided.clone()).or_default() += 1;
        add(&mut total, &t);
        add(by_stage.entry(exp_key).or_default(), &t);
        records.push(json!({
            "id": q.id,
            "question": q.question,
            "expected_stage": expected,
            "stage": turn.stage.as_str(),
            "idk": turn.idk,
            "backend": turn.trace.backend,
            "confidence": turn.trace.confidence,
            "threshold": turn.trace.threshold,
            "domain_score": turn.trace.domain_score,
            "domain_threshold": turn.trace.domain_threshold,
            "offtopic_lean": turn.trace.offtopic_lean,
            "question_kind": turn.trace.question_kind,
            "evidence_types": turn.trace.retrieved.iter().take(3).map(|r| r.page_type.as_str()).collect::<Vec<_>>(),
            "retrieved": turn.trace.retrieved.iter().map(|r| r.path.clone()).collect::<Vec<_>>(),
            "intent": turn.trace.intent_scores.iter().map(|(s, p)| (s.as_str().to_string(), json!(p))).collect::<serde_json::Map<_, _>>(),
            "stage_reason": turn.trace.stage_reason,
            "facts": q.answer_facts,
            "facts_found": found_facts,
            "citations": turn.citations.iter().map(|c| c.path.clone()).collect::<Vec<_>>(),
            "relevant": relevant,
            "answer": turn.answer,
            "latency_ms": latencies.last().copied().unwrap_or(0.0),
        }));
        // Eval contacts are scaffolding: remove them so the audit only shows real conversations.
        agent.delete_contact(turn.contact)?;
    }
    latencies.sort_by(f64::total_cmp);
    let mut out = total.json();
    out["latency_p50_ms"] = json!(percentile(&latencies, 0.5));
    out["latency_p99_ms"] = json!(percentile(&latencies, 0.99));
    out["by_stage"] = by_stage.iter().map(|(k, v)| (k.clone(), v.json())).collect();
    out["confusion"] = json!(confusion);
    let cal = agent.calibration();
    let q =
        |v: &[f32], p: f32| v.get(((v.len().saturating_sub(1)) as f32 * p).round() as usize).copied().unwrap_or(0.0);
    out["calibration"] = json!({
        "domain_threshold": cal.domain_threshold(),
        "offtopic_p50": q(&cal.offtopic, 0.5), "offtopic_p90": q(&cal.offtopic, 0.9), "offtopic_p95": q(&cal.offtopic, 0.95),
        "customer_p10": q(&cal.customer, 0.1), "customer_p25": q(&cal.customer, 0.25), "customer_p50": q(&cal.customer, 0.5),
    });
    if json_out {
        out["records"] = json!(records);
        println!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    if verbose {
        for r in &records {
            println!("{}", serde_json::to_string_pretty(r)?);
        }
    }
    println!("questions           {}", all.len());
    for k in ["fact_recall", "citation_precision", "stage_accuracy", "idk_precision", "idk_recall"] {
        println!("{k:<19} {:.3}", out[k].as_f64().unwrap_or(0.0));
    }
    println!("latency_p50_ms      {:.1}", out["latency_p50_ms"].as_f64().unwrap_or(0.0));
    println!("latency_p99_ms      {:.1}", out["latency_p99_ms"].as_f64().unwrap_or(0.0));
    println!();
    println!("{:<12} {:>5} {:>6} {:>6} {:>6}", "stage", "n", "facts", "cites", "stage");
    for (s, t) in &by_stage {
        println!(
            "{s:<12} {:>5} {:>6.3} {:>6.3} {:>6.3}",
            t.questions,
            ratio(t.facts_found, t.facts_total),
            ratio(t.cited_relevant, t.cited_total),
            ratio(t.stage_ok, t.stage_total)
        );
    }
    println!();
    let cols = ["acquisition", "activation", "support", "expansion", "idk"];
    print!("{:<12}", "expected \\ decided");
    for c in cols {
        print!(" {c:>11}");
    }
    println!();
    for row in STAGES.iter().map(|s| s.to_string()).chain(std::iter::once("unlabelled".to_string())) {
        let Some(r) = confusion.get(&row) else { continue };
        print!("{row:<18}");
        for c in cols {
            print!(" {:>11}", r.get(c).copied().unwrap_or(0));
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn add(into: &mut Tally, t: &Tally) {
    into.questions += t.questions;
    into.facts_found += t.facts_found;
    into.facts_total += t.facts_total;
    into.cited_relevant += t.cited_relevant;
    into.cited_total += t.cited_total;
    into.stage_ok += t.stage_ok;
    into.stage_total += t.stage_total;
    into.idk_on_none += t.idk_on_none;
    into.idk_total += t.idk_total;
    into.none_total += t.none_total;
}
