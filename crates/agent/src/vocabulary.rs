//! The knowledge base's vocabulary: every stemmed term of its chunks. A question whose content terms the
//! knowledge base never uses ("discord", "android", "weather") is about something it does not cover,
//! whatever the embedding similarity says; terms one typo away from a known term ("pasword", "slak")
//! count as known.

use std::collections::HashSet;

use throughline_core::{CoreError, Retriever};

use crate::sentences::content_terms;

/// Stemmed terms of a knowledge base.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    terms: HashSet<String>,
}

impl Vocabulary {
    /// Reads every chunk (title and headings included) of `kb`.
    pub fn of(kb: &dyn Retriever) -> Result<Self, CoreError> {
        let mut terms = HashSet::new();
        for c in kb.chunk_texts()? {
            terms.extend(content_terms(&c.title));
            for h in &c.heading_path {
                terms.extend(content_terms(h));
            }
            terms.extend(content_terms(&c.text));
        }
        Ok(Self { terms })
    }

    /// Adds another knowledge base's terms.
    pub fn extend(&mut self, other: Vocabulary) {
        self.terms.extend(other.terms);
    }

    /// Whether the vocabulary is empty (no knowledge base read).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `term` (stemmed) or a term one edit away is known.
    pub fn knows(&self, term: &str) -> bool {
        if self.terms.contains(term) || term.chars().all(|c| c.is_ascii_digit()) {
            return true;
        }
        let n = term.chars().count();
        n >= 4
            && self.terms.iter().any(|t| {
                let m = t.chars().count();
                m + 1 >= n && m <= n + 1 && within_one_edit(term, t)
            })
    }

    /// The content terms of `question` the knowledge base does not know.
    pub fn unknown_terms(&self, question: &str) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        content_terms(question).into_iter().filter(|t| !self.knows(t)).collect()
    }
}

/// Levenshtein distance ≤ 1 (one insertion, deletion or substitution), or one transposition.
fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long.iter()).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        let tail_eq = short[prefix + 1..] == long[prefix + 1..];
        let transposed = prefix + 1 < short.len()
            && short[prefix] == long[prefix + 1]
            && short[prefix + 1] == long[prefix]
            && short[prefix + 2..] == long[prefix + 2..];
        tail_eq || transposed
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_typo_is_still_known() {
        let v = Vocabulary { terms: ["password", "slack", "alert"].iter().map(|s| s.to_string()).collect() };
        assert!(v.knows("pasword"));
        assert!(v.knows("slak"));
        assert!(v.knows("salck"));
        assert!(!v.knows("discord"));
        assert_eq!(v.unknown_terms("discord alerts"), vec!["discord"]);
    }
}
