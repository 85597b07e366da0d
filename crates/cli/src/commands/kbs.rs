//! `throughline kbs`, `throughline docs --kb NAME`, `throughline delete-kb NAME`.

use std::process::ExitCode;

use throughline_ingest::KnowledgeBase;
use throughline_server::wire::{Document, Kb};

use super::App;

pub fn list(app: &App, as_json: bool) -> anyhow::Result<ExitCode> {
    let kbs = app.store.list_kbs()?;
    if as_json {
        let out: Vec<_> = kbs.iter().map(Kb::from).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if kbs.is_empty() {
        println!(
            "No knowledge bases in {}. Create one with: throughline ingest --kb NAME PATH",
            app.config.data_dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<24} {:>9} {:>8}  model", "name", "documents", "chunks");
    for k in kbs {
        println!("{:<24} {:>9} {:>8}  {}", k.name, k.documents, k.chunks, k.model_id);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn docs(app: &App, name: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let kb = app.store.kb(name)?.ok_or_else(|| anyhow::anyhow!("knowledge base `{name}` does not exist"))?;
    let docs = app.store.documents(kb.id, None)?;
    if as_json {
        let out: Vec<_> = docs.iter().map(Document::from).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<48} {:<10} {:>6}  title", "path", "type", "chunks");
    for d in docs {
        println!("{:<48} {:<10} {:>6}  {}", d.path, d.page_type.as_str(), d.chunk_count, d.title);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn delete(app: &App, name: &str) -> anyhow::Result<ExitCode> {
    if KnowledgeBase::delete(&app.paths, app.store.as_ref(), name)? {
        println!("Deleted knowledge base `{name}`.");
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("knowledge base `{name}` does not exist")
    }
}
