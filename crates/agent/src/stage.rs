//! The stage decision: which of the four stages a message belongs to, from three signals — the intent
//! cues of the message, the page types of the best evidence, and the contact's lifecycle — with a
//! human-readable reason listing what counted.

use throughline_core::{Lifecycle, PageType, SearchHit, Stage};

use crate::sentences::words;

/// A decided stage and why.
#[derive(Debug, Clone, PartialEq)]
pub struct StageDecision {
    /// The stage.
    pub stage: Stage,
    /// What counted, e.g. `intent: "how much" → acquisition; evidence: pricing.html (pricing)`.
    pub reason: String,
}

const CUES: &[(Stage, f32, &[&str])] = &[
    (
        Stage::Acquisition,
        1.0,
        &[
            "what is",
            "how much",
            "price",
            "pricing",
            "cost",
            "trial",
            "free",
            "does it",
            "do you",
            "can it",
            "compare",
            "vs",
            "versus",
            "discount",
            "demo",
            "sign up",
            "signup",
            "buy",
            "is there",
            "support for",
            "which plans",
            "plans",
            "monthly",
            "yearly",
            "annual",
            "alternative",
            "competitor",
            "integrate with",
        ],
    ),
    (
        Stage::Activation,
        1.0,
        &[
            "how do i",
            "how to",
            "set up",
            "setup",
            "configure",
            "connect",
            "create",
            "add",
            "install",
            "getting started",
            "onboarding",
            "checklist",
            "first",
            "integration",
            "example",
            "generate",
            "invite",
            "point",
            "where do i",
            "verify",
            "role",
            "api",
            "token",
            "terraform",
            "step",
        ],
    ),
    (
        Stage::Support,
        1.2,
        &[
            "not working",
            "doesn't",
            "does not",
            "isn't",
            "error",
            "fails",
            "failed",
            "failing",
            "broken",
            "can't",
            "cannot",
            "unable",
            "stopped",
            "keeps",
            "still",
            "lost",
            "reset",
            "forgot",
            "declined",
            "invalid",
            "wrong",
            "down",
            "problem",
            "issue",
            "help",
            "cancel",
            "refund",
            "money back",
            "delete",
            "invoice",
            "update",
            "change",
            "owner",
            "left the company",
            "too many",
            "support hours",
            "locked",
            "anymore",
            "401",
            "403",
            "404",
            "500",
            "but",
        ],
    ),
    (
        Stage::Expansion,
        1.3,
        &[
            "upgrade",
            "limit",
            "limits",
            "more than",
            "next plan",
            "which plan",
            "unlock",
            "ran out",
            "run out",
            "extra",
            "higher",
            "exceeded",
            "reached",
            "need more",
            "get more",
            "keep more",
            "going from",
            "add more",
            "mid-month",
            "rate limit",
            "429",
            "another",
            "paused",
            "15 second",
            "30-second",
            "audit log",
        ],
    ),
];

fn evidence_stage(page_type: PageType, lifecycle: Lifecycle) -> Option<Stage> {
    match page_type {
        PageType::Pricing => Some(if lifecycle == Lifecycle::Prospect { Stage::Acquisition } else { Stage::Expansion }),
        PageType::Faq => Some(Stage::Acquisition),
        PageType::Docs => Some(Stage::Activation),
        PageType::Help => Some(Stage::Support),
        PageType::Legal | PageType::Blog | PageType::Changelog | PageType::Other => None,
    }
}

/// Decides the stage of `message` (already rewritten with context) for a contact at `lifecycle`,
/// given the retrieved hits (best first).
pub fn decide(message: &str, lifecycle: Lifecycle, hits: &[SearchHit]) -> StageDecision {
    let lower = format!(" {} ", words(message).join(" "));
    let mut scores = [0f32; 4];
    let mut reasons: Vec<String> = Vec::new();
    for (stage, weight, cues) in CUES {
        let found: Vec<&str> =
            cues.iter().copied().filter(|c| lower.contains(&format!(" {} ", words(c).join(" ")))).collect();
        if !found.is_empty() {
            scores[*stage as usize] += weight * found.len().min(2) as f32;
            reasons.push(format!("intent {:?} → {stage}", found.iter().take(2).collect::<Vec<_>>()));
        }
    }
    for (rank, h) in hits.iter().take(3).enumerate() {
        if let Some(s) = evidence_stage(h.page_type, lifecycle) {
            let w = [0.9, 0.5, 0.3][rank];
            scores[s as usize] += w;
            if rank == 0 {
                reasons.push(format!("top evidence {} ({}) → {s}", h.path, h.page_type));
            }
        }
    }
    let prior = match lifecycle {
        Lifecycle::Prospect => Stage::Acquisition,
        Lifecycle::Onboarding => Stage::Activation,
        Lifecycle::Customer => Stage::Support,
    };
    scores[prior as usize] += 0.4;
    reasons.push(format!("contact is a {} → {prior}", lifecycle.as_str()));
    let stage = Stage::ALL
        .into_iter()
        .max_by(|a, b| scores[*a as usize].total_cmp(&scores[*b as usize]).then(b.cmp(a)))
        .unwrap_or(prior);
    StageDecision {
        stage,
        reason: format!(
            "{stage} (scores: acquisition {:.1}, activation {:.1}, support {:.1}, expansion {:.1}); {}",
            scores[0],
            scores[1],
            scores[2],
            scores[3],
            reasons.join("; ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_cues_decide_without_evidence() {
        assert_eq!(decide("how much is the team plan", Lifecycle::Prospect, &[]).stage, Stage::Acquisition);
        assert_eq!(decide("slack alerts stopped working", Lifecycle::Customer, &[]).stage, Stage::Support);
        assert_eq!(
            decide("we need more than 100 monitors, upgrade?", Lifecycle::Customer, &[]).stage,
            Stage::Expansion
        );
        let d = decide("how do I connect slack", Lifecycle::Onboarding, &[]);
        assert_eq!(d.stage, Stage::Activation);
        assert!(d.reason.contains("onboarding"), "{}", d.reason);
    }
}
