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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unit {
    /// The text, trimmed.
    pub text: String,
    /// Whether it was a list item (kept as a bullet in answers).
    pub list_item: bool,
    /// For a numbered list item, its number.
    pub number: Option<u32>,
    /// Which paragraph or list of the chunk it belongs to (consecutive items share it).
    pub block: usize,
    /// The previous sentence of the same paragraph, when there is one.
    pub previous: Option<String>,
    /// A shell command from a code block, or a line of a short snippet (quoted as code).
    pub code: bool,
    /// A line of a short non-shell code block (a variable, a config line): never an answer of its own,
    /// only quoted after the sentence that introduces it ("…set this variable:").
    pub snippet: bool,
}

/// Most lines of a non-shell code block quoted as a snippet.
const MAX_SNIPPET_LINES: usize = 3;

/// Words that open a sentence leaning on the one before it ("Similarly, …", "This means …").
const DEPENDENT_OPENERS: &[&str] = &[
    "similarly",
    "however",
    "also",
    "additionally",
    "furthermore",
    "moreover",
    "likewise",
    "otherwise",
    "instead",
    "therefore",
    "thus",
    "hence",
    "this",
    "these",
    "that",
    "those",
    "it",
    "they",
    "them",
    "its",
    "their",
    "then",
    "but",
    "and",
    "or",
    "so",
    "here",
    "there",
    "such",
    "both",
    "either",
    "neither",
    "alternatively",
    "in addition",
    "as a result",
    "for this reason",
    "in this case",
    "in that case",
    "as mentioned",
    "to do this",
    "to do so",
    "to do that",
    "as such",
    "the above",
    "the following",
    "once",
    "after that",
    "afterwards",
    "next",
    "finally",
    "again",
    "still",
    "yet",
    "he",
    "she",
];

/// Whether a sentence starts by leaning on the previous one (a pronoun or connective opener), so it
/// cannot be the first sentence an answer quotes on its own.
pub fn is_dependent(sentence: &str) -> bool {
    let lower = sentence.trim_start_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
    let opener = DEPENDENT_OPENERS.iter().any(|o| {
        lower.starts_with(o) && lower[o.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '-')
    });
    // A short sentence whose subject or object is a pronoun says nothing without the sentence naming
    // it ("You can ignore them for now.", "Set it to true.").
    let w = words(&lower);
    opener || (w.len() <= SHORT_PRONOUN_WORDS && w.iter().any(|x| PRONOUNS.contains(&x.as_str())))
}

/// Pronouns that point back to something an earlier sentence named.
const PRONOUNS: &[&str] = &["it", "its", "they", "them", "their", "these", "those"];

/// Longest sentence (in words) that a pronoun makes dependent.
const SHORT_PRONOUN_WORDS: usize = 8;

/// A bare "Yes." / "No." (or "Yes," "No —") opening that answers a question the reader did not ask:
/// returns the rest of the sentence, which stands on its own.
pub fn strip_yes_no(sentence: &str) -> Option<&str> {
    for w in ["Yes", "No", "yes", "no"] {
        if let Some(rest) = sentence.strip_prefix(w) {
            let rest = rest.trim_start_matches(['.', ',', '!', ' ', '—', '–', '-']);
            if rest.len() < sentence.len() - w.len() && rest.chars().next().is_some_and(char::is_uppercase) {
                return Some(rest);
            }
        }
    }
    None
}

/// Splits chunk text into sentences and list items. Lines starting with `-`, `*`, `•` or `1.` are list
/// items; table rows (`a | b`) are kept whole; other lines are split at sentence ends. A code block (a
/// `(lang)` line, as the loaders write it, up to the next blank line) is not prose and yields no unit.
pub fn split_units(text: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut block = 0usize;
    let mut in_list = false;
    // Inside a code block: Some(true) for a shell block, whose short lines are commands worth quoting.
    let mut in_code: Option<bool> = None;
    // Lines of the non-shell code block being read: a snippet if it stays short.
    let mut snippet: Vec<String> = Vec::new();
    let flush = |snippet: &mut Vec<String>, out: &mut Vec<Unit>, block: usize| {
        if !snippet.is_empty() && snippet.len() <= MAX_SNIPPET_LINES && snippet.iter().all(|l| l.len() <= 120) {
            out.extend(snippet.drain(..).map(|text| Unit {
                text,
                block,
                code: true,
                snippet: true,
                ..Unit::default()
            }));
        }
        snippet.clear();
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            flush(&mut snippet, &mut out, block);
            block += 1;
            in_list = false;
            in_code = None;
            continue;
        }
        if let Some(shell) = in_code {
            if shell && line.len() <= 100 && !line.starts_with('#') && line.chars().any(char::is_alphabetic) {
                let text = line.trim_start_matches("$ ").to_string();
                out.push(Unit { text, block, code: true, ..Unit::default() });
            } else if !shell {
                snippet.push(line.to_string());
            }
            continue;
        }
        if is_code_tag(line) {
            let lang = line[1..line.len() - 1].to_ascii_lowercase();
            in_code = Some(matches!(lang.as_str(), "bash" | "sh" | "shell" | "console" | "zsh" | "powershell" | "cmd"));
            block += 1;
            continue;
        }
        if let Some((item, number)) = list_item(line) {
            if !in_list {
                block += 1;
                in_list = true;
            }
            if item.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
                out.push(Unit { text: item.to_string(), list_item: true, number, block, ..Unit::default() });
            }
            continue;
        }
        if in_list {
            block += 1;
            in_list = false;
        }
        if line.contains(" | ") {
            out.push(Unit { text: line.to_string(), block, ..Unit::default() });
            continue;
        }
        let mut previous: Option<String> = None;
        for s in split_sentences(line) {
            if s.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
                out.push(Unit { text: s.clone(), block, previous: previous.take(), ..Unit::default() });
                previous = Some(s);
            }
        }
        block += 1;
    }
    flush(&mut snippet, &mut out, block);
    out
}

/// The `(lang)` line a loader writes before a fenced code block.
fn is_code_tag(line: &str) -> bool {
    line.len() <= 24
        && line.starts_with('(')
        && line.ends_with(')')
        && line[1..line.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_' | '.'))
}

fn list_item(line: &str) -> Option<(&str, Option<u32>)> {
    for marker in ["- ", "* ", "• ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some((rest.trim(), None));
        }
    }
    let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && digits <= 2 {
        let rest = &line[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((r.trim(), line[..digits].parse().ok()));
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
    fn dependent_openers_are_recognised() {
        assert!(is_dependent("Similarly, the Pro plan includes more."));
        assert!(is_dependent("This means your deploy waits."));
        assert!(is_dependent("It is billed monthly."));
        assert!(!is_dependent("Items are billed monthly."));
        assert!(
            is_dependent("To do this, make a history query with limit=1."),
            "the purpose is in the previous sentence"
        );
        assert!(!is_dependent("To do anything else, open the dashboard."));
        assert!(is_dependent("You can ignore them for now."), "a short sentence about a pronoun");
        assert!(!is_dependent("You can run migrations and collect static files for them before every deploy."));
        assert!(!is_dependent("Thisbe is a name."));
        assert_eq!(strip_yes_no("No. The Hobby plan is $5 a month."), Some("The Hobby plan is $5 a month."));
        assert_eq!(strip_yes_no("Nothing changes."), None);
        let u = split_units("Plans are monthly. This means you pay each month.\n\n1. Open it\n2. Click it");
        assert_eq!(u[1].previous.as_deref(), Some("Plans are monthly."));
        assert_eq!((u[2].number, u[3].number), (Some(1), Some(2)));
        assert_eq!(u[2].block, u[3].block);
        assert_ne!(u[1].block, u[2].block);
        let u = split_units(
            "Install it:\n(bash)\nnpm install ably\n\nSet:\n(env)\nKEY=1\n\n(js)\na();\nb();\nc();\nd();\n\nThen run it.",
        );
        let texts: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["Install it:", "npm install ably", "Set:", "KEY=1", "Then run it."],
            "a long snippet is dropped"
        );
        assert!(u[1].code && !u[1].snippet && !u[0].code);
        assert!(u[3].code && u[3].snippet);
    }

    #[test]
    fn terms_drop_stop_words_and_stem() {
        assert_eq!(content_terms("How do I invite my users?"), vec!["invite", "user"]);
        assert_eq!(stem("alerts"), "alert");
        assert_eq!(stem("policies"), "policy");
    }
}
