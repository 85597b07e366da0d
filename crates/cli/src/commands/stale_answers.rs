//! `throughline stale-answers --kb NAME [--json]`: pages that changed or left a knowledge base since an
//! answer quoted them, with the conversations that quoted the old text.

use std::process::ExitCode;

use throughline_server::routes::freshness::stale_answers_json;
use throughline_server::wire::freshness::conversation_count;

use super::App;

pub fn run(app: &App, kb: &str, json_out: bool) -> anyhow::Result<ExitCode> {
    let info = app.store.kb(kb)?.ok_or_else(|| anyhow::anyhow!("knowledge base `{kb}` not found"))?;
    let answers = throughline_core::stale_answers(app.store.as_ref(), app.memory.as_ref(), &info.name)?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&stale_answers_json(&info.name, &answers))?);
        return Ok(ExitCode::SUCCESS);
    }
    if answers.is_empty() {
        println!("No answer quotes text that `{kb}` no longer has.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut page = "";
    for a in &answers {
        let c = &a.cited.citation;
        if c.path != page {
            page = &c.path;
            println!("{} ({}) — {}", c.path, c.title, a.change.as_str());
        }
        println!(
            "    agent {} · conversation {} · contact {} · message {}: quoted \"{}\"",
            a.cited.agent, a.cited.conversation, a.cited.contact, a.cited.message_id, c.quote
        );
    }
    println!("{} answers in {} conversations quote old text.", answers.len(), conversation_count(&answers));
    Ok(ExitCode::SUCCESS)
}
