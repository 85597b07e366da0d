//! `throughline kbs`, `throughline docs --kb NAME`, `throughline delete-kb NAME`.

use std::process::ExitCode;

use serde_json::json;
use throughline_core::KnowledgeStore;
use throughline_ingest::KnowledgeBase;

use super::App;

pub fn list(app: &App, as_json: bool) -> anyhow::Result<ExitCode> {
    let kbs = app.store.list_kbs()?;
    if as_json {
        let out: Vec<_> = kbs
            .iter()
            .map(|k| json!({"name": k.name, "id": k.id.to_string(), "documents": k.documents, "chunks": k.chunks, "model": k.model_id, "dim": k.dim, "batches": k.seq, "created_at": k.created_at}))
            .collect();
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
        let out: Vec<_> = docs
            .iter()
            .map(|d| json!({"id": d.id.to_string(), "source_id": d.source_id.to_string(), "path": d.path, "url": d.url, "title": d.title, "page_type": d.page_type.as_str(), "chunks": d.chunk_count, "bytes": d.byte_size, "updated_at": d.updated_at}))
            .collect();
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
