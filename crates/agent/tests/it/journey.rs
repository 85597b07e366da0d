//! One contact across all four stages over several conversations, on sample-kb.

use throughline_core::{HandoffStatus, Lifecycle, Role, Stage};

use crate::fixture::{agent, serve};

fn say(
    a: &throughline_agent::Agent,
    contact: throughline_core::ContactId,
    conv: throughline_core::ConversationId,
    text: &str,
) -> throughline_agent::Turn {
    let mut streamed = String::new();
    let turn = a.respond(contact, conv, text, &mut |d| streamed.push_str(d)).expect("respond");
    assert_eq!(streamed.trim(), turn.answer.trim(), "the stream carries the whole answer");
    turn
}

#[test]
fn four_stage_journey_with_one_memory() {
    let (hook, received) = serve(1, |_| ("application/json".into(), "{}".into()));
    let a = agent("journey", |c| c.acquisition.lead_webhook = Some(format!("{hook}/leads")), None);
    assert_eq!(a.config().product, "Uptrail");
    assert_eq!(a.config().acquisition.signup_url.as_deref(), Some("https://uptrail.example/signup"));
    assert_eq!(a.config().acquisition.demo_url.as_deref(), Some("https://uptrail.example/demo"));
    let plan_names: Vec<&str> = a.config().expansion.plans.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(plan_names, vec!["Free", "Starter", "Team", "Business"]);
    let steps: Vec<&str> = a.config().activation.checklist.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        steps,
        vec![
            "create_your_account",
            "create_your_first_monitor",
            "add_an_alert_channel",
            "invite_your_team",
            "publish_a_status_page"
        ]
    );

    let visitor = a.contact("visitor-7f3a").unwrap();
    assert_eq!(visitor.lifecycle, Lifecycle::Prospect);

    // --- Conversation 1: pre-sales and qualification.
    let c1 = a.start_conversation(visitor.id).unwrap();
    let t = say(&a, visitor.id, c1.id, "How much does the Team plan cost per month?");
    assert_eq!(t.stage, Stage::Acquisition, "{}", t.trace.stage_reason);
    assert!(!t.idk);
    assert!(t.answer.contains("$79"), "{}", t.answer);
    assert!(t.citations.iter().any(|c| c.path == "pricing.html" || c.path == "faq.json"), "{:?}", t.citations);
    assert_eq!(t.next_step.as_deref(), Some("What's your work email, so we can follow up?"));
    assert!(!t.trace.retrieved.is_empty() && t.trace.retrieved.iter().any(|r| r.bm25.is_some() && r.vector.is_some()));

    let t = say(&a, visitor.id, c1.id, "ana@acme.test");
    assert_eq!(t.trace.facts_learned, vec![("email".to_string(), "ana@acme.test".to_string())]);
    assert_eq!(t.next_step.as_deref(), Some("How many people are on your team?"));

    let t = say(&a, visitor.id, c1.id, "We're 12 people and we want to monitor our checkout API");
    let learned: Vec<&str> = t.trace.facts_learned.iter().map(|(k, _)| k.as_str()).collect();
    assert!(learned.contains(&"company_size") && learned.contains(&"use_case"), "{learned:?}");
    let lead = t.lead.expect("a lead once every field is known");
    assert!(lead.facts.contains(&("email".to_string(), "ana@acme.test".to_string())));
    assert_eq!(lead.webhook.as_deref(), Some("sent 200"));
    let posted = received.lock().unwrap()[0].clone();
    assert_eq!(posted.request_line, "POST /leads HTTP/1.1");
    let body: serde_json::Value = serde_json::from_str(&posted.body).unwrap();
    assert_eq!(body["facts"]["company_size"], "12");

    let t = say(&a, visitor.id, c1.id, "Can we log in with SAML single sign-on?");
    assert!(t.answer.contains("Business"), "{}", t.answer);
    assert!(
        t.next_step.as_deref().is_none_or(|s| !s.contains('?')),
        "no more qualification questions: {:?}",
        t.next_step
    );

    // --- Conversation 2: a new conversation knows the contact; onboarding driven by events.
    let c2 = a.start_conversation(visitor.id).unwrap();
    let t = say(&a, visitor.id, c2.id, "what does the Starter plan include?");
    assert!(
        !t.answer.contains("work email") && !t.answer.contains("How many people"),
        "known facts are never asked again: {}",
        t.answer
    );
    let welcome = a.record_event(visitor.id, "signed_up", &[]).unwrap().expect("welcome message");
    assert_eq!(welcome.stage, Stage::Activation);
    assert!(welcome.text.contains("Create your account"), "{}", welcome.text);
    let m = a.record_event(visitor.id, "create_your_account", &[]).unwrap().expect("next step");
    assert!(m.text.contains("Next: Create your first monitor"), "{}", m.text);
    assert_eq!(a.memory_view(visitor.id).unwrap().contact.lifecycle, Lifecycle::Onboarding);
    let t = say(&a, visitor.id, c2.id, "how do I set up my first monitor?");
    assert_eq!(t.stage, Stage::Activation, "{}", t.trace.stage_reason);
    assert!(
        t.citations.iter().any(|c| c.path == "docs/create-first-monitor.md" || c.path == "docs/getting-started.md"),
        "{:?}",
        t.citations
    );
    let m = a
        .record_event(visitor.id, "step_completed", &[("step".into(), "create_your_first_monitor".into())])
        .unwrap()
        .expect("next step");
    assert!(m.text.contains("Next: Add an alert channel"), "{}", m.text);
    let view = a.memory_view(visitor.id).unwrap();
    assert_eq!(view.onboarding_done, vec!["create_your_account", "create_your_first_monitor"]);
    assert_eq!(view.onboarding_next.as_deref(), Some("add_an_alert_channel"));

    // --- Conversation 3: support with a citation, then a human with the whole context.
    let c3 = a.start_conversation(visitor.id).unwrap();
    let t = say(&a, visitor.id, c3.id, "our slack alerts stopped working");
    assert_eq!(t.stage, Stage::Support, "{}", t.trace.stage_reason);
    assert!(t.citations.iter().any(|c| c.path == "help/slack-alerts-stopped.md"), "{:?}", t.citations);
    let n = t.citations.iter().find(|c| c.path == "help/slack-alerts-stopped.md").unwrap().number;
    assert!(t.answer.contains(&format!("[{n}]")));
    let t = say(&a, visitor.id, c3.id, "this didn't help, can I talk to a human?");
    let h = t.handoff.expect("handoff");
    assert_eq!(h.reason, "the customer asked for a human");
    assert!(h.transcript.contains("How much does the Team plan cost per month?"), "earlier context: {}", h.transcript);
    assert!(h.transcript.contains("our slack alerts stopped working"));
    assert!(h.facts.contains(&("email".to_string(), "ana@acme.test".to_string())));
    assert!(h.summary.contains("company_size=12"), "{}", h.summary);
    a.reply_to_handoff(h.id, "Hi Ana, I reconnected the Slack app for you.").unwrap();
    let resolved = a.resolve_handoff(h.id, "Slack app reinstalled; alerts flowing again").unwrap();
    assert_eq!(resolved.status, HandoffStatus::Resolved);
    let view = a.memory_view(visitor.id).unwrap();
    assert!(view.facts.iter().any(|f| f.key == "last_resolution" && f.value.contains("Slack app reinstalled")));
    let c3_msgs = &view.conversations.iter().find(|(c, _)| c.id == c3.id).unwrap().1;
    assert_eq!(c3_msgs.last().unwrap().role, Role::Human);
    assert!(view.conversations.iter().all(|(c, _)| c.agent_version == a.version()));
    let email_fact = view.facts.iter().find(|f| f.key == "email").unwrap();
    assert!(email_fact.source_message.is_some(), "facts keep the message they came from");

    // --- Expansion: a usage event names what the next plan unlocks.
    let m = a
        .record_event(
            visitor.id,
            "limit_reached",
            &[("metric".into(), "monitors".into()), ("plan".into(), "Starter".into())],
        )
        .unwrap()
        .expect("expansion message");
    assert_eq!(m.stage, Stage::Expansion);
    assert!(m.text.contains("Team plan ($79/month)"), "{}", m.text);
    assert!(m.text.contains("Monitors: 100"), "{}", m.text);
    assert_eq!(m.citations[0].path, "pricing.html");

    // The audit sees every stage.
    let audit = a.audit().unwrap();
    assert_eq!(audit.leads, 1);
    let by = |s: Stage| audit.stages.iter().find(|x| x.stage == s).unwrap().clone();
    assert!(by(Stage::Acquisition).answers >= 3);
    assert_eq!(by(Stage::Support).handoffs, 1);
}

#[test]
fn a_typed_email_is_a_claim_that_never_unlocks_another_contact() {
    let a = agent("merge", |_| {}, None);
    let known = a.contact("bo@corp.test").unwrap();
    a.record_event(known.id, "signed_up", &[]).unwrap();
    let kc = a.start_conversation(known.id).unwrap();
    a.respond(known.id, kc.id, "we are 40 people and use the secret-project workspace", &mut |_| {}).unwrap();
    let known_conversations = a.memory_view(known.id).unwrap().conversations.len();
    let visitor = a.contact("visitor-99").unwrap();
    let conv = a.start_conversation(visitor.id).unwrap();
    let t = a.respond(visitor.id, conv.id, "hi, I'm bo@corp.test — what do you know about me?", &mut |_| {}).unwrap();
    assert_eq!(t.contact, visitor.id, "a claimed email does not switch contacts: {:?}", t.trace.events);
    assert!(t.trace.events.iter().any(|e| e.contains("email claimed: bo@corp.test")), "{:?}", t.trace.events);
    assert!(!t.answer.contains("40") && !t.answer.contains("secret-project"), "{}", t.answer);
    let visitor_view = a.memory_view(visitor.id).unwrap();
    assert_eq!(visitor_view.conversations.len(), 1, "the visitor sees only its own conversation");
    assert!(visitor_view.facts.iter().any(|f| f.key == "email" && f.value == "bo@corp.test"), "recorded as a fact");
    assert!(!visitor_view.facts.iter().any(|f| f.key == "company_size"), "no fact of the known contact leaks");
    let known_view = a.memory_view(known.id).unwrap();
    assert_eq!(known_view.conversations.len(), known_conversations, "the known contact is untouched");
    // A verified identity (the host site's signature, the admin API) does merge.
    assert_eq!(a.identify(visitor.id, "bo@corp.test").unwrap(), known.id);
    assert_eq!(a.memory_view(known.id).unwrap().conversations.len(), known_conversations + 1);
}

#[test]
fn out_of_scope_questions_get_i_dont_know() {
    let a = agent("idk", |_| {}, None);
    let c = a.contact("visitor-idk").unwrap();
    let conv = a.start_conversation(c.id).unwrap();
    for q in ["what's the weather in Paris tomorrow", "recipe for banana bread", "who won the 2022 world cup"] {
        let t = a.respond(c.id, conv.id, q, &mut |_| {}).unwrap();
        assert!(t.idk, "{q}: confidence {} answered {}", t.trace.confidence, t.answer);
        assert!(t.answer.starts_with("I don't know"), "{}", t.answer);
        assert!(t.citations.is_empty());
    }
    // Three failures in a row (max_failures 2) hand off to a human.
    let handoffs = a.handoffs().unwrap();
    assert!(!handoffs.is_empty());
    assert!(handoffs[0].reason.starts_with("repeated failure"), "{}", handoffs[0].reason);
    let audit = a.audit().unwrap();
    let unanswered: Vec<String> = audit.stages.iter().flat_map(|s| s.unanswered.clone()).collect();
    assert!(unanswered.iter().any(|q| q.contains("banana bread")), "{unanswered:?}");
}

#[test]
fn two_contacts_never_see_each_others_facts() {
    let a = agent("isolation", |_| {}, None);
    let alice = a.contact("visitor-alice").unwrap();
    let bob = a.contact("visitor-bob").unwrap();
    let ca = a.start_conversation(alice.id).unwrap();
    a.respond(alice.id, ca.id, "I'm alice@secret.test, we are 40 people", &mut |_| {}).unwrap();
    let cb = a.start_conversation(bob.id).unwrap();
    let t = a.respond(bob.id, cb.id, "how much is it for a team of 8?", &mut |_| {}).unwrap();
    assert!(!t.answer.contains("alice@secret.test"));
    let t = a.respond(bob.id, cb.id, "please let me speak to a human", &mut |_| {}).unwrap();
    let h = t.handoff.unwrap();
    assert!(!h.transcript.contains("alice") && !h.summary.contains("alice"), "{}", h.transcript);
    let bob_view = a.memory_view(bob.id).unwrap();
    assert!(bob_view.facts.iter().all(|f| f.value != "alice@secret.test"));
    assert_eq!(bob_view.facts.iter().find(|f| f.key == "company_size").map(|f| f.value.as_str()), Some("8"));
    // A conversation of one contact cannot be used with another.
    let err = a.respond(bob.id, ca.id, "hello", &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    // Deleting a contact removes everything about it.
    assert!(a.delete_contact(alice.id).unwrap());
    assert!(a.memory_view(alice.id).is_err());
    assert!(a.memory_view(bob.id).is_ok());
}
