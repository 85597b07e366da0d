//! The main path on the whole sample knowledge base, and incremental re-ingestion on a small one.

use std::sync::OnceLock;

use crate::harness::{copy_sample, hit_paths, sample_kb, Env};

/// sample-kb ingested once and shared by the tests of this module.
fn sample() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let env = Env::new();
        let s = env.json(&["ingest", "--kb", "sample", sample_kb().to_str().unwrap(), "--json"]);
        assert_eq!(s["added"], 40, "{s}");
        assert_eq!(s["failed"], 0, "{s}");
        assert_eq!(s["skipped"], 1, "{s}");
        assert_eq!(s["skipped_items"][0]["item"], "queries.jsonl");
        env
    })
}

#[test]
fn hybrid_search_answers_customer_questions_with_the_right_pages() {
    let env = sample();
    let v = env.json(&["search", "--kb", "sample", "how much is the team plan per month", "--json"]);
    let hits = v["hits"].as_array().unwrap();
    assert!(hit_paths(&v).iter().take(3).any(|p| p == "pricing.html"), "{:?}", hit_paths(&v));
    // Every hit carries its snippet, heading path, and each retriever's rank.
    for h in hits {
        assert!(!h["snippet"].as_str().unwrap().is_empty());
        assert!(h["scores"]["bm25"].is_object() || h["scores"]["vector"].is_object());
    }
    // One result per document.
    let mut paths = hit_paths(&v);
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), hits.len());

    // A typo and paraphrase still finds the password reset article.
    let v = env.json(&["search", "--kb", "sample", "how do i reset my pasword", "--json"]);
    assert_eq!(hit_paths(&v)[0], "help/reset-password.md", "{:?}", hit_paths(&v));

    // Filters by page type.
    let v = env.json(&["search", "--kb", "sample", "SSO", "--type", "pricing", "--json"]);
    assert!(v["hits"].as_array().unwrap().iter().all(|h| h["page_type"] == "pricing"));
    assert_eq!(hit_paths(&v), vec!["pricing.html".to_string()]);

    // Keyword-only mode reports BM25 ranks and no vector ranks.
    let v = env.json(&["search", "--kb", "sample", "monitor_limit_reached", "--mode", "bm25", "--json"]);
    let first = &v["hits"][0];
    assert_eq!(first["scores"]["bm25"]["rank"], 1);
    assert!(first["scores"]["vector"].is_null());
}

#[test]
fn eval_hybrid_beats_both_single_modes() {
    let env = sample();
    let q = sample_kb().join("queries.jsonl");
    let v = env.json(&["eval", "--kb", "sample", "--queries", q.to_str().unwrap(), "--json"]);
    let ndcg = |m: &str| v[m]["ndcg@10"].as_f64().unwrap();
    assert!(v["queries"].as_u64().unwrap() >= 55, "{v}");
    assert!(ndcg("hybrid") > ndcg("bm25"), "{v}");
    assert!(ndcg("hybrid") > ndcg("vector"), "{v}");
    assert!(ndcg("hybrid") > 0.8, "{v}");
    assert!(v["hybrid"]["recall@50"].as_f64().unwrap() > 0.95, "{v}");
}

#[test]
fn kbs_docs_and_page_types() {
    let env = sample();
    let kbs = env.json(&["kbs", "--json"]);
    assert_eq!(kbs[0]["name"], "sample");
    assert_eq!(kbs[0]["documents"], 40);
    let docs = env.json(&["docs", "--kb", "sample", "--json"]);
    let type_of = |p: &str| docs.as_array().unwrap().iter().find(|d| d["path"] == p).map(|d| d["page_type"].clone());
    assert_eq!(type_of("pricing.html").unwrap(), "pricing");
    assert_eq!(type_of("faq.json").unwrap(), "faq");
    assert_eq!(type_of("changelog.md").unwrap(), "changelog");
    assert_eq!(type_of("help/reset-password.md").unwrap(), "help");
    assert_eq!(type_of("docs/sso-saml.mdx").unwrap(), "docs");
    assert_eq!(type_of("legal/privacy.md").unwrap(), "legal");
    assert_eq!(type_of("blog/reduce-alert-fatigue.md").unwrap(), "blog");
    // The FAQ is one chunk per question.
    let faq = docs.as_array().unwrap().iter().find(|d| d["path"] == "faq.json").unwrap();
    assert!(faq["chunks"].as_u64().unwrap() >= 15);
}

#[test]
fn reingest_is_incremental_and_deletes_vanished_documents() {
    let env = Env::new();
    let src = env.src();
    copy_sample(&src, &["help/reset-password.md", "help/invite-users.md", "help/refund-policy.md", "docs/webhooks.md"]);
    let s = env.json(&["ingest", "--kb", "small", src.to_str().unwrap(), "--json"]);
    assert_eq!((s["added"].as_u64(), s["updated"].as_u64()), (Some(4), Some(0)));

    // Nothing changed: nothing re-embedded.
    let s = env.json(&["ingest", "--kb", "small", src.to_str().unwrap(), "--json"]);
    assert_eq!((s["unchanged"].as_u64(), s["chunks_written"].as_u64()), (Some(4), Some(0)));

    // One changed, one deleted, one added.
    std::fs::write(
        src.join("help/invite-users.md"),
        "# Invite users\n\nTeammates join through the purple zeppelin button in Settings > Team.\n",
    )
    .unwrap();
    std::fs::remove_file(src.join("help/refund-policy.md")).unwrap();
    copy_sample(&src, &["help/cancel-subscription.md"]);
    let s = env.json(&["ingest", "--kb", "small", src.to_str().unwrap(), "--json"]);
    assert_eq!(
        (s["added"].as_u64(), s["updated"].as_u64(), s["deleted"].as_u64(), s["unchanged"].as_u64()),
        (Some(1), Some(1), Some(1), Some(2)),
        "{s}"
    );
    assert_eq!(s["kb_documents"], 4);
    let v = env.json(&["search", "--kb", "small", "purple zeppelin", "--mode", "bm25", "--json"]);
    assert_eq!(hit_paths(&v), vec!["help/invite-users.md".to_string()]);
    let v = env.json(&["search", "--kb", "small", "refund policy", "--json"]);
    assert!(!hit_paths(&v).contains(&"help/refund-policy.md".to_string()), "deleted page still found");

    // delete-kb removes it.
    let out = env.run(&["delete-kb", "small"]);
    assert!(out.status.success());
    let out = env.run(&["search", "--kb", "small", "refund"]);
    assert!(!out.status.success());
    assert!(crate::harness::stderr(&out).contains("knowledge base `small` does not exist"));
}
