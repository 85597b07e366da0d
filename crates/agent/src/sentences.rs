//! Splitting retrieved chunks into answer units (sentences and list items) and the term handling the
//! answerer, the query rewriter and the stage decision share (lowercase word terms, stop words, a light
//! suffix stemmer so "alerts" meets "alert").

use std::collections::HashSet;

/// Words too common to carry meaning in a question.
const STOP: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "did", "do", "does", "doing", "for", "from", "get", "got", "had", "has", "have", "how", "i", "if",
    "in", "into", "is", "it", "its", "it's", "just", "me", "my", "no", "not", "of", "on", "or", "our", "please", "so",
    "some", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "up", "us", "use",
    "using", "was", "we", "what", "whats", "what's", "when", "where", "which", "who", "why", "will", "with", "would",
    "you", "your", "yours", "i'm", "im", "want", "need", "there's", "should", "way", "tell", "know", "like", "one",
    "only", "still", "even", "though", "really", "thing", "things",
];

/// Whether `w` (lowercase) is a stop word.
pub fn is_stop(w: &str) -> bool {
    STOP.contains(&w)
}

/// A crude English stem: enough to match plural and -ing/-ed forms.
pub fn stem(w: &str) -> String {
    let w = w.trim_matches('\'');
    for suffix in ["ing", "ies", "ed", "es", "s"] {
        if w.len() > suffix.len() + 3 && w.ends_with(suffix) {
            let base = &w[..w.len() - suffix.len()];
            return if suffix == "ies" { format!("{base}y") } else { base.to_string() };
        }
    }
    w.to_string()
}

/// Lowercase word tokens (letters, digits, `_`, `'`, `-` inside words).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\'' || c == '-'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '-').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Stemmed content terms of a text (stop words removed), deduplicated in order.
pub fn content_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    words(text).into_iter().filter(|w| !is_stop(w)).map(|w| stem(&w)).filter(|w| seen.insert(w.clone())).collect()
}

/// One answer unit: a sentence or a list item of a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The text, trimmed.
    pub text: String,
    /// Whether it was a list item (kept as a bullet in answers).
    pub list_item: bool,
}

/// Splits chunk text into sentences and list items. Lines starting with `-`, `*`, `•` or `1.` are list
/// items; table rows (`a | b`) are kept whole; other lines are split at sentence ends.
pub fn split_units(text: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(item) = list_item(line) {
            if item.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
                out.push(Unit { text: item.to_string(), list_item: true });
            }
            continue;
        }
        if line.contains(" | ") {
            out.push(Unit { text: line.to_string(), list_item: false });
            continue;
        }
        for s in split_sentences(line) {
            if s.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
                out.push(Unit { text: s, list_item: false });
            }
        }
    }
    out
}

fn list_item(line: &str) -> Option<&str> {
    for marker in ["- ", "* ", "• ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some(rest.trim());
        }
    }
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && digits <= 2 {
        let rest = &line[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r.trim());
        }
    }
    None
}

/// Sentence ends: `.`, `!`, `?` followed by a space and an uppercase letter, digit or quote; common
/// abbreviations and decimals are not ends.
fn split_sentences(line: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let (pos, c) = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let Some(&(_, next)) = chars.get(i + 1) else { continue };
        if next != ' ' {
            continue;
        }
        let Some(&(_, after)) = chars.get(i + 2) else { continue };
        if !(after.is_uppercase() || after.is_ascii_digit() || after == '"' || after == '`' || after == '*') {
            continue;
        }
        let before = &line[start..pos];
        let last_word = before.rsplit(' ').next().unwrap_or("");
        if matches!(last_word.to_lowercase().as_str(), "e.g" | "i.e" | "etc" | "vs" | "inc" | "mr" | "ms" | "dr" | "no")
        {
            continue;
        }
        let end = pos + c.len_utf8();
        out.push(line[start..end].trim().to_string());
        start = end;
    }
    let rest = line[start..].trim();
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_split_sentences_and_items() {
        let u =
            split_units("Go to Settings. Click **Invite**, e.g. for Bob. Then wait.\n- Admin can do all\n2. Save it");
        let texts: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["Go to Settings.", "Click **Invite**, e.g. for Bob.", "Then wait.", "Admin can do all", "Save it"]
        );
        assert!(u[3].list_item);
    }

    #[test]
    fn terms_drop_stop_words_and_stem() {
        assert_eq!(content_terms("How do I invite my users?"), vec!["invite", "user"]);
        assert_eq!(stem("alerts"), "alert");
        assert_eq!(stem("policies"), "policy");
    }
}
