//! Retrieval evaluation: the query file format of `throughline eval` and the metrics nDCG@10, Recall@10,
//! Recall@50 and MRR@10 over ranked document ids.
//!
//! A query line is `{"id": "q1", "question": "...", "relevant": {"path": 2, "other": 1}}`; `relevant` may
//! also be a list of ids (grade 1 each) or a list of `{"path": "...", "grade": 2}` objects. Optional
//! `stage` and `answer_facts` are kept for answer evaluation. Queries without relevant documents are
//! skipped by retrieval metrics.

use std::collections::HashMap;

use serde_json::Value;

/// One evaluation query.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalQuery {
    /// Query id.
    pub id: String,
    /// The question as a user would type it.
    pub question: String,
    /// Graded relevant document ids (grade > 0).
    pub relevant: HashMap<String, u32>,
    /// Expected lifecycle stage (`acquisition`, `activation`, `support`, `expansion`, `none`), if labelled.
    pub stage: Option<String>,
    /// Strings a correct answer must contain.
    pub answer_facts: Vec<String>,
}

/// A query file that could not be read, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct EvalParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Normalises a document id so `help/a.md`, `/help/a.md` and `/help/a/` compare equal.
pub fn normalize_id(id: &str) -> String {
    id.trim().trim_matches('/').to_string()
}

fn parse_relevant(v: Option<&Value>) -> Result<HashMap<String, u32>, String> {
    let mut out = HashMap::new();
    let grade = |g: &Value| -> Result<u32, String> {
        g.as_u64().map(|x| x as u32).ok_or_else(|| format!("grade {g} is not a non-negative integer"))
    };
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, g) in map {
                out.insert(normalize_id(k), grade(g)?);
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => {
                        out.insert(normalize_id(s), 1);
                    }
                    Value::Object(o) => {
                        let path = o
                            .get("path")
                            .or_else(|| o.get("id"))
                            .and_then(Value::as_str)
                            .ok_or("a relevant object needs a \"path\"")?;
                        let g = match o.get("grade") {
                            Some(g) => grade(g)?,
                            None => 1,
                        };
                        out.insert(normalize_id(path), g);
                    }
                    other => return Err(format!("relevant entry {other} is neither a path nor an object")),
                }
            }
        }
        Some(other) => return Err(format!("\"relevant\" must be an object or a list, not {other}")),
    }
    out.retain(|_, g| *g > 0);
    Ok(out)
}

/// Parses a JSONL query file. Blank lines are skipped.
pub fn parse_queries(text: &str) -> Result<Vec<EvalQuery>, EvalParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = |reason: String| EvalParseError { line: line_no, reason };
        let v: Value = serde_json::from_str(line).map_err(|e| err(format!("not JSON: {e}")))?;
        let question = v
            .get("question")
            .or_else(|| v.get("query"))
            .and_then(Value::as_str)
            .ok_or_else(|| err("missing \"question\"".into()))?
            .to_string();
        let id = match v.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => format!("line{line_no}"),
        };
        let relevant = parse_relevant(v.get("relevant")).map_err(err)?;
        let stage = v.get("stage").and_then(Value::as_str).map(str::to_string);
        let answer_facts = v
            .get("answer_facts")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        out.push(EvalQuery { id, question, relevant, stage, answer_facts });
    }
    Ok(out)
}

/// Metrics of one query.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueryMetrics {
    /// Normalised discounted cumulative gain at 10 (gain `2^grade - 1`).
    pub ndcg10: f64,
    /// Share of relevant documents in the top 10.
    pub recall10: f64,
    /// Share of relevant documents in the top 50.
    pub recall50: f64,
    /// Reciprocal rank of the first relevant document within the top 10 (0 if none).
    pub mrr10: f64,
}

/// Scores a ranking (document ids, best first) against graded relevance.
pub fn score(ranked: &[String], relevant: &HashMap<String, u32>) -> QueryMetrics {
    let ranked: Vec<String> = ranked.iter().map(|r| normalize_id(r)).collect();
    let gain = |g: u32| (2f64.powi(g as i32)) - 1.0;
    let dcg: f64 = ranked
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, d)| relevant.get(d).map(|g| gain(*g)).unwrap_or(0.0) / ((i + 2) as f64).log2())
        .sum();
    let mut grades: Vec<u32> = relevant.values().copied().collect();
    grades.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = grades.iter().take(10).enumerate().map(|(i, g)| gain(*g) / ((i + 2) as f64).log2()).sum();
    let recall = |k: usize| {
        if relevant.is_empty() {
            return 0.0;
        }
        ranked.iter().take(k).filter(|d| relevant.contains_key(*d)).count() as f64 / relevant.len() as f64
    };
    let mrr10 =
        ranked.iter().take(10).position(|d| relevant.contains_key(d)).map(|p| 1.0 / (p + 1) as f64).unwrap_or(0.0);
    QueryMetrics {
        ndcg10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
        recall10: recall(10),
        recall50: recall(50),
        mrr10,
    }
}

/// Mean of per-query metrics.
pub fn mean(all: &[QueryMetrics]) -> QueryMetrics {
    if all.is_empty() {
        return QueryMetrics::default();
    }
    let n = all.len() as f64;
    QueryMetrics {
        ndcg10: all.iter().map(|m| m.ndcg10).sum::<f64>() / n,
        recall10: all.iter().map(|m| m.recall10).sum::<f64>() / n,
        recall50: all.iter().map(|m| m.recall50).sum::<f64>() / n,
        mrr10: all.iter().map(|m| m.mrr10).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_relevant_formats_parse() {
        let text = r#"{"id": "q1", "question": "a?", "relevant": {"/help/a.md": 2, "b.md": 1}, "stage": "support", "answer_facts": ["$79"]}

{"id": 2, "question": "b?", "relevant": ["x.md", "y.md"]}
{"question": "c?", "relevant": [{"path": "z.md", "grade": 2}, {"path": "w.md"}]}
{"id": "q4", "question": "weather?", "relevant": {}, "stage": "none"}"#;
        let q = parse_queries(text).unwrap();
        assert_eq!(q.len(), 4);
        assert_eq!(q[0].relevant.get("help/a.md"), Some(&2));
        assert_eq!(q[0].answer_facts, vec!["$79".to_string()]);
        assert_eq!(q[1].id, "2");
        assert_eq!(q[1].relevant.get("y.md"), Some(&1));
        assert_eq!(q[2].id, "line4");
        assert_eq!(q[2].relevant.get("z.md"), Some(&2));
        assert_eq!(q[2].relevant.get("w.md"), Some(&1));
        assert!(q[3].relevant.is_empty());
        assert_eq!(q[3].stage.as_deref(), Some("none"));
    }

    #[test]
    fn bad_lines_name_their_line() {
        let err = parse_queries("{\"question\": \"ok\"}\n{nope").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("line 2: not JSON"));
        let err = parse_queries("{\"id\": \"a\"}").unwrap_err();
        assert_eq!(err.to_string(), "line 1: missing \"question\"");
    }

    #[test]
    fn metrics_match_hand_computed_values() {
        let rel: HashMap<String, u32> = [("a".to_string(), 2), ("b".to_string(), 1)].into_iter().collect();
        // Perfect ranking.
        let m = score(&["a".into(), "b".into(), "c".into()], &rel);
        assert!((m.ndcg10 - 1.0).abs() < 1e-12);
        assert_eq!((m.recall10, m.mrr10), (1.0, 1.0));
        // b first, a third: DCG = 1/log2(2) + 3/log2(4) = 2.5; IDCG = 3 + 1/log2(3).
        let m = score(&["b".into(), "x".into(), "a".into()], &rel);
        let idcg = 3.0 + 1.0 / 3f64.log2();
        assert!((m.ndcg10 - 2.5 / idcg).abs() < 1e-12);
        assert_eq!(m.mrr10, 1.0);
        // Nothing relevant in the top 10, one found at rank 11.
        let mut ranked: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
        ranked.push("a".into());
        let m = score(&ranked, &rel);
        assert_eq!((m.ndcg10, m.recall10, m.mrr10), (0.0, 0.0, 0.0));
        assert_eq!(m.recall50, 0.5);
    }
}
