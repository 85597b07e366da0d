//! One customer message, answered: learn facts, check escalation rules, rewrite with the conversation's
//! context, retrieve, decide the stage, answer (extractive or LLM) or say "I don't know", add the stage's
//! next step, capture a lead or hand off. Every step lands in the turn's trace and in memory.

use super::*;

/// A qualification question is asked at most once in this many answers.
const QUALIFY_EVERY: usize = 3;

impl Agent {
    /// Answers `message` from `contact` in `conversation`, calling `on_delta` with the answer text as it
    /// is produced (sentence by sentence for the extractive answerer, token by token for an LLM).
    pub fn respond(
        &self,
        contact: ContactId,
        conversation: ConversationId,
        message: &str,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<Turn> {
        self.respond_until(contact, conversation, message, on_delta, &|| false)
    }

    /// [`Agent::respond`], given up with [`AgentError::Cancelled`] as soon as `cancelled` says nobody
    /// waits for the answer any more: checked before anything is stored, before the evidence is embedded,
    /// before the answer is written and between the pieces an LLM streams (whose connection is then
    /// closed). A turn given up after the message was stored leaves it in the conversation, unanswered.
    pub fn respond_until(
        &self,
        contact: ContactId,
        conversation: ConversationId,
        message: &str,
        on_delta: &mut dyn FnMut(&str),
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Turn> {
        let gone = || if cancelled() { Err(AgentError::Cancelled) } else { Ok(()) };
        let started = Instant::now();
        let message = message.trim();
        if message.is_empty() {
            return Err(AgentError::BadMessage { reason: "is empty".into() });
        }
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(AgentError::BadMessage {
                reason: format!(
                    "is {} characters, over the {MAX_MESSAGE_CHARS}-character limit",
                    message.chars().count()
                ),
            });
        }
        gone()?;
        let mut contact = self.contact_record(contact)?;
        let conv = self
            .memory
            .conversation(contact.id, conversation)?
            .ok_or_else(|| self.not_found("conversation", conversation))?;
        let history = self.memory.messages(conv.id)?;
        let user_msg = self.memory.add_message(&NewMessage {
            conversation: conv.id,
            role: Role::User,
            text: message.to_string(),
            stage: None,
            idk: false,
            latency_ms: None,
            citations: Vec::new(),
        })?;
        let mut events: Vec<String> = Vec::new();

        // 1. Facts, one qualification field at a time.
        let pending = self.pending_field(&history);
        let learned = qualify::extract_facts(message, pending);
        // An email typed into the chat is a claim, not an identity: it is recorded as this contact's fact
        // (and makes a lead), but never merges the visitor into the contact that owns the address, whose
        // memory only a verified identity unlocks (`Agent::identify`, called by the host site's signed
        // identity or the admin API).
        for (k, v) in &learned {
            self.memory.put_fact(contact.id, k, v, Some(user_msg))?;
            if k == "email" {
                events.push(format!("email claimed: {v} (recorded, not verified)"));
            }
        }
        let facts = self.memory.facts(contact.id)?;

        // 2. Rewrite, retrieve, decide the stage.
        let previous_user: Vec<String> =
            history.iter().filter(|m| m.role == Role::User).map(|m| m.text.clone()).collect();
        // Read the way the docs write: chat shorthand spelled out ("env vars in prod"), "plan" beside the
        // docs' own word for one ("package"); then a follow-up completed with its subject.
        let expanded = self.config.expansion.in_docs_words(&shorthand::expand(message));
        let rewritten = rewrite::rewrite(&expanded, &previous_user);
        let (hits, retrieved, qvec) = self.retrieve(&rewritten)?;
        let escalation = escalation::detect(message, &self.config.support);
        // The stage is read from the message as typed: the example bank is written the way customers type.
        let typed = rewrite::rewrite(message, &previous_user);
        let typed_vec = match self.kbs.first() {
            Some(kb) if typed != rewritten && !qvec.is_empty() => self.cache.embed(kb.as_ref(), &[typed])?.pop(),
            _ => None,
        };
        let intent_vec = typed_vec.as_deref().unwrap_or(&qvec);
        let (intent, nearest) =
            if intent_vec.is_empty() { ([0.25; 4], None) } else { self.router.classify(intent_vec) };
        let mut decision = stage::decide(intent, nearest, contact.lifecycle, &hits);
        let plan_names: Vec<String> = self.config.expansion.plans.iter().map(|p| p.name.clone()).collect();
        if extractive::asks_about_plan(&crate::sentences::words(message), &extractive::plan_words(&plan_names)) {
            decision.with_plan_mention();
        }
        let is_qualifying_answer = !learned.is_empty() && pending.is_some() && !message.contains('?');
        if is_qualifying_answer {
            decision.stage = Stage::Acquisition;
            decision.reason = format!("acquisition: an answer to the qualification question; {}", decision.reason);
        }
        if matches!(escalation, Some(EscalationReason::HumanRequested)) {
            decision.stage = Stage::Support;
            decision.reason = format!("support: the customer asked for a human; {}", decision.reason);
        }

        // 3. Evidence and confidence (embedding the candidate sentences is the turn's costly part).
        gone()?;
        let select_cfg = SelectConfig { max_units: self.config.max_sentences, plan_names, ..SelectConfig::default() };
        let selection = if qvec.is_empty() {
            Selection::default()
        } else {
            extractive::select(&rewritten, &qvec, &hits, self.kbs[0].as_ref(), &self.cache, &select_cfg)?
        };
        let threshold = self.config.confidence_threshold;
        // Terms the knowledge base never uses mean the question is about something it does not cover.
        let unknown_terms = self.vocabulary.unknown_terms(&expanded);
        let asked_terms = crate::sentences::content_terms(&expanded).len().max(1);
        let confidence =
            selection.confidence * (1.0 - UNKNOWN_TERM_PENALTY * unknown_terms.len() as f32 / asked_terms as f32);
        // Calibrated on this knowledge base: no better a match than off-topic questions reach here.
        let domain = match without_name(&rewritten, &self.config.product) {
            // The product's name is on every page, so it says nothing about whether the docs answer the
            // question ("who is the CEO of Acme"): the domain score is taken without it.
            Some(stripped) => {
                let v = self.kbs[0].embed(&[&stripped])?.pop().unwrap_or_default();
                self.best_match(&stripped, &v)?
            }
            None => domain_score(&hits),
        };
        let domain_threshold = self.calibration.domain_threshold();
        let mut idk = selection.evidence.is_empty() || confidence < threshold || domain < domain_threshold;
        // A request that resembles the built-in off-topic questions ("write me a poem about trains")
        // more than any customer message is not answered, however close its words come to the docs.
        let offtopic_lean = self.calibration.offtopic_lean(&qvec);
        idk |= offtopic_lean > crate::calibrate::OFFTOPIC_LEAN_LIMIT;
        // The answer says which plans include what was asked: what a plan unlocks is expansion's business
        // (unless the message answered the qualification question or asked for a human).
        let overridden = is_qualifying_answer || matches!(escalation, Some(EscalationReason::HumanRequested));
        if selection.plan_gated && !idk && !overridden {
            decision.with_plan_evidence();
        }

        // 4. The answer.
        gone()?;
        let mut citations: Vec<Citation> = Vec::new();
        let mut cited: Vec<CitedSource> = Vec::new();
        let mut unsupported = Vec::new();
        let mut backend = "extractive".to_string();
        let mut answer: String;
        let human_requested = matches!(escalation, Some(EscalationReason::HumanRequested));
        if human_requested {
            idk = false;
            answer = copy::HANDING_OFF.into();
            on_delta(&answer);
        } else if is_qualifying_answer {
            // A direct answer to our question ("about 40"): thank, don't search for it.
            idk = false;
            answer = copy::NOTED.into();
            on_delta(&answer);
        } else if idk {
            answer = copy::dont_know(&self.config.product);
            on_delta(&answer);
        } else if let Some(llm) = &self.llm {
            backend = format!("openai:{}", llm.model());
            let sources: Vec<&SearchHit> = hits.iter().take(5).collect();
            let prompt = self.prompt(&contact, &facts, decision.stage, &history, message, &sources);
            answer = llm.complete(&prompt, on_delta, cancelled)?;
            let texts: Vec<String> = sources.iter().map(|h| h.text.clone()).collect();
            let (used, flagged) = check_citations(&answer, &texts);
            unsupported = flagged;
            for n in used {
                let h = sources[n - 1];
                citations.push(Citation {
                    number: n,
                    path: h.path.clone(),
                    title: h.title.clone(),
                    url: h.url.clone(),
                });
                // A generated answer may rest on any of the chunk: keep the whole chunk as the quote.
                cited.push(cited_source(n, &retrieved[n - 1].kb, h, &h.text));
            }
        } else {
            let composed = compose::extractive(&selection, &hits, &retrieved, on_delta);
            answer = composed.answer;
            citations = composed.citations;
            cited = composed.cited;
        }

        // 5. Escalation: explicit rules, or repeated failure.
        let mut reason = escalation;
        if idk && reason.is_none() {
            let mut streak = 1u32;
            for m in history.iter().rev().filter(|m| m.role == Role::Assistant) {
                if m.idk {
                    streak += 1;
                } else {
                    break;
                }
            }
            if streak >= self.config.support.max_failures.max(1) {
                reason = Some(EscalationReason::RepeatedFailure(streak));
            }
        }

        // 6. The stage's next step.
        let mut next_step: Option<String> = None;
        if reason.is_none() && !idk {
            next_step = self.next_step(&contact, &facts, decision.stage, &history)?;
        }
        let mut handoff = None;
        if let Some(r) = &reason {
            if !human_requested {
                let note = copy::ALSO_HANDED_OFF;
                on_delta(&format!("\n\n{note}"));
                answer.push_str(&format!("\n\n{note}"));
            }
            let h = self.hand_off(&contact, conv.id, r, Some((message, user_msg)))?;
            events.push(format!("handoff {}: {}", h.id, h.reason));
            handoff = Some(h);
        }
        if let Some(step) = &next_step {
            on_delta(&format!("\n\n{step}"));
            answer.push_str(&format!("\n\n{step}"));
        }

        // 7. A lead: an email and one more qualification fact (or every field when no email is asked).
        let lead = self.maybe_lead(&contact)?;
        if let Some(l) = &lead {
            events.push(format!(
                "lead captured{}",
                l.webhook.as_ref().map(|w| format!(" (webhook {w})")).unwrap_or_default()
            ));
        }

        let latency_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
        let message_id = self.memory.add_message(&NewMessage {
            conversation: conv.id,
            role: Role::Assistant,
            text: answer.clone(),
            stage: Some(decision.stage),
            idk,
            latency_ms: Some(latency_ms),
            citations: cited,
        })?;
        self.note_in_summary(&mut contact, decision.stage, message, idk)?;

        let evidence = selection
            .evidence
            .iter()
            .map(|e| EvidenceTrace {
                citation: citations.iter().find(|c| c.path == hits[e.hit].path).map(|c| c.number).unwrap_or(0),
                text: e.text.clone(),
                score: e.score,
                similarity: e.similarity,
                overlap: e.overlap,
            })
            .collect();
        Ok(Turn {
            contact: contact.id,
            conversation: conv.id,
            message_id,
            answer,
            citations: if idk { Vec::new() } else { citations },
            stage: decision.stage,
            idk,
            next_step,
            handoff,
            lead,
            trace: Trace {
                rewritten_query: rewritten,
                stage: decision.stage,
                stage_reason: decision.reason,
                stage_scores: Stage::ALL.iter().map(|s| (*s, decision.scores[*s as usize])).collect(),
                intent_scores: Stage::ALL.iter().map(|s| (*s, decision.intent[*s as usize])).collect(),
                retrieved,
                evidence,
                confidence,
                threshold,
                domain_score: domain,
                domain_threshold,
                offtopic_lean,
                question_kind: selection.kind.map(|k| format!("{k:?}").to_lowercase()),
                unknown_terms,
                backend,
                unsupported,
                dropped_instructions: selection.dropped_instructions,
                facts_learned: learned,
                events,
                latency_ms,
            },
        })
    }

    /// The qualification field the agent asked for in its last message of this conversation.
    fn pending_field(&self, history: &[MessageRecord]) -> Option<&QualificationField> {
        let last = history.iter().rev().find(|m| m.role == Role::Assistant)?;
        self.config.acquisition.qualification.iter().find(|f| last.text.ends_with(&f.question))
    }

    fn all_agent_messages_of(&self, contact: ContactId) -> Result<Vec<MessageRecord>> {
        let mut out = Vec::new();
        for c in self.memory.conversations(contact)? {
            out.extend(self.memory.messages(c.id)?);
        }
        Ok(out)
    }

    fn next_step(
        &self,
        contact: &ContactRecord,
        facts: &[throughline_core::Fact],
        stage: Stage,
        history: &[MessageRecord],
    ) -> Result<Option<String>> {
        let known = |k: &str| facts.iter().any(|f| f.key == k);
        match stage {
            Stage::Acquisition => {
                // Qualify prospects only (never a signed-up or identified customer), at most once every
                // few answers — unless the customer just answered the previous question.
                let fields = &self.config.acquisition.qualification;
                let answers: Vec<&MessageRecord> = history.iter().filter(|m| m.role == Role::Assistant).collect();
                let recently_asked = answers
                    .iter()
                    .rev()
                    .take(QUALIFY_EVERY)
                    .any(|m| fields.iter().any(|f| m.text.contains(&f.question)));
                let just_answered = self.pending_field(history).is_some_and(|f| known(&f.key));
                if contact.lifecycle == Lifecycle::Prospect && (just_answered || !recently_asked) {
                    let said = self.all_agent_messages_of(contact.id)?;
                    let asked = |f: &QualificationField| {
                        said.iter().any(|m| m.role == Role::Assistant && m.text.contains(&f.question))
                    };
                    if let Some(f) = qualify::next_field(fields, &known, &asked) {
                        return Ok(Some(f.question.clone()));
                    }
                }
                let a = &self.config.acquisition;
                let cta = copy::call_to_action(a.signup_url.as_deref(), a.demo_url.as_deref());
                // A call to action once per conversation is enough.
                Ok(cta.filter(|c| !history.iter().any(|m| m.text.contains(c.as_str()))))
            }
            Stage::Activation => {
                let events = self.memory.events(contact.id)?;
                let (_, next) = onboarding_progress(&self.config.activation, &events);
                Ok(next
                    .map(|s| copy::next_onboarding_step(&s.title, s.doc.as_deref()))
                    .filter(|t| !history.iter().any(|m| m.text.contains(t.as_str()))))
            }
            Stage::Support => Ok(None),
            Stage::Expansion => {
                let plans = &self.config.expansion.plans;
                let current = facts.iter().find(|f| f.key == "plan").map(|f| f.value.clone());
                let idx = current.as_deref().and_then(|c| plans.iter().position(|p| p.name.eq_ignore_ascii_case(c)));
                let next = match idx {
                    Some(i) => plans.iter().skip(i + 1).find(|p| !p.prices.is_empty()),
                    None => None,
                };
                let text = match (next, &self.config.acquisition.pricing_url) {
                    (Some(p), url) => Some(format!(
                        "Upgrade path: the {} plan{}{}.",
                        p.name,
                        p.primary_price().map(|x| format!(" ({})", x.display())).unwrap_or_default(),
                        url.as_ref().map(|u| format!(", compared at {u}")).unwrap_or_default()
                    )),
                    (None, Some(u)) => Some(format!("Every plan is compared at {u}.")),
                    (None, None) => None,
                };
                Ok(text.filter(|t| !history.iter().any(|m| m.text.contains(t.as_str()))))
            }
        }
    }

    fn note_in_summary(&self, contact: &mut ContactRecord, stage: Stage, message: &str, idk: bool) -> Result<()> {
        let line: String = format!(
            "- [{stage}] {}{}",
            message.chars().take(120).collect::<String>(),
            if idk { " (unanswered)" } else { "" }
        );
        let mut lines: Vec<&str> = contact.summary.lines().collect();
        lines.push(&line);
        let keep = lines.len().saturating_sub(12);
        contact.summary = lines[keep..].join("\n");
        Ok(self.memory.update_contact(contact)?)
    }
}

/// `text` without the words of `name` (case-insensitive, whole words), when it contains them and
/// something else remains.
fn without_name(text: &str, name: &str) -> Option<String> {
    let name_words = crate::sentences::words(name);
    if name_words.is_empty() {
        return None;
    }
    let kept: Vec<&str> = text
        .split_whitespace()
        .filter(|w| {
            let bare = crate::sentences::words(w);
            !(bare.len() == 1 && name_words.iter().any(|n| n == &bare[0] || format!("{n}'s") == bare[0]))
        })
        .collect();
    let removed = kept.len() < text.split_whitespace().count();
    (removed && !crate::sentences::content_terms(&kept.join(" ")).is_empty()).then(|| kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::without_name;

    #[test]
    fn the_product_name_is_taken_out() {
        assert_eq!(without_name("is Acme going public?", "Acme").as_deref(), Some("is going public?"));
        assert_eq!(without_name("what's acme's stock price", "Acme").as_deref(), Some("what's stock price"));
        assert_eq!(without_name("how do I deploy", "Acme"), None);
        assert_eq!(without_name("acme", "Acme"), None);
    }
}
