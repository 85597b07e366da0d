//! Issue 12: pricing extraction measured on real pricing content — every page of the two real docs
//! corpora in `../shared/corpora` that the pipeline classifies as pricing goes through the same
//! Markdown-to-HTML rendering and extraction as ingestion, and the plans found are compared with a
//! hand-made list of each company's plans and monthly base prices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use throughline_core::PageType;
use throughline_ingest::classify::classify;
use throughline_ingest::load::markdown::{markdown_to_html, parse_markdown};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora").join(name)
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            markdown_files(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("md" | "mdx")) {
            out.push(p);
        }
    }
}

/// Plan name (lowercase) → monthly base price in dollars (`None`: custom or not priced), as extracted.
fn extracted(root: &Path) -> BTreeMap<String, Option<f64>> {
    let mut files = Vec::new();
    markdown_files(root, &mut files);
    files.sort();
    let mut out: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        if classify(&rel, &parse_markdown(&text, &rel)) != PageType::Pricing {
            continue;
        }
        for p in throughline_ingest::extract_plans(&markdown_to_html(&text), &rel) {
            let price = p.prices.first().map(|x| x.amount);
            let e = out.entry(p.name.to_lowercase()).or_insert(price);
            if e.is_none() {
                *e = price;
            }
        }
    }
    out
}

/// A plan's name (lowercase) and its monthly base price (`None`: custom or not priced).
type Expected = (&'static str, Option<f64>);

/// Precision and recall of plan names, and the share of expected prices found on the right plan.
fn score(found: &BTreeMap<String, Option<f64>>, expected: &[Expected]) -> (f64, f64, f64) {
    let hits = expected.iter().filter(|(n, _)| found.contains_key(*n)).count();
    let priced: Vec<_> = expected.iter().filter(|(_, p)| p.is_some()).collect();
    let right = priced.iter().filter(|(n, p)| found.get(*n).copied().flatten() == *p).count();
    (
        hits as f64 / found.len().max(1) as f64,
        hits as f64 / expected.len() as f64,
        right as f64 / priced.len().max(1) as f64,
    )
}

#[test]
fn issue_12_plans_and_prices_of_real_pricing_pages() {
    let cases: [(&str, &[Expected]); 2] = [
        ("railway", &[("free", Some(0.0)), ("hobby", Some(5.0)), ("pro", Some(20.0)), ("enterprise", None)]),
        ("ably", &[("free", None), ("standard", Some(29.0)), ("pro", Some(399.0)), ("enterprise", None)]),
    ];
    for (name, expected) in cases {
        let found = extracted(&corpus(name));
        let (precision, recall, prices) = score(&found, expected);
        println!("{name}: plan precision {precision:.2}, recall {recall:.2}, prices {prices:.2}; found {found:?}");
        assert!(recall >= 1.0, "{name}: every plan is found: {found:?}");
        assert!(prices >= 1.0, "{name}: every base price is on its plan: {found:?}");
        assert!(precision >= 0.8, "{name}: few non-plans are taken for plans: {found:?}");
    }
}
