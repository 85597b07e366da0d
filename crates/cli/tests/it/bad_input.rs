//! Bad files and bad queries: each gets a clear message naming it; the rest is ingested; nothing stored
//! is lost.

use crate::harness::{copy_sample, hit_paths, stderr, Env};

#[test]
fn every_bad_file_is_reported_and_the_rest_is_ingested() {
    let env = Env::new();
    let src = env.src();
    copy_sample(&src, &["help/reset-password.md"]);
    std::fs::write(src.join("empty.md"), "").unwrap();
    std::fs::write(src.join("junk.md"), [0u8, 159, 146, 150, 0, 1, 2, 3, 4, 5, 0, 0].repeat(50)).unwrap();
    std::fs::write(src.join("latin1.md"), b"caf\xe9 cr\xe8me").unwrap();
    std::fs::write(src.join("tool.exe"), b"MZ").unwrap();
    std::fs::write(src.join("broken.json"), b"{\"question\": ").unwrap();
    std::fs::write(src.join("package.json"), b"{\"name\": \"x\"}").unwrap();
    // A 50 MB file (sparse, so the test stays cheap) over the default 20 MB limit.
    let big = std::fs::File::create(src.join("huge.md")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();
    let s = env.json(&["ingest", "--kb", "kb", src.to_str().unwrap(), "--json"]);
    assert_eq!(s["added"], 1, "{s}");
    // `failed` and `skipped` count; `failed_items` and `skipped_items` say which and why.
    let reason = |item: &str, list: &str| -> String {
        s[format!("{list}_items")]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["item"] == item)
            .map(|p| p["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{item} not in {list}: {s}"))
    };
    assert_eq!(reason("empty.md", "failed"), "file is empty");
    assert_eq!(reason("junk.md", "failed"), "not valid UTF-8 text (invalid byte at offset 1)");
    assert_eq!(reason("latin1.md", "failed"), "not valid UTF-8 text (invalid byte at offset 3)");
    assert_eq!(reason("huge.md", "failed"), "file is 52428800 bytes, over the 20000000-byte limit");
    assert!(reason("broken.json", "failed").starts_with("not valid JSON"));
    assert!(reason("package.json", "failed").starts_with("JSON is not FAQ data"));
    assert!(reason("tool.exe", "skipped").starts_with("unsupported file type `exe`"));

    // Now the good file goes bad: the failure is reported and the stored version is kept.
    std::fs::write(src.join("help/reset-password.md"), [0u8; 64]).unwrap();
    let out = env.run(&["ingest", "--kb", "kb", src.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2), "every file failed: exit code 2");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((s["deleted"].as_u64(), s["kb_documents"].as_u64()), (Some(0), Some(1)), "{s}");
    let v = env.json(&["search", "--kb", "kb", "forgot password reset link", "--json"]);
    assert_eq!(hit_paths(&v)[0], "help/reset-password.md");
}

#[test]
fn bad_paths_and_queries_get_clear_errors() {
    let env = Env::new();
    let out = env.run(&["ingest", "--kb", "kb", "/definitely/not/here"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/definitely/not/here: no such file or folder"), "{}", stderr(&out));
    let out = env.run(&["ingest", "--kb", "bad name", "."]);
    assert!(stderr(&out).contains("`bad name` is not a valid knowledge base name"), "{}", stderr(&out));

    let src = env.src();
    copy_sample(&src, &["help/invite-users.md"]);
    env.json(&["ingest", "--kb", "kb", src.to_str().unwrap(), "--json"]);
    let out = env.run(&["search", "--kb", "kb", "   "]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the query is empty"), "{}", stderr(&out));
    let out = env.run(&["search", "--kb", "kb", "invite", "--type", "nonsense"]);
    assert!(stderr(&out).contains("`nonsense` is not a page type"), "{}", stderr(&out));
    // An absurdly long query is answered, not a crash.
    let long = "invite teammates ".repeat(5_000);
    let v = env.json(&["search", "--kb", "kb", &long, "--json"]);
    assert_eq!(hit_paths(&v)[0], "help/invite-users.md");
    // Punctuation only: no keyword terms, but vector search still answers in hybrid mode.
    let v = env.json(&["search", "--kb", "kb", "???", "--json"]);
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["scores"]["bm25"].is_null() && h["scores"]["vector"].is_object()), "{v}");
}
