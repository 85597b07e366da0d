//! Pricing plans from pricing pages, as structured data ([`Plan`]): name, prices (amount, currency,
//! billing period), key limits and features. Two layouts are understood, the two that pricing pages use:
//!
//! - **comparison tables**, plans as columns (a header row of plan names, one row per price, limit or
//!   feature) or plans as rows (a `Plan` column, then price and limit columns);
//! - **plan cards**: the innermost element holding exactly one heading and a price, with its list items as
//!   features (and items that start with a number, such as `10 users`, as limits).
//!
//! Table plans come first; cards add plans the tables did not name. Pages without either yield nothing.

use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use throughline_core::{BillingPeriod, Plan, PlanLimit, PlanPrice};

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("valid selector")
}

static TABLE: LazyLock<Selector> = LazyLock::new(|| sel("table"));
static ROW: LazyLock<Selector> = LazyLock::new(|| sel("tr"));
static CELL: LazyLock<Selector> = LazyLock::new(|| sel("th, td"));
static HEADING: LazyLock<Selector> = LazyLock::new(|| sel("h1, h2, h3, h4, h5"));
static CARD: LazyLock<Selector> = LazyLock::new(|| sel("div, section, article, li"));
static ITEM: LazyLock<Selector> = LazyLock::new(|| sel("li"));
static DROPPED: LazyLock<Selector> = LazyLock::new(|| sel("nav, header, footer, script, style, template"));

static PRICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?: (?P<sym>US\$|\$|€|£|USD|EUR|GBP)\s?(?P<amt>\d[\d,]*(?:\.\d+)?)
          | (?P<amt2>\d[\d,]*(?:\.\d+)?)\s?(?P<sym2>€|\$|£|USD|EUR|GBP)\b )
        (?: \s*(?:/|per|a|an|every)\s*(?:user\s*/\s*|user\s+per\s+|seat\s*/\s*)?
            (?P<per>month|mo|monthly|year|yr|annum|annually) \b )?",
    )
    .expect("valid regex")
});
static LEADING_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<num>\d[\d,.]*\s*(?:[kKmMgGtT][bB]?|GB|MB|TB)?|[Uu]nlimited)\s+(?P<what>.+)$")
        .expect("valid regex")
});

/// Extracts the plans of a pricing page. `source_path` is recorded on each plan.
pub fn extract_plans(html: &str, source_path: &str) -> Vec<Plan> {
    let doc = Html::parse_document(html);
    let mut plans: Vec<Plan> = Vec::new();
    for table in doc.select(&TABLE) {
        if inside_dropped(table) {
            continue;
        }
        for p in plans_from_table(table, source_path) {
            if !plans.iter().any(|q| same_name(&q.name, &p.name)) {
                plans.push(p);
            }
        }
    }
    for p in plans_from_cards(&doc, source_path) {
        if looks_like_plan_name(&p.name) && !plans.iter().any(|q| same_name(&q.name, &p.name)) {
            plans.push(p);
        }
    }
    plans
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn inside_dropped(el: ElementRef<'_>) -> bool {
    el.ancestors().filter_map(ElementRef::wrap).any(|a| DROPPED.matches(&a))
}

fn text_of(el: ElementRef<'_>) -> String {
    el.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text directly inside a header cell, without badges ("Most popular") nested in child elements,
/// falling back to all of its text.
fn own_text(el: ElementRef<'_>) -> String {
    let own: String = el
        .children()
        .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if own.is_empty() {
        text_of(el)
    } else {
        own
    }
}

fn currency_code(sym: &str) -> String {
    match sym.to_ascii_uppercase().as_str() {
        "$" | "US$" | "USD" => "USD".into(),
        "€" | "EUR" => "EUR".into(),
        "£" | "GBP" => "GBP".into(),
        other => other.to_string(),
    }
}

fn period_of(word: &str) -> Option<BillingPeriod> {
    let w = word.to_lowercase();
    if w.starts_with("mo") {
        Some(BillingPeriod::Month)
    } else if w.starts_with("y") || w.starts_with("ann") {
        Some(BillingPeriod::Year)
    } else {
        None
    }
}

/// The period a label or nearby text implies ("billed yearly", "per month").
fn implied_period(text: &str) -> Option<BillingPeriod> {
    let t = text.to_lowercase();
    if t.contains("year") || t.contains("annual") {
        Some(BillingPeriod::Year)
    } else if t.contains("month") {
        Some(BillingPeriod::Month)
    } else {
        None
    }
}

/// Every price in `text`; a price without its own period takes `default_period`.
pub fn parse_prices(text: &str, default_period: Option<BillingPeriod>) -> Vec<PlanPrice> {
    PRICE
        .captures_iter(text)
        .filter_map(|c| {
            let amount = c.name("amt").or_else(|| c.name("amt2"))?.as_str().replace(',', "");
            let sym = c.name("sym").or_else(|| c.name("sym2"))?.as_str();
            let amount: f64 = amount.parse().ok()?;
            let period = c.name("per").and_then(|p| period_of(p.as_str())).or(default_period);
            Some(PlanPrice { amount, currency: currency_code(sym), period })
        })
        .collect()
}

fn is_yes(v: &str) -> bool {
    let v = v.trim().to_lowercase();
    matches!(v.as_str(), "yes" | "✓" | "✔" | "✔︎" | "included" | "x" | "✅") || v.starts_with("yes ")
}

fn is_no(v: &str) -> bool {
    let v = v.trim().to_lowercase();
    matches!(v.as_str(), "" | "—" | "–" | "-" | "no" | "✗" | "✘" | "×" | "❌" | "n/a" | "not included")
}

fn rows(table: ElementRef<'_>) -> Vec<Vec<(String, String)>> {
    table
        .select(&ROW)
        .map(|r| r.select(&CELL).map(|c| (own_text(c), text_of(c))).collect::<Vec<_>>())
        .filter(|r: &Vec<(String, String)>| !r.is_empty())
        .collect()
}

/// Words of a cost line, a total or a unit of usage: a row or column named with one is not a plan
/// ("Total Bill", "Included usage", "Messages", "Calculation").
const NOT_PLAN_WORDS: &[&str] = &[
    "total",
    "subtotal",
    "bill",
    "calculation",
    "cost",
    "usage",
    "subscription",
    "message",
    "minute",
    "connection",
    "channel",
    "fee",
    "tax",
    "discount",
    "credit",
    "price",
    "amount",
    "example",
    "estimate",
    "overage",
    "egress",
    "storage",
    "bandwidth",
    "request",
    "seat",
    "user",
    "hour",
    "month",
    "year",
    "resource",
    "invoice",
    "sum",
];

/// Whether `name` can be a plan's name: short, not a cost line or unit, not a number.
pub fn looks_like_plan_name(name: &str) -> bool {
    let lower = name.trim().to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    !words.is_empty()
        && words.len() <= 4
        && !PRICE.is_match(name)
        && lower.chars().any(char::is_alphabetic)
        && !words.iter().any(|w| NOT_PLAN_WORDS.iter().any(|n| w == n || w.strip_suffix('s') == Some(n)))
}

/// Keeps the plans of one table only when most of them are named like plans (a table of costs or of
/// usage lines is not a plan table).
fn plan_table(mut plans: Vec<Plan>) -> Vec<Plan> {
    let named = plans.iter().filter(|p| looks_like_plan_name(&p.name)).count();
    if named * 2 < plans.len() {
        return Vec::new();
    }
    plans.retain(|p| looks_like_plan_name(&p.name));
    plans
}

fn plans_from_table(table: ElementRef<'_>, source_path: &str) -> Vec<Plan> {
    plan_table(table_plans(table, source_path))
}

/// A price cell without a label: a price, or a word pricing pages use instead of one.
fn is_price_cell(v: &str) -> bool {
    let l = v.trim().to_lowercase();
    if matches!(l.as_str(), "free" | "custom" | "contact us" | "contact sales" | "n/a") {
        return true;
    }
    // A price and little else ("$29", "$20/mo", "€12 per seat"), not a sentence that mentions one.
    match PRICE.find(v) {
        Some(m) => (v[..m.start()].to_string() + &v[m.end()..]).chars().filter(|c| c.is_alphanumeric()).count() <= 12,
        None => false,
    }
}

fn table_plans(table: ElementRef<'_>, source_path: &str) -> Vec<Plan> {
    let rows = rows(table);
    let Some(header) = rows.first() else { return Vec::new() };
    if header.len() < 2 || rows.len() < 2 {
        return Vec::new();
    }
    // Plans as columns without a label column: a header of plan names over a row of prices
    // ("Free | Standard | Pro | Enterprise" over "N/A | $29 | $399 | Custom").
    if let Some(prices) = rows[1..].iter().find(|r| r.len() == header.len() && r.iter().all(|(_, t)| is_price_cell(t)))
    {
        let column_title = |n: &str| {
            matches!(
                n.trim().to_lowercase().as_str(),
                "plan" | "plans" | "tier" | "tiers" | "package" | "packages" | "name" | "edition"
            )
        };
        if header.iter().all(|(own, _)| looks_like_plan_name(own) && !column_title(own))
            && prices.iter().any(|(_, t)| !parse_prices(t, None).is_empty())
        {
            let mut plans: Vec<Plan> = header
                .iter()
                .zip(prices)
                .map(|((name, _), (_, value))| Plan {
                    name: name.trim().to_string(),
                    prices: parse_prices(value, Some(BillingPeriod::Month)),
                    limits: Vec::new(),
                    features: Vec::new(),
                    source_path: source_path.to_string(),
                })
                .collect();
            fill_free_currency(&mut plans);
            return plans;
        }
    }
    let header_first = header[0].1.to_lowercase();
    // Plans as rows: the header names a plan/tier column and a price column.
    let price_col =
        header.iter().position(|(_, t)| t.to_lowercase().contains("price") || t.to_lowercase().contains("cost"));
    if header_first.contains("plan") || header_first.contains("tier") || header_first.contains("edition") {
        if let Some(pc) = price_col {
            return plans_as_rows(header, &rows[1..], pc, source_path);
        }
    }
    // Plans as columns: some body row carries prices.
    let body = &rows[1..];
    let price_rows =
        body.iter().filter(|r| r.iter().skip(1).filter(|(_, t)| !parse_prices(t, None).is_empty()).count() >= 2);
    if price_rows.count() == 0 {
        return Vec::new();
    }
    let mut plans: Vec<Plan> = header[1..]
        .iter()
        .map(|(own, _)| Plan {
            name: own.clone(),
            prices: Vec::new(),
            limits: Vec::new(),
            features: Vec::new(),
            source_path: source_path.to_string(),
        })
        .collect();
    for row in body {
        let Some((label, _)) = row.first() else { continue };
        let label = label.trim();
        let is_price_row = label.to_lowercase().contains("price")
            || row.iter().skip(1).filter(|(_, t)| !parse_prices(t, None).is_empty()).count() >= 2;
        for (plan, (_, value)) in plans.iter_mut().zip(row.iter().skip(1)) {
            let value = value.trim();
            if is_price_row {
                let mut prices = parse_prices(value, implied_period(label));
                if prices.is_empty() && value.eq_ignore_ascii_case("free") {
                    prices.push(PlanPrice { amount: 0.0, currency: String::new(), period: implied_period(label) });
                }
                plan.prices.extend(prices);
            } else if is_yes(value) {
                plan.features.push(label.to_string());
            } else if !is_no(value) {
                plan.limits.push(PlanLimit { name: label.to_string(), value: value.to_string() });
            }
        }
    }
    plans.retain(|p| !p.name.is_empty());
    fill_free_currency(&mut plans);
    plans
}

fn plans_as_rows(
    header: &[(String, String)],
    body: &[Vec<(String, String)>],
    pc: usize,
    source_path: &str,
) -> Vec<Plan> {
    let mut plans = Vec::new();
    for row in body {
        let Some((name, _)) = row.first() else { continue };
        if name.trim().is_empty() {
            continue;
        }
        let mut plan = Plan {
            name: name.trim().to_string(),
            prices: Vec::new(),
            limits: Vec::new(),
            features: Vec::new(),
            source_path: source_path.to_string(),
        };
        for (i, (_, value)) in row.iter().enumerate().skip(1) {
            let label = header.get(i).map(|h| h.1.trim().to_string()).unwrap_or_default();
            let value = value.trim();
            if i == pc {
                let mut prices = parse_prices(value, implied_period(&label));
                if prices.is_empty() && value.eq_ignore_ascii_case("free") {
                    prices.push(PlanPrice { amount: 0.0, currency: String::new(), period: implied_period(&label) });
                }
                plan.prices = prices;
            } else if is_yes(value) {
                plan.features.push(label);
            } else if !is_no(value) {
                plan.limits.push(PlanLimit { name: label, value: value.to_string() });
            }
        }
        plans.push(plan);
    }
    fill_free_currency(&mut plans);
    plans
}

/// "Free" prices take the currency the other plans use.
fn fill_free_currency(plans: &mut [Plan]) {
    let currency = plans.iter().flat_map(|p| &p.prices).find(|p| !p.currency.is_empty()).map(|p| p.currency.clone());
    if let Some(c) = currency {
        for price in plans.iter_mut().flat_map(|p| p.prices.iter_mut()) {
            if price.currency.is_empty() {
                price.currency = c.clone();
            }
        }
    }
}

fn plans_from_cards(doc: &Html, source_path: &str) -> Vec<Plan> {
    let mut plans = Vec::new();
    for el in doc.select(&CARD) {
        if inside_dropped(el) || !is_card(el) {
            continue;
        }
        // Innermost: no descendant that is itself a card.
        if el.select(&CARD).any(|d| d.id() != el.id() && is_card(d)) {
            continue;
        }
        let Some(heading) = el.select(&HEADING).next() else { continue };
        let heading_text = text_of(heading);
        let name = plan_name(&heading_text);
        if name.is_empty() || name.split_whitespace().count() > 4 {
            continue;
        }
        // The card's first price, plus any with another period (a monthly/yearly pair); a period only
        // when written next to the price ("$0 forever" has none).
        let mut prices: Vec<PlanPrice> = Vec::new();
        for p in parse_prices(&text_of(el), None) {
            if prices.is_empty() || prices.iter().all(|q| q.period != p.period) {
                prices.push(p);
            }
        }
        let mut features = Vec::new();
        let mut limits = Vec::new();
        for li in el.select(&ITEM) {
            let t = text_of(li);
            if t.is_empty() {
                continue;
            }
            if let Some(c) = LEADING_NUMBER.captures(&t) {
                limits.push(PlanLimit { name: c["what"].trim().to_string(), value: c["num"].trim().to_string() });
            }
            features.push(t);
        }
        plans.push(Plan { name, prices, limits, features, source_path: source_path.to_string() });
    }
    plans
}

/// Exactly one heading, a price in its text, and no table (tables are read as tables).
fn is_card(el: ElementRef<'_>) -> bool {
    el.select(&HEADING).count() == 1 && el.select(&TABLE).next().is_none() && PRICE.is_match(&text_of(el))
}

/// The plan name from a card heading: the text before any price or dash ("Starter — $19/month").
fn plan_name(heading: &str) -> String {
    let cut = PRICE.find(heading).map(|m| m.start()).unwrap_or(heading.len());
    heading[..cut].trim().trim_end_matches(['—', '–', '-', ':', '|', '·']).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_with_symbols_words_and_periods() {
        let p = parse_prices("€290 per year or $29/mo, 12 EUR a month", None);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].amount, p[0].currency.as_str(), p[0].period), (290.0, "EUR", Some(BillingPeriod::Year)));
        assert_eq!((p[1].amount, p[1].currency.as_str(), p[1].period), (29.0, "USD", Some(BillingPeriod::Month)));
        assert_eq!((p[2].amount, p[2].currency.as_str(), p[2].period), (12.0, "EUR", Some(BillingPeriod::Month)));
        assert_eq!(parse_prices("$2,490/year", None)[0].amount, 2490.0);
    }

    #[test]
    fn card_headings_lose_their_price() {
        assert_eq!(plan_name("Starter — $19/month"), "Starter");
        assert_eq!(plan_name("Pro"), "Pro");
    }

    fn fixture(rel: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn summary(p: &Plan) -> String {
        let prices = p.prices.iter().map(|x| x.display()).collect::<Vec<_>>().join(" or ");
        format!("{} {prices}", p.name)
    }

    #[test]
    fn sample_kb_comparison_table() {
        let plans = extract_plans(&fixture("sample-kb/pricing.html"), "pricing.html");
        let names: Vec<String> = plans.iter().map(summary).collect();
        assert_eq!(
            names,
            vec![
                "Free $0/month or $0/year",
                "Starter $19/month or $190/year",
                "Team $79/month or $790/year",
                "Business $249/month or $2,490/year",
            ]
        );
        let team = &plans[2];
        assert_eq!(team.limit("monitors"), Some("100"));
        assert_eq!(team.limit("check interval"), Some("30 seconds"));
        assert_eq!(team.limit("users"), Some("10 (extra seat $8/month)"));
        assert!(team.features.contains(&"On-call schedules & escalation".to_string()), "{:?}", team.features);
        let business = &plans[3];
        assert!(business.features.contains(&"Audit log".to_string()));
        assert!(business.features.contains(&"SSO (SAML)".to_string()), "{:?}", business.features);
        assert!(!plans[0].features.contains(&"Audit log".to_string()));
        assert!(plans.iter().all(|p| p.source_path == "pricing.html"));
    }

    #[test]
    fn plans_as_table_rows_with_marks_and_euros() {
        let plans = extract_plans(&fixture("tests/data/pricing/table.html"), "pricing");
        let names: Vec<String> = plans.iter().map(summary).collect();
        assert_eq!(names, vec!["Hobby €0/month", "Pro €49/month", "Scale €199/month", "Enterprise "]);
        assert_eq!(plans[1].limit("ingest"), Some("20 GB/day"));
        assert_eq!(plans[1].limit("seats"), Some("5"));
        assert_eq!(plans[2].features, vec!["Live tail".to_string(), "SAML SSO".to_string()]);
        assert_eq!(plans[1].features, vec!["Live tail".to_string()]);
        assert_eq!(plans[3].limit("retention"), Some("Up to 1 year"));
    }

    #[test]
    fn plan_cards_with_lists() {
        let plans = extract_plans(&fixture("tests/data/pricing/cards.html"), "pricing");
        let names: Vec<String> = plans.iter().map(summary).collect();
        assert_eq!(names, vec!["Basic $0", "Plus $29/month", "Agency €290/year"]);
        assert_eq!(plans[1].limit("responses"), Some("10,000"));
        assert_eq!(plans[2].limit("client workspaces"), Some("10"));
        assert!(plans[2].features.contains(&"White-label domains".to_string()));
        assert_eq!(plans[1].features.len(), 4);
    }

    #[test]
    fn a_header_of_plans_over_a_row_of_prices() {
        let html = "<table><tr><th>Free</th><th>Standard</th><th>Pro</th><th>Enterprise</th></tr>\
                    <tr><td>N/A</td><td>$29</td><td>$399</td><td>Custom</td></tr></table>";
        let plans = extract_plans(html, "pricing");
        let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["Free", "Standard", "Pro", "Enterprise"]);
        assert_eq!(plans[1].prices[0].amount, 29.0);
        assert_eq!(plans[2].prices[0].amount, 399.0);
    }

    #[test]
    fn cost_lines_and_totals_are_not_plans() {
        let html = "<table><tr><th>Plan</th><th>Price</th></tr>\
                    <tr><td>Subscription</td><td>$5/month</td></tr><tr><td>Total Bill</td><td>$15</td></tr>\
                    <tr><td>Included Usage</td><td>$5</td></tr></table>";
        assert!(extract_plans(html, "bill").is_empty());
        assert!(looks_like_plan_name("Hobby") && looks_like_plan_name("Pro") && looks_like_plan_name("Team Plus"));
        assert!(
            !looks_like_plan_name("Total Bill") && !looks_like_plan_name("Messages") && !looks_like_plan_name("$5")
        );
    }

    #[test]
    fn pages_without_plans_yield_nothing() {
        assert!(extract_plans("<main><h2>About</h2><p>We like logs.</p></main>", "about").is_empty());
        assert!(extract_plans("<table><tr><td>a</td><td>b</td></tr></table>", "x").is_empty());
    }
}
