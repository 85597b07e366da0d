//! Every sentence the agent says in its own words rather than quoting a source: handoff notices,
//! "I don't know", calls to action, next steps and proactive messages. Kept in one place so the voice
//! stays consistent and a future localisation has one file to translate.

/// The answer when the customer asks for a human.
pub(super) const HANDING_OFF: &str =
    "I'm handing this conversation to a teammate, with everything we've discussed so far. They'll reply here.";

/// The answer to a reply to one of our qualification questions.
pub(super) const NOTED: &str = "Thanks, noted.";

/// Appended when an answer also opened a handoff.
pub(super) const ALSO_HANDED_OFF: &str =
    "I've also passed this to a teammate, who can see our conversation and will follow up here.";

/// The honest answer below the confidence threshold.
pub(super) fn dont_know(product: &str) -> String {
    format!(
        "I don't know — I couldn't find this in the {product} knowledge base, and I'd rather not guess. Would you like me to connect you with a human teammate?"
    )
}

/// A pre-sales call to action from the configured signup and demo links.
pub(super) fn call_to_action(signup: Option<&str>, demo: Option<&str>) -> Option<String> {
    match (signup, demo) {
        (Some(s), Some(d)) => Some(format!("You can start a free trial at {s} or book a demo at {d}.")),
        (Some(s), None) => Some(format!("You can start a free trial at {s}.")),
        (None, Some(d)) => Some(format!("You can book a demo at {d}.")),
        (None, None) => None,
    }
}

/// The next onboarding step, linking the page that explains it.
pub(super) fn next_onboarding_step(title: &str, doc: Option<&str>) -> String {
    format!("Next onboarding step: {title}{}.", see(doc))
}

/// " (see PATH)" when a step has a page.
pub(super) fn see(doc: Option<&str>) -> String {
    doc.map(|d| format!(" (see {d})")).unwrap_or_default()
}

/// A checklist step was completed and another one follows.
pub(super) fn step_done(step: &str, done: usize, total: usize, next: &str, doc: Option<&str>) -> String {
    format!("Nice work — \"{step}\" is done ({done} of {total}). Next: {next}{}.", see(doc))
}

/// The last checklist step was completed.
pub(super) fn checklist_done(step: &str) -> String {
    format!("Nice work — \"{step}\" is done, and so is the whole onboarding checklist.")
}

/// The first message after a signup.
pub(super) fn welcome(product: &str, first: &str, doc: Option<&str>) -> String {
    format!("Welcome to {product}! First step: {first}{}.", see(doc))
}

/// The link after an extractive answer: the page the answer quotes first, to read in full.
pub(super) fn read_more(title: &str, link: &str) -> String {
    format!("Read more: {title} ({link})")
}
