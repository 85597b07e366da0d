//! The per-stage audit: conversations, answers, handoffs, "I don't know" answers, response times and
//! the questions left unanswered.

use super::*;

impl Agent {
    /// Per-stage audit: conversations, answers, handoffs, "I don't know" answers, response times and the
    /// questions left unanswered.
    pub fn audit(&self) -> Result<Audit> {
        let messages = self.memory.agent_messages(self.id())?;
        let handoffs = self.memory.handoffs(self.id())?;
        let mut stages = Vec::new();
        for stage in Stage::ALL {
            let answers: Vec<&MessageRecord> =
                messages.iter().filter(|m| m.role == Role::Assistant && m.stage == Some(stage)).collect();
            let conversations: HashSet<ConversationId> = answers.iter().map(|m| m.conversation).collect();
            let mut times: Vec<u32> = answers.iter().filter_map(|m| m.latency_ms).collect();
            times.sort_unstable();
            let pct = |p: f64| -> u32 {
                if times.is_empty() {
                    0
                } else {
                    times[((times.len() - 1) as f64 * p).round() as usize]
                }
            };
            let mut unanswered = Vec::new();
            for (i, m) in messages.iter().enumerate() {
                if m.role == Role::Assistant && m.idk && m.stage == Some(stage) {
                    if let Some(q) =
                        messages[..i].iter().rev().find(|q| q.role == Role::User && q.conversation == m.conversation)
                    {
                        unanswered.push(q.text.clone());
                    }
                }
            }
            unanswered.reverse();
            unanswered.truncate(20);
            // Conversations handed off (each once, however many handoffs it had), so the handoff and
            // resolution rates are shares of the stage's conversations.
            let handoff_count = handoffs
                .iter()
                .filter(|h| {
                    messages
                        .iter()
                        .rev()
                        .find(|m| m.conversation == h.conversation && m.role == Role::Assistant)
                        .and_then(|m| m.stage)
                        == Some(stage)
                })
                .map(|h| h.conversation)
                .collect::<HashSet<_>>()
                .len();
            stages.push(StageAudit {
                stage,
                conversations: conversations.len(),
                answers: answers.len(),
                handoffs: handoff_count,
                idk: answers.iter().filter(|m| m.idk).count(),
                response_p50_ms: pct(0.5),
                response_p90_ms: pct(0.9),
                unanswered,
            });
        }
        Ok(Audit {
            stages,
            contacts: self.memory.contacts(self.id())?.len(),
            leads: self.memory.leads(self.id())?.len(),
            open_handoffs: handoffs.iter().filter(|h| h.status == HandoffStatus::Open).count(),
        })
    }
}
