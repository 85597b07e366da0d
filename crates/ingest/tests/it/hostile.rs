//! Issue 15 item 7: a folder of 30 hostile files (`benches/hostile/gen.py`: 20,000 tiny headings, a 12 MB
//! "word", huge lines, binary, invalid UTF-8, deep nesting, pathological Markdown/HTML/JSON/YAML, a
//! 50,000-row FAQ) is ingested completely: every file ends indexed, skipped or failed with a reason,
//! and no document goes past the per-document budget (documents cut by it say so). No timing is
//! asserted; the time is a benchmark (`benches/hostile/run.sh`, BENCHMARKS.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use throughline_core::NoProgress;
use throughline_ingest::chunk::DocBudget;
use throughline_ingest::{ingest_path, IngestConfig};

use crate::crawl::open_kb;

fn generate(dir: &Path) -> Vec<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../benches/hostile/gen.py");
    let status = std::process::Command::new("python3").arg(&script).arg(dir).status().expect("python3 runs");
    assert!(status.success(), "{} failed", script.display());
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn issue_15_a_hostile_folder_is_ingested_completely_with_reasons() {
    let src = tempfile::tempdir().unwrap();
    let files = generate(src.path());
    assert_eq!(files.len(), 30, "{files:?}");
    let data = tempfile::tempdir().unwrap();
    let kb = open_kb(data.path());
    let summary = ingest_path(&kb, src.path(), &IngestConfig::default(), &NoProgress).expect("the run completes");

    let docs: BTreeMap<String, u32> =
        kb.store().documents(kb.info().id, None).unwrap().into_iter().map(|d| (d.path, d.chunk_count)).collect();
    let mut outcome: BTreeMap<&str, String> = BTreeMap::new();
    for f in &files {
        let failed = summary.failed.iter().find(|p| &p.item == f).map(|p| format!("failed: {}", p.reason));
        let skipped = summary.skipped.iter().find(|p| &p.item == f).map(|p| format!("skipped: {}", p.reason));
        let indexed = docs.get(f).map(|n| {
            let cut = summary.truncated.iter().find(|p| &p.item == f).map(|p| format!(" ({})", p.reason));
            format!("indexed: {n} chunks{}", cut.unwrap_or_default())
        });
        let all: Vec<String> = [failed, skipped, indexed].into_iter().flatten().collect();
        assert_eq!(all.len(), 1, "{f} has exactly one outcome: {all:?}");
        outcome.insert(f.as_str(), all.into_iter().next().unwrap());
    }
    for (f, o) in &outcome {
        println!("{f}: {o}");
    }
    let budget = DocBudget::default();
    // Every document within the chunk budget; nothing failed without a reason naming the file's problem.
    for (path, n) in &docs {
        assert!((*n as usize) <= budget.max_chunks, "{path}: {n} chunks");
    }
    for p in summary.failed.iter().chain(&summary.skipped) {
        assert!(!p.reason.trim().is_empty(), "{}: no reason", p.item);
    }
    assert!(summary.chunks_written <= budget.max_chunks * files.len());

    // The 20,000 tiny headings: merged, then cut at the budget, and said so.
    let o = &outcome["tiny-headings.md"];
    assert!(o.starts_with("indexed: 400 chunks (truncated: over 400 chunks (kept the first 400 of "), "{o}");
    // The 12 MB word: only its first million characters chunked, in bounded chunks.
    let o = &outcome["one-word.txt"];
    assert!(o.contains("truncated: text over 1,000,000 characters (chunked the first 1,000,000 of 12,000,000)"), "{o}");
    // No chunk anywhere holds more than the chunker's byte bound (40 bytes a word piece of the budget).
    let ids = kb.store().chunk_ids(kb.info().id).unwrap();
    for (doc, chunk) in kb.store().chunks_with_docs(kb.info().id, &ids).unwrap() {
        assert!(chunk.text.len() <= 200 * 40, "{}: a chunk of {} bytes", doc.path, chunk.text.len());
    }
    // Ordinary files among them are indexed whole; the broken ones fail with the file's own reason.
    assert_eq!(outcome["naïve notes ünïcödé.md"], "indexed: 1 chunks");
    assert!(outcome
        [format!("{}/deep-page.md", (0..40).map(|i| format!("d{i}")).collect::<Vec<_>>().join("/")).as_str()]
    .starts_with("indexed: 1 chunks"));
    assert!(outcome["invalid-utf8.md"].starts_with("failed: not valid UTF-8 text"), "{}", outcome["invalid-utf8.md"]);
    assert!(outcome["binary.md"].starts_with("failed: not valid UTF-8 text (binary data)"), "{}", outcome["binary.md"]);
    assert!(outcome["empty.md"].starts_with("failed: file is empty"), "{}", outcome["empty.md"]);
    assert!(outcome["tool.exe"].starts_with("skipped: unsupported file type"), "{}", outcome["tool.exe"]);
}
