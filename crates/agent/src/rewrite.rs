//! Query rewriting with conversation context: a follow-up that leans on earlier turns ("how much is
//! it?", "and on Business?") gets the subject it refers to from the previous user messages, so
//! retrieval sees a self-contained question. A self-contained question is left alone.

use crate::sentences::{content_terms, words};

const REFERRING: &[&str] = &["it", "that", "this", "they", "them", "those", "there", "one", "plan", "same"];

/// Rewrites `message` with the previous user messages of the conversation (oldest first). Returns the
/// message unchanged when it stands on its own.
pub fn rewrite(message: &str, previous_user_messages: &[String]) -> String {
    let Some(last) = previous_user_messages.last() else { return message.to_string() };
    let w = words(message);
    let terms = content_terms(message);
    let refers = w.iter().any(|x| REFERRING.contains(&x.as_str()));
    let starts_as_follow_up =
        matches!(w.first().map(String::as_str), Some("and" | "what" | "how" | "also" | "but")) && w.len() <= 6;
    if !(terms.len() <= 2 || (refers && terms.len() <= 4) || (starts_as_follow_up && terms.len() <= 3)) {
        return message.to_string();
    }
    // Carry the earlier subject: content words of the last user message(s) not already in this one.
    let mut carried: Vec<String> = Vec::new();
    for prev in previous_user_messages.iter().rev().take(2) {
        for t in words(prev) {
            if !crate::sentences::is_stop(&t)
                && !w.contains(&t)
                && !carried.contains(&t)
                && t.chars().any(char::is_alphabetic)
            {
                carried.push(t);
            }
        }
        if !carried.is_empty() && prev == last {
            break;
        }
    }
    if carried.is_empty() {
        return message.to_string();
    }
    format!("{} ({})", message.trim(), carried.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_get_the_subject() {
        let prev = vec!["Tell me about the Team plan".to_string()];
        assert_eq!(rewrite("how much is it?", &prev), "how much is it? (team plan)");
        assert_eq!(
            rewrite("How do I verify webhook signatures in Python?", &prev),
            "How do I verify webhook signatures in Python?"
        );
        assert_eq!(rewrite("how much is it?", &[]), "how much is it?");
    }
}
