//! Answers that quoted an old version of a page, as the API (and `throughline stale-answers --json`) shows
//! them.

use serde::Serialize;
use throughline_core::StaleAnswer;
use utoipa::ToSchema;

/// The pages of a knowledge base that changed or left it since answers quoted them.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaleAnswers {
    /// The knowledge base.
    pub kb: String,
    /// Changed or removed pages, by path, each with the answers that quoted it.
    pub pages: Vec<StalePage>,
    /// Answers in all.
    pub answers: usize,
    /// Conversations those answers belong to.
    pub conversations: usize,
}

/// A page that changed or left the knowledge base since answers quoted it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StalePage {
    /// Its path.
    pub path: String,
    /// Its title when it was quoted.
    pub title: String,
    /// Its URL (crawled pages).
    pub url: Option<String>,
    /// `changed` or `removed`.
    pub change: String,
    /// Unix seconds of the page's current version (absent once removed).
    pub page_updated_at: Option<i64>,
    /// The answers that quoted the old text, oldest first.
    pub answers: Vec<StaleQuote>,
}

/// An answer that quoted an old version of a page.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaleQuote {
    /// The agent that answered.
    pub agent: String,
    /// The contact it answered.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub contact_id: String,
    /// The conversation.
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub conversation_id: String,
    /// The answer's message id.
    pub message_id: i64,
    /// Unix seconds.
    pub answered_at: i64,
    /// The citation's number in the answer.
    pub citation: usize,
    /// The text it quoted.
    pub quoted: String,
    /// The whole answer.
    pub answer: String,
}

impl StaleAnswers {
    /// Stale answers of `kb` grouped by page (in the order given: by path, oldest answer first).
    pub fn new(kb: &str, answers: &[StaleAnswer]) -> Self {
        let mut pages: Vec<StalePage> = Vec::new();
        for a in answers {
            let c = &a.cited.citation;
            if pages.last().is_none_or(|p| p.path != c.path) {
                pages.push(StalePage {
                    path: c.path.clone(),
                    title: c.title.clone(),
                    url: c.url.clone(),
                    change: a.change.as_str().to_string(),
                    page_updated_at: a.page_updated_at,
                    answers: Vec::new(),
                });
            }
            if let Some(page) = pages.last_mut() {
                page.answers.push(StaleQuote {
                    agent: a.cited.agent.clone(),
                    contact_id: a.cited.contact.to_string(),
                    conversation_id: a.cited.conversation.to_string(),
                    message_id: a.cited.message_id,
                    answered_at: a.cited.answered_at,
                    citation: c.number,
                    quoted: c.quote.clone(),
                    answer: a.cited.answer.clone(),
                });
            }
        }
        Self { kb: kb.to_string(), pages, answers: answers.len(), conversations: conversation_count(answers) }
    }
}

/// How many conversations the stale answers belong to.
pub fn conversation_count(answers: &[throughline_core::StaleAnswer]) -> usize {
    answers.iter().map(|a| a.cited.conversation).collect::<std::collections::HashSet<_>>().len()
}
