//! FAQ data: question/answer pairs from JSON or CSV, one section (and so one chunk) per pair.
//!
//! JSON shapes accepted: an array of objects; an object holding such an array under `faq`, `faqs`,
//! `items`, `questions` or `entries`; or an object of named entries. An entry has a question
//! (`question`, `q`, `title`, or `questions` as a list of phrasings) and an answer (`answer`, `a`,
//! `text`, `body`). CSV needs a header with a question column and an answer column.

use serde_json::Value;
use throughline_core::{ExtractedDoc, PageType, Section};

use super::text::title_from_path;

const Q_KEYS: [&str; 3] = ["question", "q", "title"];
const A_KEYS: [&str; 5] = ["answer", "a", "text", "body", "content"];
const LIST_KEYS: [&str; 5] = ["faq", "faqs", "items", "questions", "entries"];

fn entry(v: &Value) -> Option<(String, Vec<String>, String)> {
    let o = v.as_object()?;
    let str_of = |keys: &[&str]| keys.iter().find_map(|k| o.get(*k).and_then(Value::as_str)).map(str::trim);
    let answer = str_of(&A_KEYS)?.to_string();
    let (question, variants) = match str_of(&Q_KEYS) {
        Some(q) => (q.to_string(), Vec::new()),
        None => {
            let list: Vec<String> = o
                .get("questions")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_string())
                .collect();
            let first = list.first()?.clone();
            (first, list.into_iter().skip(1).collect())
        }
    };
    if question.is_empty() || answer.is_empty() {
        return None;
    }
    Some((question, variants, answer))
}

fn doc(rel: &str, pairs: Vec<(String, Vec<String>, String)>) -> ExtractedDoc {
    let sections = pairs
        .into_iter()
        .map(|(q, variants, a)| {
            let mut text = String::new();
            if !variants.is_empty() {
                text.push_str("Also asked: ");
                text.push_str(&variants.join(" / "));
                text.push_str("\n\n");
            }
            text.push_str(&a);
            Section { heading_path: vec![q], text }
        })
        .collect();
    let title = title_from_path(rel);
    ExtractedDoc {
        title: if title.eq_ignore_ascii_case("faq") { "FAQ".into() } else { title },
        description: None,
        sections,
        one_chunk_per_section: true,
        page_type_hint: Some(PageType::Faq),
        links: Vec::new(),
    }
}

/// Parses FAQ JSON. The error says what shape was expected.
pub fn parse_faq_json(text: &str, rel: &str) -> Result<ExtractedDoc, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let items: Vec<&Value> = match &v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => match LIST_KEYS.iter().find_map(|k| o.get(*k).and_then(Value::as_array)) {
            Some(a) => a.iter().collect(),
            None => o.values().collect(),
        },
        _ => Vec::new(),
    };
    let pairs: Vec<_> = items.into_iter().filter_map(entry).collect();
    if pairs.is_empty() {
        return Err("JSON is not FAQ data: expected question/answer pairs (e.g. [{\"question\": \"...\", \"answer\": \"...\"}])".into());
    }
    Ok(doc(rel, pairs))
}

/// Parses FAQ CSV with a header row.
pub fn parse_faq_csv(text: &str, rel: &str) -> Result<ExtractedDoc, String> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = r.headers().map_err(|e| format!("not valid CSV: {e}"))?.clone();
    let find = |keys: &[&str]| headers.iter().position(|h| keys.contains(&h.trim().to_ascii_lowercase().as_str()));
    let (Some(qi), Some(ai)) = (find(&Q_KEYS), find(&A_KEYS)) else {
        return Err("CSV needs a header with a `question` column and an `answer` column".into());
    };
    let mut pairs = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("CSV row {}: {e}", i + 2))?;
        let q = rec.get(qi).unwrap_or("").trim().to_string();
        let a = rec.get(ai).unwrap_or("").trim().to_string();
        if !q.is_empty() && !a.is_empty() {
            pairs.push((q, Vec::new(), a));
        }
    }
    if pairs.is_empty() {
        return Err("CSV has no question/answer rows".into());
    }
    Ok(doc(rel, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        let d = parse_faq_json(
            r#"[{"question": "Is there a free plan?", "answer": "Yes, up to 5 monitors."}]"#,
            "faq.json",
        )
        .unwrap();
        assert_eq!(d.title, "FAQ");
        assert!(d.one_chunk_per_section);
        assert_eq!(d.sections[0].heading_path, vec!["Is there a free plan?".to_string()]);
        assert_eq!(d.sections[0].text, "Yes, up to 5 monitors.");
        // Named entries with several phrasings (the shape of many docs sites' FAQ data).
        let d = parse_faq_json(
            r#"{"bad-gateway": {"category": "general", "questions": ["Why Bad Gateway?", "App returns 502?"], "answer": "Set PORT."}}"#,
            "static/faq.json",
        )
        .unwrap();
        assert_eq!(d.sections[0].heading_path[0], "Why Bad Gateway?");
        assert!(d.sections[0].text.contains("App returns 502?"));
        let err = parse_faq_json(r#"{"name": "package", "version": "1.0"}"#, "package.json").unwrap_err();
        assert!(err.starts_with("JSON is not FAQ data"), "{err}");
        assert!(parse_faq_json("{", "x.json").unwrap_err().starts_with("not valid JSON"));
    }

    #[test]
    fn csv_pairs_and_errors() {
        let d = parse_faq_csv("Question,Answer\n\"Can I pay yearly?\",\"Yes, and save 17%.\"\n", "billing-faq.csv")
            .unwrap();
        assert_eq!(d.sections.len(), 1);
        assert_eq!(d.sections[0].text, "Yes, and save 17%.");
        assert_eq!(
            parse_faq_csv("a,b\n1,2\n", "x.csv").unwrap_err(),
            "CSV needs a header with a `question` column and an `answer` column"
        );
    }
}
