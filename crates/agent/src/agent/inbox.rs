//! What humans act on: leads (captured once the contact can be followed up — an email — and has said
//! one more thing the agent qualifies on, such as a team size; or, when the agent asks for no email, once
//! every qualification field is known; the lead's facts grow as the contact gives more), handoffs with the
//! whole context, human replies and resolutions, and everything remembered about a contact.

use super::*;

/// The qualification fields that make a contact reachable.
const CONTACT_FIELDS: [&str; 2] = ["email", "phone"];

/// Whether the known qualification facts (`known` ⊆ `fields`) make a lead: a way to follow up plus one
/// more fact (or every field, when there is no other) when the agent asks for a way to follow up;
/// otherwise every field.
fn qualifies(fields: &[QualificationField], known: &[(String, String)]) -> bool {
    let asks_contact = fields.iter().any(|f| CONTACT_FIELDS.contains(&f.key.as_str()));
    let reachable = known.iter().any(|(k, _)| CONTACT_FIELDS.contains(&k.as_str()));
    if asks_contact {
        reachable && (known.len() >= 2 || known.len() == fields.len())
    } else {
        known.len() == fields.len()
    }
}

impl Agent {
    /// Captures the contact's lead when its qualification facts make one (returned only the first
    /// time, which also calls the webhook); a lead captured earlier gets the facts learned since.
    pub(super) fn maybe_lead(&self, contact: &ContactRecord) -> Result<Option<LeadRecord>> {
        let fields = &self.config.acquisition.qualification;
        if fields.is_empty() {
            return Ok(None);
        }
        let facts = self.memory.facts(contact.id)?;
        let values: Vec<(String, String)> = fields
            .iter()
            .filter_map(|f| facts.iter().find(|x| x.key == f.key).map(|x| (x.key.clone(), x.value.clone())))
            .collect();
        if !qualifies(fields, &values) {
            return Ok(None);
        }
        if let Some(earlier) = self.memory.leads(self.id())?.into_iter().find(|l| l.contact == contact.id) {
            if earlier.facts != values {
                self.memory.save_lead(&LeadRecord { facts: values, ..earlier })?;
            }
            return Ok(None);
        }
        let webhook = self.config.acquisition.lead_webhook.as_ref().map(|url| {
            let body = json!({
                "type": "lead",
                "agent": self.name(),
                "contact": contact.id.to_string(),
                "facts": values.iter().cloned().collect::<BTreeMap<_, _>>(),
            });
            webhook::post_json(url, &body, WEBHOOK_TIMEOUT, self.network)
        });
        let lead = LeadRecord { agent: self.id(), contact: contact.id, facts: values, webhook, created_at: now() };
        self.memory.save_lead(&lead)?;
        Ok(Some(lead))
    }

    fn transcript(&self, contact: ContactId) -> Result<String> {
        let mut out = String::new();
        for (i, c) in self.memory.conversations(contact)?.iter().enumerate() {
            out.push_str(&format!("--- conversation {} ({})\n", i + 1, c.id));
            for m in self.memory.messages(c.id)? {
                out.push_str(&format!("{}: {}\n", m.role.as_str(), m.text.replace('\n', " ")));
            }
        }
        Ok(out)
    }

    pub(super) fn hand_off(
        &self,
        contact: &ContactRecord,
        conversation: ConversationId,
        reason: &EscalationReason,
        last: Option<(&str, i64)>,
    ) -> Result<HandoffRecord> {
        let facts: Vec<(String, String)> =
            self.memory.facts(contact.id)?.into_iter().map(|f| (f.key, f.value)).collect();
        let mut transcript = self.transcript(contact.id)?;
        if let Some((text, _)) = last {
            if !transcript.contains(text) {
                transcript.push_str(&format!("user: {text}\n"));
            }
        }
        let facts_line = if facts.is_empty() {
            "no facts known".to_string()
        } else {
            facts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
        };
        let summary = format!(
            "{} contact ({facts_line}). Handed off because {reason}.{}{}",
            contact.lifecycle.as_str(),
            last.map(|(t, _)| format!(" Last message: \"{t}\".")).unwrap_or_default(),
            if contact.summary.is_empty() { String::new() } else { format!("\nHistory:\n{}", contact.summary) }
        );
        let mut h = HandoffRecord {
            id: HandoffId::derive(conversation, nanos()),
            agent: self.id(),
            contact: contact.id,
            conversation,
            reason: reason.to_string(),
            summary,
            transcript,
            facts,
            status: HandoffStatus::Open,
            resolution: None,
            webhook: None,
            created_at: now(),
        };
        if let Some(url) = &self.config.support.handoff_webhook {
            let body = json!({
                "type": "handoff",
                "agent": self.name(),
                "handoff": h.id.to_string(),
                "contact": contact.id.to_string(),
                "reason": h.reason,
                "summary": h.summary,
                "transcript": h.transcript,
                "facts": h.facts.iter().cloned().collect::<BTreeMap<_, _>>(),
            });
            h.webhook = Some(webhook::post_json(url, &body, WEBHOOK_TIMEOUT, self.network));
        }
        self.memory.save_handoff(&h)?;
        Ok(h)
    }

    /// Everything remembered about `contact`.
    pub fn memory_view(&self, contact: ContactId) -> Result<MemoryView> {
        let record = self.contact_record(contact)?;
        let mut conversations = Vec::new();
        for c in self.memory.conversations(contact)? {
            let msgs = self.memory.messages(c.id)?;
            conversations.push((c, msgs));
        }
        let events = self.memory.events(contact)?;
        let (done, next) = onboarding_progress(&self.config.activation, &events);
        Ok(MemoryView {
            contact: record,
            facts: self.memory.facts(contact)?,
            conversations,
            onboarding_done: done.iter().map(|s| s.id.clone()).collect(),
            onboarding_next: next.map(|s| s.id.clone()),
            events,
            leads: self.memory.leads(self.id())?.into_iter().filter(|l| l.contact == contact).collect(),
            handoffs: self.memory.handoffs(self.id())?.into_iter().filter(|h| h.contact == contact).collect(),
        })
    }

    /// Deletes `contact` and everything about it (facts, conversations, messages, events, leads, handoffs).
    pub fn delete_contact(&self, contact: ContactId) -> Result<bool> {
        Ok(self.memory.delete_contact(self.id(), contact)?)
    }

    /// The agent's leads, newest first.
    pub fn leads(&self) -> Result<Vec<LeadRecord>> {
        Ok(self.memory.leads(self.id())?)
    }

    /// The agent's handoffs, newest first.
    pub fn handoffs(&self) -> Result<Vec<HandoffRecord>> {
        Ok(self.memory.handoffs(self.id())?)
    }

    /// A human's reply to a handoff, added to the conversation it came from. Returns the message id.
    pub fn reply_to_handoff(&self, handoff: HandoffId, text: &str) -> Result<i64> {
        let h = self.memory.handoff(self.id(), handoff)?.ok_or_else(|| self.not_found("handoff", handoff))?;
        if text.trim().is_empty() {
            return Err(AgentError::BadMessage { reason: "the reply is empty".into() });
        }
        Ok(self.memory.add_message(&NewMessage {
            conversation: h.conversation,
            role: Role::Human,
            text: text.trim().to_string(),
            stage: Some(Stage::Support),
            idk: false,
            latency_ms: None,
            citations: Vec::new(),
        })?)
    }

    /// Resolves a handoff; the resolution is written into the contact's memory (a `last_resolution` fact
    /// and the running summary) so later conversations know it.
    pub fn resolve_handoff(&self, handoff: HandoffId, resolution: &str) -> Result<HandoffRecord> {
        let mut h = self.memory.handoff(self.id(), handoff)?.ok_or_else(|| self.not_found("handoff", handoff))?;
        let resolution = resolution.trim();
        if resolution.is_empty() {
            return Err(AgentError::BadMessage { reason: "the resolution is empty".into() });
        }
        h.status = HandoffStatus::Resolved;
        h.resolution = Some(resolution.to_string());
        self.memory.save_handoff(&h)?;
        self.memory.put_fact(h.contact, "last_resolution", resolution, None)?;
        if let Some(mut c) = self.memory.contact(self.id(), h.contact)? {
            c.summary = format!("{}\n- [support] resolved by a human: {resolution}", c.summary).trim().to_string();
            self.memory.update_contact(&c)?;
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str) -> QualificationField {
        QualificationField { key: key.into(), question: format!("{key}?") }
    }

    fn known(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_email_and_one_more_fact_make_a_lead_and_without_an_email_field_every_field_does() {
        let with_email = [field("email"), field("company_size"), field("use_case")];
        assert!(qualifies(&with_email, &known(&[("email", "dana@acme.io"), ("company_size", "12")])));
        assert!(qualifies(&with_email, &known(&[("email", "dana@acme.io"), ("use_case", "status pages")])));
        assert!(!qualifies(&with_email, &known(&[("email", "dana@acme.io")])), "an email alone is a contact");
        assert!(!qualifies(&with_email, &known(&[("company_size", "12"), ("use_case", "status pages")])));
        assert!(qualifies(&[field("email")], &known(&[("email", "dana@acme.io")])));
        let without = [field("company_size"), field("use_case")];
        assert!(!qualifies(&without, &known(&[("company_size", "12")])));
        assert!(qualifies(&without, &known(&[("company_size", "12"), ("use_case", "status pages")])));
    }
}
