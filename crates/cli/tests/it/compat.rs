//! A data directory written by an earlier version (schema 1, tantivy index, vector index format 1) must
//! keep opening: `tests/data/v1-data-dir` was written by the first release and is committed as is.

use std::path::{Path, PathBuf};

use crate::harness::{hit_paths, stderr, Env};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_v1_data_dir_opens_without_rebuilding_and_answers() {
    let env = Env::new();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/v1-data-dir");
    copy_dir(&fixture, &env.data());
    let kbs = env.json(&["kbs", "--json"]);
    assert_eq!((kbs[0]["name"].as_str(), kbs[0]["documents"].as_u64()), (Some("compat"), Some(2)));
    let out = env.run(&["search", "--kb", "compat", "can I get my money back", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("repaired"), "the old indexes were rebuilt: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hit_paths(&v)[0], "refund-policy.md");
}
