//! A knowledge base's plan catalogue as the API (and `throughline plans --json`) shows it.

use serde::{Deserialize, Serialize};
use throughline_core::{BillingPeriod, Plan};
use utoipa::ToSchema;

/// How often a price is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Per month.
    Month,
    /// Per year.
    Year,
    /// Once.
    Once,
}

impl From<BillingPeriod> for Period {
    fn from(p: BillingPeriod) -> Self {
        match p {
            BillingPeriod::Month => Self::Month,
            BillingPeriod::Year => Self::Year,
            BillingPeriod::Once => Self::Once,
        }
    }
}

/// A price of a plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// The amount (≥ 0).
    #[schema(minimum = 0)]
    pub amount: f64,
    /// Its currency (`USD`, `EUR`); empty when the page shows none (null is read as empty).
    #[serde(default)]
    #[schema(max_length = 2000, nullable = true)]
    pub currency: String,
    /// How often it is paid; none for a price without a period.
    #[serde(default)]
    pub period: Option<Period>,
    /// As the agent quotes it (`$20/month`); ignored when sent.
    #[serde(default)]
    pub display: String,
}

/// A limit of a plan (`Members`: `10`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// What is limited.
    #[schema(min_length = 1, max_length = 2000, pattern = "[^\\s\\u0085]")]
    pub name: String,
    /// How much.
    #[schema(min_length = 1, max_length = 2000, pattern = "[^\\s\\u0085]")]
    pub value: String,
}

/// A pricing plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanView {
    /// Its name (`Pro`): unique among the plans of one pricing page.
    #[schema(min_length = 1, max_length = 2000, pattern = "[^\\s\\u0085]")]
    pub name: String,
    /// Its prices.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub prices: Vec<Price>,
    /// Its limits.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub limits: Vec<Limit>,
    /// What it includes (each 1 to 2,000 characters, not blank).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub features: Vec<String>,
    /// The pricing page it was read from (null is read as empty).
    #[serde(default)]
    #[schema(max_length = 2000, nullable = true)]
    pub source_path: String,
}

impl From<&Plan> for PlanView {
    fn from(p: &Plan) -> Self {
        Self {
            name: p.name.clone(),
            prices: p
                .prices
                .iter()
                .map(|x| Price {
                    amount: x.amount,
                    currency: x.currency.clone(),
                    period: x.period.map(Into::into),
                    display: x.display(),
                })
                .collect(),
            limits: p.limits.iter().map(|l| Limit { name: l.name.clone(), value: l.value.clone() }).collect(),
            features: p.features.clone(),
            source_path: p.source_path.clone(),
        }
    }
}

/// An agent that got a new configuration version.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentVersionRef {
    /// The agent.
    pub name: String,
    /// Its new version.
    pub version: u32,
}

/// The plan catalogue of a knowledge base.
#[derive(Debug, Serialize, ToSchema)]
pub struct Catalogue {
    /// The knowledge base.
    pub kb: String,
    /// The plans the agents quote: the edited catalogue, else what extraction found.
    pub plans: Vec<PlanView>,
    /// Whether the catalogue is hand-edited.
    pub edited: bool,
    /// Unix seconds of the edit.
    pub edited_at: Option<i64>,
    /// What extraction found on the pricing pages.
    pub extracted: Vec<PlanView>,
    /// After an edit: the agents that got a new version quoting it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agents_updated: Option<Vec<AgentVersionRef>>,
}

/// Body of `PUT /v1/kbs/{kb}/plans`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueEdit {
    /// The edited catalogue (at most 50 plans; at most 100 prices, limits or features each; texts up to
    /// 2,000 characters), in the shape `GET` answers.
    #[schema(max_items = 50)]
    pub plans: Vec<PlanView>,
    /// Whether every agent over the knowledge base whose plans differ gets a new configuration version
    /// quoting the edited plans (default true).
    #[serde(default)]
    pub update_agents: Option<bool>,
}
