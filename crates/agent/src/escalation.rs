//! Escalation rules: when a conversation goes to a human. The contact asks for one, the message touches a
//! sensitive topic (refund, cancellation, legal, security — configurable), the tone is clearly negative,
//! or the agent failed to answer several times in a row. Low confidence on its own produces an honest
//! "I don't know" with an offer of a human; the repeated-failure rule turns that into a handoff.

use std::sync::LazyLock;

use regex::Regex;

use crate::config::SupportConfig;

/// Why a conversation was handed off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationReason {
    /// The contact asked for a person.
    HumanRequested,
    /// A sensitive topic (its configured name).
    SensitiveTopic(String),
    /// Clearly negative sentiment.
    NegativeSentiment,
    /// This many "I don't know" answers in a row.
    RepeatedFailure(u32),
}

impl std::fmt::Display for EscalationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EscalationReason::HumanRequested => f.write_str("the customer asked for a human"),
            EscalationReason::SensitiveTopic(t) => write!(f, "sensitive topic: {t}"),
            EscalationReason::NegativeSentiment => f.write_str("negative sentiment"),
            EscalationReason::RepeatedFailure(n) => write!(f, "repeated failure: {n} unanswered questions in a row"),
        }
    }
}

static HUMAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)\b(?:talk|speak|chat|connect\s+me|put\s+me\s+through)\s+(?:to|with)\s+(?:a\s+|an\s+|some\s+|your\s+)?
              (?:human|person|real\s+person|agent|someone|somebody|representative|rep|support\s+team|sales\s+team|engineer)\b
         |\b(?:human|real\s+person|live\s+agent)\s*(?:please|now|!)
         |\bescalate\s+(?:this|my)\b",
    )
    .expect("valid regex")
});

const NEGATIVE: &[&str] = &[
    "terrible",
    "awful",
    "useless",
    "ridiculous",
    "furious",
    "unacceptable",
    "worst",
    "fed up",
    "wtf",
    "scam",
    "garbage",
    "horrible",
    "pathetic",
    "disgusted",
    "angry",
    "frustrating",
    "frustrated",
    "infuriating",
    "annoying",
    "annoyed",
    "upset",
    "disappointed",
    "disappointing",
    "sick of",
    "tired of",
    "this sucks",
    "fed up with",
    "waste of time",
    "waste of money",
    "not acceptable",
];

/// Whether the contact asks for a human.
pub fn asks_for_human(message: &str) -> bool {
    HUMAN.is_match(message)
}

/// The first escalation rule `message` triggers (repeated failure is decided by the caller, which knows
/// the conversation).
pub fn detect(message: &str, cfg: &SupportConfig) -> Option<EscalationReason> {
    if asks_for_human(message) {
        return Some(EscalationReason::HumanRequested);
    }
    let lower = message.to_lowercase();
    for (topic, words) in &cfg.sensitive_topics {
        if words.iter().any(|w| contains_phrase(&lower, &w.to_lowercase())) {
            return Some(EscalationReason::SensitiveTopic(topic.clone()));
        }
    }
    if cfg.escalate_on_negative_sentiment && NEGATIVE.iter().any(|w| contains_phrase(&lower, w)) {
        return Some(EscalationReason::NegativeSentiment);
    }
    None
}

/// Whole-word phrase match.
fn contains_phrase(haystack: &str, phrase: &str) -> bool {
    haystack.match_indices(phrase).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_on_their_signals_only() {
        let cfg = SupportConfig::default();
        assert_eq!(detect("Can I talk to a human please?", &cfg), Some(EscalationReason::HumanRequested));
        assert_eq!(detect("I want a refund now", &cfg), Some(EscalationReason::SensitiveTopic("refund".into())));
        assert_eq!(detect("this is useless", &cfg), Some(EscalationReason::NegativeSentiment));
        // Issue 13: a frustrated customer is escalated.
        assert_eq!(detect("this is really frustrating", &cfg), Some(EscalationReason::NegativeSentiment));
        assert_eq!(detect("honestly I'm sick of this", &cfg), Some(EscalationReason::NegativeSentiment));
        let calm = SupportConfig { escalate_on_negative_sentiment: false, ..SupportConfig::default() };
        assert_eq!(detect("this is really frustrating", &calm), None);
        assert_eq!(detect("how do I invite a teammate", &cfg), None);
        assert_eq!(detect("refunded? prefund", &cfg), None);
    }
}
