//! Qualification: facts learned from what a contact writes (email, team size, use case, or the answer to
//! the field the agent just asked for), and which field to ask next — one at a time, never one the
//! contact already gave, never one already asked.

use std::sync::LazyLock;

use regex::Regex;

use crate::config::QualificationField;

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}\b").expect("valid regex"));
static TEAM_SIZE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:team\s+of|we\s+are|we're|we\s+have|there\s+are|about|around|roughly)?\s*(?P<n>\d{1,6})\s*
           (?:people|persons|engineers|employees|developers|devs|users|seats|staff|person|members|of\s+us)\b
         |\bteam\s+of\s+(?P<m>\d{1,6})\b",
    )
    .expect("valid regex")
});
static USE_CASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:we\s+(?:want|need|would\s+like|'d\s+like)\s+to|looking\s+to|in\s+order\s+to|we\s+use\s+it\s+to)\s+(?P<u>[^.?!]{6,160})")
        .expect("valid regex")
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(\d{1,6})\b").expect("valid regex"));

/// Facts stated in `message`. `asked` is the field the agent asked for in its previous message, whose
/// answer may be a bare value ("12", "monitoring our checkout API").
pub fn extract_facts(message: &str, asked: Option<&QualificationField>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(m) = EMAIL.find(message) {
        out.push(("email".into(), m.as_str().to_lowercase()));
    }
    if let Some(c) = TEAM_SIZE.captures(message) {
        if let Some(n) = c.name("n").or_else(|| c.name("m")) {
            out.push(("company_size".into(), n.as_str().to_string()));
        }
    }
    if let Some(c) = USE_CASE.captures(message) {
        out.push(("use_case".into(), c["u"].trim().to_string()));
    }
    if let Some(field) = asked {
        if !out.iter().any(|(k, _)| k == &field.key) {
            let text = message.trim();
            let value = match field.key.as_str() {
                "company_size" => NUMBER.captures(text).map(|c| c[1].to_string()),
                "email" => None,
                // A direct answer, not a new question.
                _ if !text.ends_with('?') && text.len() <= 300 && !text.is_empty() => {
                    Some(text.trim_end_matches('.').to_string())
                }
                _ => None,
            };
            if let Some(v) = value {
                out.push((field.key.clone(), v));
            }
        }
    }
    out
}

/// The next field to ask: the first one the contact has not given and the agent has not asked before.
pub fn next_field<'a>(
    fields: &'a [QualificationField],
    known: &dyn Fn(&str) -> bool,
    asked_before: &dyn Fn(&QualificationField) -> bool,
) -> Option<&'a QualificationField> {
    fields.iter().find(|f| !known(&f.key) && !asked_before(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_free_text_and_direct_answers() {
        let f = extract_facts("We're a team of 8 engineers, mail me at Ana@Acme.io", None);
        assert_eq!(f, vec![("email".into(), "ana@acme.io".into()), ("company_size".into(), "8".into())]);
        let asked = QualificationField { key: "company_size".into(), question: "How many?".into() };
        assert_eq!(extract_facts("about 40", Some(&asked)), vec![("company_size".to_string(), "40".to_string())]);
        let asked = QualificationField { key: "use_case".into(), question: "What for?".into() };
        assert_eq!(
            extract_facts("Monitoring our checkout API.", Some(&asked)),
            vec![("use_case".to_string(), "Monitoring our checkout API".to_string())]
        );
        assert!(extract_facts("what does it cost?", Some(&asked)).is_empty());
    }
}
