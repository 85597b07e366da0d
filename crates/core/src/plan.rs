//! Pricing plans as structured data: what `ingest` extracts from pricing pages and what the agent's
//! expansion stage reads to say what the next plan unlocks.

use serde::{Deserialize, Serialize};

/// How often a price is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingPeriod {
    /// Per month.
    Month,
    /// Per year.
    Year,
    /// Once.
    Once,
}

impl BillingPeriod {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingPeriod::Month => "month",
            BillingPeriod::Year => "year",
            BillingPeriod::Once => "once",
        }
    }
}

/// One price of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPrice {
    /// The amount in `currency` units (e.g. 19.0).
    pub amount: f64,
    /// ISO 4217 code when recognisable (`USD`, `EUR`, `GBP`), else the symbol as written.
    pub currency: String,
    /// Billing period, when stated.
    pub period: Option<BillingPeriod>,
}

impl PlanPrice {
    /// A display form such as `$19/month` or `€290/year`.
    pub fn display(&self) -> String {
        let symbol = match self.currency.as_str() {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            other => other,
        };
        let amount = if self.amount.fract() == 0.0 {
            format_thousands(self.amount as u64)
        } else {
            format!("{:.2}", self.amount)
        };
        match self.period {
            Some(p) if p != BillingPeriod::Once => format!("{symbol}{amount}/{}", p.as_str()),
            _ => format!("{symbol}{amount}"),
        }
    }
}

fn format_thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A named limit of a plan (e.g. `Monitors` → `100`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimit {
    /// What is limited, as the page names it.
    pub name: String,
    /// The plan's value, as the page writes it.
    pub value: String,
}

/// A pricing plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The plan's name (`Team`).
    pub name: String,
    /// Its prices (monthly first when the page lists several); empty for "contact sales" plans.
    pub prices: Vec<PlanPrice>,
    /// Key limits.
    pub limits: Vec<PlanLimit>,
    /// Features included (list items or "Yes" rows).
    pub features: Vec<String>,
    /// Path of the page it came from (evaluation id of the document).
    pub source_path: String,
}

impl Plan {
    /// Orders plans cheapest first by primary price; plans without a price ("contact sales") last.
    pub fn sort_cheapest_first(plans: &mut [Plan]) {
        plans.sort_by(|a, b| {
            let pa = a.primary_price().map(|p| p.amount).unwrap_or(f64::MAX);
            let pb = b.primary_price().map(|p| p.amount).unwrap_or(f64::MAX);
            pa.total_cmp(&pb)
        });
    }

    /// The first monthly price, else the first price.
    pub fn primary_price(&self) -> Option<&PlanPrice> {
        self.prices.iter().find(|p| p.period == Some(BillingPeriod::Month)).or_else(|| self.prices.first())
    }

    /// The value of the limit whose name contains `name` (case-insensitive).
    pub fn limit(&self, name: &str) -> Option<&str> {
        let needle = name.to_lowercase();
        self.limits.iter().find(|l| l.name.to_lowercase().contains(&needle)).map(|l| l.value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_display_with_symbol_and_period() {
        let p = PlanPrice { amount: 2490.0, currency: "USD".into(), period: Some(BillingPeriod::Year) };
        assert_eq!(p.display(), "$2,490/year");
        let e = PlanPrice { amount: 29.5, currency: "EUR".into(), period: Some(BillingPeriod::Month) };
        assert_eq!(e.display(), "€29.50/month");
    }
}
