//! [`AgentConfig`]: persona, knowledge bases and per-stage settings, stored as TOML (each save a new
//! version). [`AgentConfig::derive`] builds sensible defaults from a knowledge base: the product name,
//! the signup/demo/pricing URLs found in its pages, the onboarding checklist of its getting-started page
//! and the plans extracted from its pricing pages.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use throughline_core::{PageType, Plan, Retriever, Stage};

use crate::{AgentError, Result};

/// An agent's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The product the agent speaks for.
    pub product: String,
    /// Who the agent is ("the Uptrail assistant").
    #[serde(default)]
    pub persona: String,
    /// How it speaks ("friendly and concise").
    #[serde(default)]
    pub tone: String,
    /// One paragraph about the company.
    #[serde(default)]
    pub company_description: String,
    /// Names of the knowledge bases it answers from.
    pub knowledge_bases: Vec<String>,
    /// A floor on the evidence: answers whose confidence (similarity of the best sentence, coverage of
    /// the question's terms, similarity of the best chunk) is below this get an honest "I don't know"
    /// (0..1). Default 0.27. The main gate is calibrated per knowledge base (see `calibrate`).
    #[serde(default = "default_threshold", serialize_with = "short_float")]
    pub confidence_threshold: f32,
    /// Most sentences or list items in an answer. Default 3.
    #[serde(default = "default_max_sentences")]
    pub max_sentences: usize,
    /// Pre-sales settings.
    #[serde(default)]
    pub acquisition: AcquisitionConfig,
    /// Onboarding settings.
    #[serde(default)]
    pub activation: ActivationConfig,
    /// Support settings.
    #[serde(default)]
    pub support: SupportConfig,
    /// Upsell settings.
    #[serde(default)]
    pub expansion: ExpansionConfig,
    /// Example messages per stage that teach the stage router, on top of its built-in bank.
    #[serde(default, skip_serializing_if = "RouterConfig::is_empty")]
    pub router: RouterConfig,
}

/// Phrases a user taught the stage router ("teach the router" in the agent builder): each is a message a
/// customer might send, labelled with the stage it belongs to. They count a little more than the
/// built-in examples, so a handful fixes a product-specific phrasing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Messages of prospects ("do you do on-prem?").
    #[serde(default)]
    pub acquisition: Vec<String>,
    /// Messages of new users setting up.
    #[serde(default)]
    pub activation: Vec<String>,
    /// Messages about something broken.
    #[serde(default)]
    pub support: Vec<String>,
    /// Messages about limits and bigger plans.
    #[serde(default)]
    pub expansion: Vec<String>,
}

/// Most taught examples per stage.
pub const MAX_TAUGHT_PER_STAGE: usize = 200;

impl RouterConfig {
    /// Whether nothing was taught.
    pub fn is_empty(&self) -> bool {
        self.acquisition.is_empty()
            && self.activation.is_empty()
            && self.support.is_empty()
            && self.expansion.is_empty()
    }

    /// The taught examples with their stages.
    pub fn examples(&self) -> Vec<(Stage, String)> {
        self.lists()
            .into_iter()
            .flat_map(|(stage, list)| list.iter().map(move |t| (stage, t.trim().to_string())))
            .filter(|(_, t)| !t.is_empty())
            .collect()
    }

    fn lists(&self) -> [(Stage, &Vec<String>); 4] {
        [
            (Stage::Acquisition, &self.acquisition),
            (Stage::Activation, &self.activation),
            (Stage::Support, &self.support),
            (Stage::Expansion, &self.expansion),
        ]
    }
}

/// An `f32` written with the digits a person typed (`0.3`, not `0.30000001192092896`).
fn short_float<S: serde::Serializer>(v: &f32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*v) * 1e6).round() / 1e6)
}

fn default_threshold() -> f32 {
    0.27
}

fn default_max_sentences() -> usize {
    3
}

/// One qualification field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationField {
    /// The fact key (`email`, `company_size`, `use_case`, or any other).
    pub key: String,
    /// The question that asks for it.
    pub question: String,
}

/// Pre-sales settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AcquisitionConfig {
    /// Fields to collect, asked one at a time in this order, never twice.
    #[serde(default)]
    pub qualification: Vec<QualificationField>,
    /// Signup URL (call to action).
    #[serde(default)]
    pub signup_url: Option<String>,
    /// Book-a-demo URL (call to action).
    #[serde(default)]
    pub demo_url: Option<String>,
    /// Pricing page URL.
    #[serde(default)]
    pub pricing_url: Option<String>,
    /// Where qualified leads are POSTed as JSON, when set.
    #[serde(default)]
    pub lead_webhook: Option<String>,
}

/// One onboarding step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistStep {
    /// Stable id, also the event name that completes it (`create_your_first_monitor`).
    pub id: String,
    /// What to do.
    pub title: String,
    /// The document that explains it (path in the knowledge base).
    #[serde(default)]
    pub doc: Option<String>,
    /// Other event names that also complete it (`monitor_created`).
    #[serde(default)]
    pub events: Vec<String>,
}

/// Onboarding settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActivationConfig {
    /// The checklist, in order.
    #[serde(default)]
    pub checklist: Vec<ChecklistStep>,
}

/// Support settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportConfig {
    /// Topics that always go to a human, with the words that signal them.
    #[serde(default = "default_sensitive")]
    pub sensitive_topics: BTreeMap<String, Vec<String>>,
    /// Consecutive "I don't know" answers in a conversation before handing off. Default 2.
    #[serde(default = "default_max_failures")]
    pub max_failures: u32,
    /// Hand off on clearly negative sentiment. Default true.
    #[serde(default = "default_true")]
    pub escalate_on_negative_sentiment: bool,
    /// Where handoffs are POSTed as JSON, when set.
    #[serde(default)]
    pub handoff_webhook: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_max_failures() -> u32 {
    2
}

fn default_sensitive() -> BTreeMap<String, Vec<String>> {
    let mut m = BTreeMap::new();
    m.insert("refund".to_string(), vec!["refund".into(), "money back".into(), "chargeback".into()]);
    m.insert("cancellation".to_string(), vec!["cancel my".into(), "cancellation".into(), "close my account".into()]);
    m.insert(
        "legal".to_string(),
        vec!["lawyer".into(), "legal action".into(), "lawsuit".into(), "sue you".into(), "gdpr request".into()],
    );
    m.insert(
        "security".to_string(),
        vec!["breach".into(), "hacked".into(), "vulnerability".into(), "compromised".into(), "data leak".into()],
    );
    m
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            sensitive_topics: default_sensitive(),
            max_failures: default_max_failures(),
            escalate_on_negative_sentiment: true,
            handoff_webhook: None,
        }
    }
}

/// A usage event that triggers an expansion message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpansionTrigger {
    /// The event name (`limit_reached`).
    pub event: String,
}

/// Upsell settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExpansionConfig {
    /// The plan catalogue, cheapest first (from the pricing extraction; editable).
    #[serde(default)]
    pub plans: Vec<Plan>,
    /// Events that produce an expansion message.
    #[serde(default)]
    pub triggers: Vec<ExpansionTrigger>,
    /// The docs' own word for a plan when it is not "plan" (`package`, `tier`, `edition`): customers
    /// ask about "plans" whatever the pricing page calls them, so a question saying "plan" or "tier"
    /// is searched with this word too. Derived from how the docs name the plans ("the Pro package").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_word: Option<String>,
}

/// Nouns a pricing page may call its plans by.
const PLAN_NOUNS: &[&str] = &["plan", "package", "tier", "edition", "subscription", "license"];

/// Fewest mentions of "<plan name> <noun>" that make the noun the docs' word for a plan.
const MIN_PLAN_WORD_MENTIONS: usize = 3;

impl ExpansionConfig {
    /// The docs' word for a plan, from how the chunks name the plans: the noun most often written after
    /// a plan's name ("Standard package", "Pro package"), when it is not "plan".
    pub fn plan_word_of(plans: &[Plan], chunks: &[throughline_core::ChunkText]) -> Option<String> {
        let names: Vec<String> = plans.iter().map(|p| crate::sentences::words(&p.name).join(" ")).collect();
        if names.is_empty() {
            return None;
        }
        let mut counts = [0usize; PLAN_NOUNS.len()];
        for c in chunks {
            let words = crate::sentences::words(&c.text);
            for (i, w) in words.iter().enumerate() {
                let noun = w.strip_suffix('s').filter(|n| PLAN_NOUNS.contains(n)).unwrap_or(w);
                let Some(k) = PLAN_NOUNS.iter().position(|n| *n == noun) else { continue };
                if names.iter().any(|name| {
                    let n = name.split(' ').count();
                    i >= n && words[i - n..i].join(" ") == *name
                }) {
                    counts[k] += 1;
                }
            }
        }
        let (k, &n) = counts.iter().enumerate().max_by_key(|(k, n)| (**n, std::cmp::Reverse(*k)))?;
        (k != 0 && n >= MIN_PLAN_WORD_MENTIONS).then(|| PLAN_NOUNS[k].to_string())
    }

    /// `question` with the docs' word for a plan beside "plan" or "tier" ("which plan has SSO" → "which
    /// plan package has SSO"), when the docs use another word; unchanged otherwise.
    pub fn in_docs_words(&self, question: &str) -> String {
        let Some(word) = self.plan_word.as_deref() else { return question.to_string() };
        let mut out: Vec<String> = Vec::new();
        for token in question.split(' ') {
            out.push(token.to_string());
            let bare = token.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
            let plural = bare.ends_with('s');
            let stem = bare.strip_suffix('s').unwrap_or(&bare);
            if stem != word && ["plan", "tier"].contains(&stem) {
                out.push(if plural { format!("{word}s") } else { word.to_string() });
            }
        }
        out.join(" ")
    }
}

static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[A-Za-z0-9.\-]+(?:/[A-Za-z0-9._~%/\-]*)?"#).expect("valid regex"));
static STEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^step\s+\d+\s*[—–:\-.]\s*(.+)$").expect("valid regex"));

/// A snake_case id from a title.
pub fn slug(title: &str) -> String {
    crate::sentences::words(title).join("_").replace('-', "_")
}

impl AgentConfig {
    /// Parses a TOML configuration, naming `origin` (a file path) in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let cfg: AgentConfig = toml::from_str(text)
            .map_err(|e| AgentError::BadConfig { origin: origin.to_string(), reason: e.to_string() })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| AgentError::BadConfig { origin: "agent configuration".into(), reason: e.to_string() })
    }

    /// Checks ranges, naming the key and value.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |reason: String| Err(AgentError::BadConfig { origin: origin.to_string(), reason });
        if !(0.0..=1.0).contains(&self.confidence_threshold) {
            return bad(format!("confidence_threshold = {} is out of range (0..=1)", self.confidence_threshold));
        }
        if self.knowledge_bases.is_empty() {
            return bad("knowledge_bases is empty: name at least one knowledge base".into());
        }
        if !(1..=10).contains(&self.max_sentences) {
            return bad(format!("max_sentences = {} is out of range (1..=10)", self.max_sentences));
        }
        for (stage, list) in self.router.lists() {
            if list.len() > MAX_TAUGHT_PER_STAGE {
                return bad(format!(
                    "router.{stage} has {} examples, over the limit of {MAX_TAUGHT_PER_STAGE}",
                    list.len()
                ));
            }
            if let Some((i, t)) = list.iter().enumerate().find(|(_, t)| t.trim().is_empty() || t.chars().count() > 500)
            {
                return bad(format!("router.{stage}[{i}] must be 1 to 500 characters (got {})", t.chars().count()));
            }
        }
        for url in [&self.acquisition.lead_webhook, &self.support.handoff_webhook].into_iter().flatten() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(format!("webhook `{url}` is not an http(s) URL"));
            }
        }
        Ok(())
    }

    /// Defaults derived from the knowledge base `kb`.
    pub fn derive(kb: &dyn Retriever) -> Result<Self> {
        let chunks = kb.chunk_texts()?;
        let mut plans = kb.plans()?;
        Plan::sort_cheapest_first(&mut plans);
        let mut urls: Vec<String> = Vec::new();
        for c in &chunks {
            for m in URL.find_iter(&c.text) {
                let u = m.as_str().trim_end_matches(['.', ')', '/']).to_string();
                if !urls.contains(&u) {
                    urls.push(u);
                }
            }
        }
        let find = |needles: &[&str]| {
            urls.iter()
                .filter(|u| {
                    let path = u.splitn(4, '/').nth(3).unwrap_or("");
                    needles.iter().any(|n| path.starts_with(n))
                })
                .min_by_key(|u| u.len())
                .cloned()
        };
        let signup_url = find(&["signup", "sign-up", "register", "start", "trial"]);
        let demo_url = find(&["demo", "book", "contact-sales"]);
        let pricing_url = find(&["pricing", "plans"]);
        let product = product_name(&chunks, signup_url.as_deref().or(pricing_url.as_deref()), &plans);

        let checklist = onboarding_checklist(&chunks);
        // The company description: the first sentence answering "What is <product>?", when a page asks it.
        let what_is = format!("what is {}", product.to_lowercase());
        let description = chunks
            .iter()
            .filter(|c| matches!(c.page_type, PageType::Faq | PageType::Docs | PageType::Pricing))
            .find(|c| c.heading_path.iter().any(|h| h.to_lowercase().contains(&what_is)))
            .and_then(|c| crate::sentences::split_units(&c.text).into_iter().next())
            .map(|u| u.text)
            .unwrap_or_default();
        Ok(AgentConfig {
            persona: format!("the {product} assistant"),
            tone: "friendly, concise, factual".into(),
            company_description: description,
            product: product.clone(),
            knowledge_bases: vec![kb.name().to_string()],
            confidence_threshold: default_threshold(),
            max_sentences: default_max_sentences(),
            acquisition: AcquisitionConfig {
                qualification: vec![
                    QualificationField {
                        key: "email".into(),
                        question: "What's your work email, so we can follow up?".into(),
                    },
                    QualificationField {
                        key: "company_size".into(),
                        question: "How many people are on your team?".into(),
                    },
                    QualificationField {
                        key: "use_case".into(),
                        question: format!("What would you like to use {product} for?"),
                    },
                ],
                signup_url,
                demo_url,
                pricing_url,
                lead_webhook: None,
            },
            activation: ActivationConfig { checklist },
            support: SupportConfig::default(),
            expansion: ExpansionConfig {
                plan_word: ExpansionConfig::plan_word_of(&plans, &chunks),
                plans,
                triggers: vec![ExpansionTrigger { event: "limit_reached".into() }],
            },
            router: RouterConfig::default(),
        })
    }
}

/// Path words of getting-started content.
const ONBOARDING_PATHS: &[&str] =
    &["quick-start", "quickstart", "getting-started", "get-started", "getting_started", "onboarding", "first-steps"];
/// Headings of a getting-started page that are not steps.
const NOT_STEPS: &[&str] = &[
    "closing",
    "next steps",
    "what's next",
    "what to explore next",
    "join the community",
    "overview",
    "introduction",
    "summary",
    "conclusion",
    "learn more",
    "further reading",
    "see also",
    "support",
    "help",
];

/// The onboarding checklist, from the knowledge base's getting-started content: the page whose path says
/// quick start / getting started (the shallowest, then the shortest path), and in it "Step N" headings,
/// else its first numbered list, else its section headings (without "Closing", "Next steps"…). Empty
/// when the knowledge base has no such page: the builder then asks for the steps.
pub fn onboarding_checklist(chunks: &[throughline_core::ChunkText]) -> Vec<ChecklistStep> {
    let is_onboarding = |path: &str| {
        let p = path.to_lowercase();
        ONBOARDING_PATHS.iter().any(|w| p.split(['/', '.']).any(|seg| seg == *w || seg.starts_with(&format!("{w}-"))))
    };
    let Some(doc) = chunks
        .iter()
        .map(|c| c.path.as_str())
        .filter(|p| is_onboarding(p))
        .min_by_key(|p| (p.matches('/').count(), p.len()))
    else {
        return Vec::new();
    };
    // One of several getting-started pages of a folder (one per language or framework: "…in Go", "…in
    // Java"): the steps are read from it, but they link to the folder's overview page when it has one, so
    // a customer writing React is not sent to the Go guide.
    let link = folder_overview(doc, chunks.iter().map(|c| c.path.as_str()).filter(|p| is_onboarding(p)));
    let page: Vec<&throughline_core::ChunkText> = chunks.iter().filter(|c| c.path == doc).collect();
    let mut titles: Vec<String> = Vec::new();
    let push = |t: &str, titles: &mut Vec<String>| {
        let t = t.trim().trim_matches('*').trim().trim_end_matches(['.', ':']).trim();
        let t: String = t.chars().take(90).collect();
        if t.chars().filter(|c| c.is_alphanumeric()).count() >= 3 && !titles.iter().any(|x| x.eq_ignore_ascii_case(&t))
        {
            titles.push(t);
        }
    };
    for c in &page {
        for h in &c.heading_path {
            if let Some(m) = STEP.captures(h.trim()) {
                push(&m[1], &mut titles);
            }
        }
    }
    if titles.len() < 2 {
        titles.clear();
        // The first numbered list of the page; an item's title is its text up to the first " - " or ".".
        'lists: for c in &page {
            let units = crate::sentences::split_units(&c.text);
            for u in units.iter().filter(|u| u.number.is_some()) {
                let same_list: Vec<&crate::sentences::Unit> =
                    units.iter().filter(|v| v.number.is_some() && v.block == u.block).collect();
                if same_list.len() >= 2 {
                    for v in same_list {
                        let head = v.text.split(" - ").next().unwrap_or(&v.text);
                        push(head.split(". ").next().unwrap_or(head), &mut titles);
                    }
                    break 'lists;
                }
            }
        }
    }
    if titles.len() < 2 {
        titles.clear();
        for c in &page {
            if let Some(h) = c.heading_path.first() {
                if !NOT_STEPS.iter().any(|n| h.to_lowercase().starts_with(n)) {
                    push(h, &mut titles);
                }
            }
        }
    }
    titles.truncate(6);
    if titles.len() < 2 {
        return Vec::new();
    }
    titles
        .into_iter()
        .map(|title| ChecklistStep { id: slug(&title), title, doc: Some(link.to_string()), events: Vec::new() })
        .collect()
}

/// File names of a folder's overview page.
const OVERVIEW_STEMS: &[&str] = &["index", "_index", "readme", "overview", "introduction", "intro"];

/// The overview page of `doc`'s folder (`index.md`, `README.md`, `overview.mdx`…) among `paths`, when
/// `doc` has at least two siblings there (it is one of several variants); else `doc` itself.
fn folder_overview<'a>(doc: &'a str, paths: impl Iterator<Item = &'a str>) -> &'a str {
    let Some((folder, _)) = doc.rsplit_once('/') else { return doc };
    let siblings: std::collections::BTreeSet<&str> =
        paths.filter(|p| p.rsplit_once('/').is_some_and(|(f, _)| f == folder)).collect();
    let stem = |p: &str| {
        let name = p.rsplit('/').next().unwrap_or(p);
        name.split('.').next().unwrap_or(name).to_ascii_lowercase()
    };
    let overview = siblings.iter().copied().find(|p| *p != doc && OVERVIEW_STEMS.contains(&stem(p).as_str()));
    match overview {
        Some(o) if siblings.len() >= 3 && !OVERVIEW_STEMS.contains(&stem(doc).as_str()) => o,
        _ => doc,
    }
}

/// Capitalised words docs use mid-sentence that name no product.
const COMMON_CAPITALISED: &[&str] = &[
    "The",
    "This",
    "You",
    "Your",
    "For",
    "See",
    "If",
    "When",
    "Note",
    "Use",
    "Settings",
    "Dashboard",
    "Console",
    "English",
    "Monday",
    "Friday",
    "January",
    "December",
];

/// The product name: the capitalised word the pages use most often that also appears in the product's
/// own host name (`uptrail.example` → `Uptrail`), else the word the pages capitalise most often in the
/// middle of a sentence.
fn product_name(chunks: &[throughline_core::ChunkText], url: Option<&str>, plans: &[Plan]) -> String {
    let host_word = url
        .and_then(|u| u.split("//").nth(1))
        .and_then(|h| h.split('/').next())
        .map(|h| h.trim_start_matches("www.").split('.').next().unwrap_or("").to_lowercase());
    // A name is capitalised in the middle of a sentence: words opening a sentence, a line or a table
    // cell, labels ("Description:", "Limit:"), acronyms (API, SDK) and possessive endings do not count.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in chunks {
        for line in c.text.lines() {
            let mut previous: Option<&str> = None;
            for token in line.split_whitespace() {
                let opens = previous.is_none_or(|p| p.ends_with(['.', '!', '?', ':', '|', '-', '•', '*']));
                previous = Some(token);
                if opens || token.ends_with(':') {
                    continue;
                }
                let w = token.trim_end_matches("'s").trim_end_matches("’s");
                let w = w.trim_matches(|ch: char| !ch.is_alphanumeric());
                if w.len() > 2
                    && w.chars().next().is_some_and(char::is_uppercase)
                    && w.chars().any(char::is_lowercase)
                    && !COMMON_CAPITALISED.contains(&w)
                    // A plan's name ("the Standard package") is capitalised mid-sentence too.
                    && !plans.iter().any(|p| p.name.split_whitespace().any(|n| n == w))
                {
                    *counts.entry(w.to_string()).or_default() += 1;
                }
            }
        }
    }
    if let Some(h) = host_word.filter(|h| !h.is_empty()) {
        if let Some((w, _)) = counts.iter().filter(|(w, _)| w.to_lowercase() == h).max_by_key(|(_, n)| **n) {
            return w.clone();
        }
        let mut cap = h.clone();
        if let Some(f) = cap.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        return cap;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(w, _)| w).unwrap_or_else(|| "our product".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_config_names_the_key() {
        let err = AgentConfig::from_toml(
            "product = \"X\"\nknowledge_bases = [\"k\"]\nconfidence_threshold = 3.0\n",
            "a.toml",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "a.toml: confidence_threshold = 3 is out of range (0..=1)");
        let err =
            AgentConfig::from_toml("product = \"X\"\nknowledge_bases = [\"k\"]\nnope = 1\n", "a.toml").unwrap_err();
        assert!(err.to_string().starts_with("a.toml: "), "{err}");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn a_language_variant_of_getting_started_links_to_its_folder_overview() {
        let pages = [
            "docs/getting-started/go.mdx",
            "docs/getting-started/index.mdx",
            "docs/getting-started/java.mdx",
            "docs/getting-started/python.mdx",
        ];
        assert_eq!(folder_overview(pages[0], pages.iter().copied()), "docs/getting-started/index.mdx");
        // A lone getting-started page, or a folder without an overview, keeps its own link.
        assert_eq!(folder_overview("docs/quick-start.md", ["docs/quick-start.md"].into_iter()), "docs/quick-start.md");
        let no_overview = ["g/go.md", "g/java.md", "g/python.md"];
        assert_eq!(folder_overview("g/go.md", no_overview.iter().copied()), "g/go.md");
    }

    #[test]
    fn the_product_name_is_the_word_capitalised_mid_sentence_not_a_table_label() {
        let chunk = |text: &str| throughline_core::ChunkText {
            path: "docs/limits.md".into(),
            title: "Limits".into(),
            page_type: throughline_core::PageType::Docs,
            heading_path: Vec::new(),
            text: text.into(),
        };
        let rows = "Connections | Description: Open connections at once.\nChannels | Description: Active channels.\n\
                    Messages | Description: Messages per second.\nPresence | Description: Members per channel.";
        let prose = "Clients connect to Ably over WebSockets. The Ably dashboard shows your API keys.";
        let chunks = vec![chunk(rows), chunk(rows), chunk(prose)];
        assert_eq!(product_name(&chunks, None, &[]), "Ably");
        assert_eq!(product_name(&chunks, Some("https://www.ably.example/pricing"), &[]), "Ably");
        // A plan's name is not the product's, however often the pages name it.
        let plans = "Upgrade to the Standard package for production. The Standard package adds support. \
                     Teams build on Relaywave.";
        let pro = |name: &str| throughline_core::Plan {
            name: name.into(),
            prices: Vec::new(),
            limits: Vec::new(),
            features: Vec::new(),
            source_path: "pricing.md".into(),
        };
        assert_eq!(product_name(&[chunk(plans)], None, &[pro("Standard")]), "Relaywave");
    }

    #[test]
    fn the_docs_word_for_a_plan_is_read_from_how_they_name_the_plans() {
        let chunk = |text: &str| throughline_core::ChunkText {
            path: "docs/pricing.md".into(),
            title: "Pricing".into(),
            page_type: throughline_core::PageType::Pricing,
            heading_path: Vec::new(),
            text: text.into(),
        };
        let plan = |name: &str| throughline_core::Plan {
            name: name.into(),
            prices: Vec::new(),
            limits: Vec::new(),
            features: Vec::new(),
            source_path: "docs/pricing.md".into(),
        };
        let plans = vec![plan("Standard"), plan("Pro")];
        let packages = vec![
            chunk("The Standard package is for production. Upgrade to the Pro package for higher limits."),
            chunk("Pro packages include support. Choose a plan that suits you."),
        ];
        assert_eq!(ExpansionConfig::plan_word_of(&plans, &packages).as_deref(), Some("package"));
        // Docs that say "plan" need nothing; two mentions are not enough to decide.
        let said_plan = vec![chunk("The Pro plan adds SSO. The Standard plan has email support. Pro plans renew.")];
        assert_eq!(ExpansionConfig::plan_word_of(&plans, &said_plan), None);
        let few = vec![chunk("The Pro package adds SSO. The Standard package has email support.")];
        assert_eq!(ExpansionConfig::plan_word_of(&plans, &few), None);
        assert_eq!(ExpansionConfig::plan_word_of(&[], &packages), None);

        let cfg = ExpansionConfig { plan_word: Some("package".into()), ..Default::default() };
        assert_eq!(cfg.in_docs_words("how much are the paid plans?"), "how much are the paid plans? packages");
        assert_eq!(cfg.in_docs_words("which tier has sso"), "which tier package has sso");
        assert_eq!(cfg.in_docs_words("how do i plant a seed"), "how do i plant a seed");
        assert_eq!(ExpansionConfig::default().in_docs_words("which plan has sso"), "which plan has sso");
    }

    #[test]
    fn slugs_are_snake_case() {
        assert_eq!(slug("Create your first monitor"), "create_your_first_monitor");
    }
}
