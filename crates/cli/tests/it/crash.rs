//! Killing the process mid-ingestion (SIGKILL, no chance to clean up) leaves the knowledge base
//! queryable at its last committed batch, and a re-run completes it without redoing committed work.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::harness::{copy_sample, hit_paths, Env};

const FILES: [&str; 12] = [
    "help/reset-password.md",
    "help/invite-users.md",
    "help/refund-policy.md",
    "help/cancel-subscription.md",
    "help/download-invoices.md",
    "help/update-payment-card.md",
    "help/change-plan.md",
    "help/delete-account.md",
    "docs/webhooks.md",
    "docs/slack-integration.md",
    "docs/sso-saml.mdx",
    "docs/status-pages.mdx",
];

#[test]
fn kill_9_mid_ingest_leaves_a_queryable_kb_and_a_rerun_completes_it() {
    let env = Env::new();
    let src = env.src();
    copy_sample(&src, &FILES);
    let mut child = env
        .cmd()
        .args(["ingest", "--kb", "kb", src.to_str().unwrap(), "--batch-size", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // Wait for the second committed batch, then kill without warning.
    let mut committed = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("committed batch") {
            committed += 1;
            if committed == 2 {
                break;
            }
        }
    }
    assert_eq!(committed, 2, "ingest ended before two batches were committed");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    // Queryable at the last commit: 2 or more documents, never a half-written one.
    let kbs = env.json(&["kbs", "--json"]);
    let docs = kbs[0]["documents"].as_u64().unwrap();
    assert!((4..12).contains(&docs), "{docs} documents after the kill");
    // Files go in path order, so the first batch held docs/slack-integration.md and docs/sso-saml.mdx.
    let v = env.json(&["search", "--kb", "kb", "SAML single sign-on Okta", "--json"]);
    assert_eq!(hit_paths(&v)[0], "docs/sso-saml.mdx");

    // The re-run skips what was committed and finishes the rest.
    let s = env.json(&["ingest", "--kb", "kb", src.to_str().unwrap(), "--json"]);
    assert_eq!(s["unchanged"].as_u64().unwrap(), docs, "{s}");
    assert_eq!(s["added"].as_u64().unwrap(), 12 - docs, "{s}");
    assert_eq!(s["kb_documents"], 12);
    let v = env.json(&["search", "--kb", "kb", "forgot password", "--json"]);
    assert_eq!(hit_paths(&v)[0], "help/reset-password.md");
}

#[test]
fn deleted_index_folder_is_rebuilt_from_sqlite() {
    let env = Env::new();
    let src = env.src();
    copy_sample(&src, &FILES[..3]);
    env.json(&["ingest", "--kb", "kb", src.to_str().unwrap(), "--json"]);
    std::fs::remove_dir_all(env.data().join("indexes")).unwrap();
    let out = env.run(&["search", "--kb", "kb", "refund", "--json"]);
    assert!(out.status.success());
    assert!(crate::harness::stderr(&out).contains("repaired indexes of `kb`"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hit_paths(&v)[0], "help/refund-policy.md");
}
