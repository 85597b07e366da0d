//! `plans`, `agent create|show|export|import`, `chat` with piped stdin, `event` and `eval-answers`.

use std::io::Write;
use std::process::Stdio;

use crate::harness::{copy_sample, Env};

fn small_kb() -> Env {
    let env = Env::new();
    copy_sample(
        &env.src(),
        &[
            "pricing.html",
            "faq.json",
            "docs/getting-started.md",
            "docs/create-first-monitor.md",
            "help/slack-alerts-stopped.md",
            "help/plan-limits.md",
        ],
    );
    let s = env.json(&["ingest", "--kb", "small", env.src().to_str().unwrap(), "--json"]);
    assert_eq!(s["added"], 6, "{s}");
    env
}

#[test]
fn plans_agent_chat_event_and_eval() {
    let env = small_kb();
    let plans = env.json(&["plans", "--kb", "small", "--json"]);
    let names: Vec<&str> = plans.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Free", "Starter", "Team", "Business"]);
    assert_eq!(plans[2]["prices"][0]["display"], "$79/month");
    assert_eq!(plans[2]["limits"][0], serde_json::json!({"name": "Monitors", "value": "100"}));

    let out = env.run(&["agent", "create", "--name", "uptrail", "--kb", "small"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("Created agent `uptrail` (version 1) for Uptrail over small: 4 plans, 5 onboarding steps"),
        "{text}"
    );
    let again = env.run(&["agent", "create", "--name", "uptrail", "--kb", "small"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("agent `uptrail` already exists"));

    // Export, edit, import: a new version.
    let exported = env.run(&["agent", "export", "uptrail"]);
    let toml = String::from_utf8_lossy(&exported.stdout)
        .replace("confidence_threshold = 0.27\n", "confidence_threshold = 0.4\n");
    let file = env.dir.path().join("agent.toml");
    std::fs::write(&file, toml).unwrap();
    let imported = env.run(&["agent", "import", "uptrail", file.to_str().unwrap()]);
    assert_eq!(String::from_utf8_lossy(&imported.stdout).trim(), "Saved agent `uptrail` version 2.");
    let shown = env.run(&["agent", "show", "uptrail"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("confidence_threshold = 0.4\n"), "no float noise");
    std::fs::write(&file, "product = \"X\"\nknowledge_bases = []\n").unwrap();
    let bad = env.run(&["agent", "import", "uptrail", file.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("knowledge_bases is empty"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // A piped terminal conversation.
    let mut child = env
        .cmd()
        .args(["chat", "--agent", "uptrail", "--contact", "ana@acme.test"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"How much is the Team plan?\n/event limit_reached metric=monitors plan=Starter\n/memory\n/quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("$79"), "{text}");
    assert!(text.contains("(pricing.html)") || text.contains("(faq.json)"), "{text}");
    assert!(text.contains("The Team plan ($79/month) unlocks Monitors: 100"), "{text}");
    assert!(text.contains("fact plan = Starter"), "{text}");

    let out = env.run(&["event", "--contact", "new@acme.test", "signed_up"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Welcome to Uptrail! First step: Create your account"));
    let out = env.run(&["event", "--contact", "new@acme.test", "oops", "novalue"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("property `novalue` is not key=value"));

    let queries = env.dir.path().join("q.jsonl");
    std::fs::write(
        &queries,
        "{\"id\": \"a\", \"question\": \"How much is the Team plan?\", \"relevant\": {\"pricing.html\": 2}, \"stage\": \"acquisition\", \"answer_facts\": [\"$79\"]}\n\
         {\"id\": \"b\", \"question\": \"recipe for banana bread\", \"relevant\": {}, \"stage\": \"none\"}\n",
    )
    .unwrap();
    let m = env.json(&["eval-answers", "--agent", "uptrail", "--queries", queries.to_str().unwrap(), "--json"]);
    for k in [
        "fact_recall",
        "citation_precision",
        "stage_accuracy",
        "idk_precision",
        "idk_recall",
        "latency_p50_ms",
        "latency_p99_ms",
    ] {
        assert!(m[k].is_number(), "{k}: {m}");
    }
    assert_eq!(m["fact_recall"], 1.0, "{m}");
    assert_eq!(m["idk_recall"], 1.0, "{m}");
    assert_eq!(m["idk_precision"], 1.0, "{m}");
    // Per-question records, per-stage numbers and the confusion matrix of expected against decided stage.
    let records = m["records"].as_array().expect("records");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["facts_found"], serde_json::json!(["$79"]));
    assert_eq!(records[0]["citations"], serde_json::json!(["pricing.html"]));
    assert_eq!(records[1]["idk"], true);
    let decided = records[0]["stage"].as_str().unwrap();
    assert_eq!(m["confusion"]["acquisition"][decided], 1, "{m}");
    assert_eq!(m["confusion"]["none"]["idk"], 1, "{m}");
    assert_eq!(m["by_stage"]["none"]["idk_recall"], 1.0);
    assert!(m["calibration"]["domain_threshold"].as_f64().unwrap() > 0.0);
}
