//! `throughline plans --kb NAME [--json]`: the pricing plans extracted from a knowledge base.

use std::process::ExitCode;

use throughline_server::wire::PlanView;

use super::App;

pub fn run(app: &App, kb: &str, json_out: bool) -> anyhow::Result<ExitCode> {
    let info = app.store.kb(kb)?.ok_or_else(|| anyhow::anyhow!("knowledge base `{kb}` not found"))?;
    let plans = app.store.plans(info.id)?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&plans.iter().map(PlanView::from).collect::<Vec<_>>())?);
        return Ok(ExitCode::SUCCESS);
    }
    if plans.is_empty() {
        println!("No pricing plans found in `{kb}` (plans are read from HTML pages classified as pricing).");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &plans {
        let prices = p.prices.iter().map(|x| x.display()).collect::<Vec<_>>().join(" or ");
        println!(
            "{} — {} ({})",
            p.name,
            if prices.is_empty() { "price on request".into() } else { prices },
            p.source_path
        );
        for l in &p.limits {
            println!("    {}: {}", l.name, l.value);
        }
        if !p.features.is_empty() {
            println!("    includes: {}", p.features.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
