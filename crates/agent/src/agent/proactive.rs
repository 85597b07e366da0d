//! Product events: onboarding progress (a checklist step done, a signup) and usage triggers (a cap
//! reached), and the proactive message each one makes the agent send.

use super::*;

impl Agent {
    /// Records a product event for `contact` (`signed_up`, a checklist step id such as
    /// `create_your_first_monitor`, `step_completed` with `step=ID`, `limit_reached` with `metric=…`,
    /// `plan=…` …). Returns the message the agent sends because of it, if any: the next onboarding step, or
    /// what the next plan unlocks.
    pub fn record_event(
        &self,
        contact: ContactId,
        name: &str,
        properties: &[(String, String)],
    ) -> Result<Option<ProactiveMessage>> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(AgentError::BadEvent {
                name: name.to_string(),
                reason: "names are 1 to 64 letters, digits, '_', '-' or '.'".into(),
            });
        }
        let mut contact = self.contact_record(contact)?;
        let before = self.memory.events(contact.id)?;
        self.memory.add_event(contact.id, name, properties)?;
        let after = self.memory.events(contact.id)?;
        if let Some((_, plan)) = properties.iter().find(|(k, _)| k == "plan") {
            self.memory.put_fact(contact.id, "plan", plan, None)?;
        }
        let event = after.last().cloned();
        let checklist = &self.config.activation.checklist;
        let (done_before, _) = onboarding_progress(&self.config.activation, &before);
        let (done, next) = onboarding_progress(&self.config.activation, &after);
        let completed_step = event
            .as_ref()
            .and_then(|e| checklist.iter().find(|s| completes(s, e) && !done_before.iter().any(|d| d.id == s.id)));
        let signed_up = matches!(name, "signed_up" | "signup" | "account_created" | "trial_started");

        // Lifecycle.
        let mut lifecycle = contact.lifecycle;
        if (signed_up || completed_step.is_some()) && lifecycle == Lifecycle::Prospect {
            lifecycle = Lifecycle::Onboarding;
        }
        if !checklist.is_empty() && done.len() == checklist.len() {
            lifecycle = Lifecycle::Customer;
        }
        if matches!(name, "subscribed" | "upgraded" | "plan_changed") {
            lifecycle = Lifecycle::Customer;
        }
        if lifecycle != contact.lifecycle {
            contact.lifecycle = lifecycle;
            self.memory.update_contact(&contact)?;
        }

        let step_citation = |doc: &Option<String>| {
            doc.as_ref()
                .map(|d| vec![Citation { number: 1, path: d.clone(), title: d.clone(), url: None }])
                .unwrap_or_default()
        };
        let (stage, text, citations) = if let Some(step) = completed_step {
            match next {
                Some(n) => (
                    Stage::Activation,
                    copy::step_done(&step.title, done.len(), checklist.len(), &n.title, n.doc.as_deref()),
                    step_citation(&n.doc),
                ),
                None => (Stage::Activation, copy::checklist_done(&step.title), Vec::new()),
            }
        } else if signed_up && !done.is_empty() && next.is_none() {
            return Ok(None);
        } else if signed_up {
            match next {
                Some(n) => (
                    Stage::Activation,
                    copy::welcome(&self.config.product, &n.title, n.doc.as_deref()),
                    step_citation(&n.doc),
                ),
                None => return Ok(None),
            }
        } else if self.config.expansion.triggers.iter().any(|t| t.event == name) {
            let facts = self.memory.facts(contact.id)?;
            let known_plan = facts.iter().find(|f| f.key == "plan").map(|f| f.value.clone());
            match expansion_offer(&self.config.expansion.plans, properties, known_plan.as_deref()) {
                Some(offer) => {
                    let mut text = offer.text.clone();
                    if let Some(u) = &self.config.acquisition.pricing_url {
                        text.push_str(&format!(" Compare plans at {u}."));
                    }
                    let citations = vec![Citation {
                        number: 1,
                        path: offer.next.source_path.clone(),
                        title: "Pricing".into(),
                        url: self.config.acquisition.pricing_url.clone(),
                    }];
                    (Stage::Expansion, text, citations)
                }
                None => return Ok(None),
            }
        } else {
            return Ok(None);
        };
        let conversation = match self.memory.conversations(contact.id)?.pop() {
            Some(c) => c,
            None => self.memory.start_conversation(self.id(), contact.id, self.version())?,
        };
        let message_id = self.memory.add_message(&NewMessage {
            conversation: conversation.id,
            role: Role::Proactive,
            text: text.clone(),
            stage: Some(stage),
            idk: false,
            latency_ms: None,
            citations: citations.iter().map(|c| config_citation(&self.config.knowledge_bases, c)).collect(),
        })?;
        Ok(Some(ProactiveMessage { conversation: conversation.id, message_id, stage, text, citations }))
    }
}
