//! What product events mean to the agent: onboarding progress (which checklist steps an event completes
//! and which comes next) and expansion (on a usage trigger such as `limit_reached`, what the next plan
//! in the catalogue unlocks for that metric and beyond).

use throughline_core::{EventRecord, Plan};

use crate::config::{ActivationConfig, ChecklistStep};
use crate::sentences::stem;

/// Whether `event` completes `step`.
pub fn completes(step: &ChecklistStep, event: &EventRecord) -> bool {
    event.name == step.id
        || step.events.iter().any(|e| e == &event.name)
        || (event.name == "step_completed" && event.properties.iter().any(|(k, v)| k == "step" && v == &step.id))
}

/// Steps done (in checklist order) and the next one, from a contact's events.
pub fn onboarding_progress<'a>(
    cfg: &'a ActivationConfig,
    events: &[EventRecord],
) -> (Vec<&'a ChecklistStep>, Option<&'a ChecklistStep>) {
    let done: Vec<&ChecklistStep> = cfg.checklist.iter().filter(|s| events.iter().any(|e| completes(s, e))).collect();
    let next = cfg.checklist.iter().find(|s| !done.iter().any(|d| d.id == s.id));
    (done, next)
}

/// The expansion offer for a usage trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpansionOffer {
    /// The contact's current plan, when known.
    pub current: Option<Plan>,
    /// The plan to suggest.
    pub next: Plan,
    /// The message naming what it unlocks.
    pub text: String,
}

fn metric_matches(limit_name: &str, metric: &str) -> bool {
    let l = limit_name.to_lowercase();
    let m = metric.to_lowercase().replace(['_', '-'], " ");
    m.split_whitespace().all(|w| l.contains(&stem(w)))
}

/// The offer for a `limit_reached`-style event with `properties` (`metric`, optional `plan`, `limit`),
/// given the catalogue (cheapest first) and the contact's known plan (a fact), if any.
pub fn expansion_offer(
    plans: &[Plan],
    properties: &[(String, String)],
    known_plan: Option<&str>,
) -> Option<ExpansionOffer> {
    let prop = |k: &str| properties.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let metric = prop("metric").unwrap_or("");
    let plan_name = prop("plan").or(known_plan);
    let current_idx =
        plan_name.and_then(|n| plans.iter().position(|p| p.name.eq_ignore_ascii_case(n.trim()))).or_else(|| {
            // Infer the plan from the limit that was hit.
            let limit = prop("limit")?;
            plans.iter().position(|p| {
                p.limits
                    .iter()
                    .any(|l| metric_matches(&l.name, metric) && l.value.split_whitespace().next() == Some(limit))
            })
        });
    let candidates: Vec<(usize, &Plan)> = match current_idx {
        Some(i) => plans.iter().enumerate().skip(i + 1).collect(),
        None => plans.iter().enumerate().collect(),
    };
    // The first later plan with a price that lists the metric (or the first later priced plan).
    let (_, next) = candidates
        .iter()
        .find(|(_, p)| {
            !p.prices.is_empty() && (metric.is_empty() || p.limits.iter().any(|l| metric_matches(&l.name, metric)))
        })
        .or_else(|| candidates.iter().find(|(_, p)| !p.prices.is_empty()))?;
    let current = current_idx.map(|i| plans[i].clone());
    let price = next.primary_price().map(|p| format!(" ({})", p.display())).unwrap_or_default();
    let mut text = match (&current, metric.is_empty()) {
        (Some(c), false) => format!("You've reached the {} limit of your {} plan.", metric.replace('_', " "), c.name),
        (Some(c), true) => format!("You've reached a limit of your {} plan.", c.name),
        (None, false) => format!("You've reached your {} limit.", metric.replace('_', " ")),
        (None, true) => "You've reached a plan limit.".to_string(),
    };
    let mut unlocks: Vec<String> = Vec::new();
    if let Some(l) = next.limits.iter().find(|l| metric_matches(&l.name, metric)) {
        unlocks.push(format!("{}: {}", l.name, l.value));
    }
    for l in &next.limits {
        if unlocks.len() >= 4 {
            break;
        }
        let differs = current
            .as_ref()
            .is_none_or(|c| c.limits.iter().find(|x| x.name == l.name).is_none_or(|x| x.value != l.value));
        let entry = format!("{}: {}", l.name, l.value);
        if differs && !unlocks.contains(&entry) && !l.name.to_lowercase().contains("price") {
            unlocks.push(entry);
        }
    }
    for f in &next.features {
        if unlocks.len() >= 5 {
            break;
        }
        if current.as_ref().is_none_or(|c| !c.features.contains(f)) {
            unlocks.push(f.clone());
        }
    }
    text.push_str(&format!(" The {} plan{price} unlocks {}.", next.name, unlocks.join("; ")));
    Some(ExpansionOffer { current, next: (*next).clone(), text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use throughline_core::{BillingPeriod, PlanLimit, PlanPrice};

    fn plan(name: &str, price: f64, monitors: &str) -> Plan {
        Plan {
            name: name.into(),
            prices: vec![PlanPrice { amount: price, currency: "USD".into(), period: Some(BillingPeriod::Month) }],
            limits: vec![PlanLimit { name: "Monitors".into(), value: monitors.into() }],
            features: vec![],
            source_path: "pricing.html".into(),
        }
    }

    #[test]
    fn the_next_plan_raises_the_metric() {
        let plans = vec![plan("Free", 0.0, "5"), plan("Starter", 19.0, "25"), plan("Team", 79.0, "100")];
        let props = vec![("metric".to_string(), "monitors".to_string()), ("limit".to_string(), "25".to_string())];
        let o = expansion_offer(&plans, &props, None).unwrap();
        assert_eq!(o.next.name, "Team");
        assert_eq!(
            o.text,
            "You've reached the monitors limit of your Starter plan. The Team plan ($79/month) unlocks Monitors: 100."
        );
    }
}
