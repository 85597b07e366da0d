//! Answers kept with the page versions they quoted, and the editable plan catalogue: a changed page is
//! listed with the conversations that quoted its old text; edited plans reach the agents.

use serde_json::{json, Value};

use crate::harness::{repo, TestServer};

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

async fn upload_and_wait(server: &TestServer, files: &[(&str, Vec<u8>)]) -> Value {
    let (status, body) = server.upload("sample", files).await;
    assert_eq!(status, 202, "{body}");
    let job = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    job
}

async fn sample(server: &TestServer) {
    let files: Vec<(&str, Vec<u8>)> =
        ["pricing.html", "help/refund-policy.md", "help/plan-limits.md", "docs/getting-started.md"]
            .into_iter()
            .map(|p| (p, std::fs::read(repo().join("sample-kb").join(p)).unwrap()))
            .collect();
    upload_and_wait(server, &files).await;
    let res = server.post("/v1/agents").json(&json!({"name": "demo", "kb": "sample"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_page_is_listed_with_the_conversations_that_quoted_its_old_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample(&server).await;

    let (s, turn) = json_of(
        server
            .post("/v1/agents/demo/chat")
            .json(&json!({"contact": "ana@acme.test", "message": "Can I get a refund, and within how many days?"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{turn}");
    assert!(
        turn["citations"].as_array().unwrap().iter().any(|c| c["path"] == "help/refund-policy.md"),
        "the refund page is cited: {turn}"
    );
    let conversation = turn["conversation_id"].as_str().unwrap().to_string();
    let message_id = turn["message_id"].as_i64().unwrap();

    // The memory view shows what the answer quoted, and from which chunk (version).
    let (_, memory) = json_of(server.get("/v1/agents/demo/contacts/ana@acme.test").send().await.unwrap()).await;
    let answer = memory["conversations"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id)
        .cloned()
        .expect("the answer is in memory");
    let quoted = answer["quoted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["path"] == "help/refund-policy.md")
        .cloned()
        .expect("the refund page's quote is stored");
    let quote = quoted["text"].as_str().unwrap().to_string();
    assert!(!quote.is_empty() && quoted["chunk_id"].is_string(), "{quoted}");
    // One quoted sentence per line, each taken verbatim from the page into the answer.
    for line in quote.lines() {
        assert!(turn["answer"].as_str().unwrap().contains(line), "{turn} vs {quote}");
    }

    // Nothing changed yet.
    let (s, stale) = json_of(server.get("/v1/kbs/sample/stale-answers").send().await.unwrap()).await;
    assert_eq!(s, 200, "{stale}");
    assert_eq!(stale["pages"], json!([]), "{stale}");

    // Re-uploading the other pages unchanged changes nothing; a new refund policy does.
    let new_policy = "# Refund policy\n\nAll sales are final. We do not offer refunds on any plan.\n";
    let job = upload_and_wait(&server, &[("help/refund-policy.md", new_policy.as_bytes().to_vec())]).await;
    assert_eq!(job["progress"]["summary"]["stale_answers"], json!(1), "{job}");
    assert_eq!(job["progress"]["summary"]["stale_conversations"], json!(1), "{job}");
    // The revised upload replaced the page (one document at that path, the new text), not added a second.
    assert_eq!(job["progress"]["summary"]["updated"], json!(1), "{job}");
    let (_, docs) = json_of(server.get("/v1/kbs/sample/documents").send().await.unwrap()).await;
    let at_path = docs["documents"].as_array().unwrap().iter().filter(|d| d["path"] == "help/refund-policy.md").count();
    assert_eq!(at_path, 1, "{docs}");
    let (_, hits) = json_of(
        server
            .post("/v1/kbs/sample/search")
            .json(&json!({"q": "refund within 14 days", "limit": 20}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let page_hits: Vec<&Value> =
        hits["hits"].as_array().unwrap().iter().filter(|h| h["path"] == "help/refund-policy.md").collect();
    assert!(!page_hits.is_empty(), "the new version is searchable: {hits}");
    for h in page_hits {
        assert!(!h["snippet"].as_str().unwrap_or("").contains("5–10 business days"), "old text still indexed: {h}");
    }

    let (_, stale) = json_of(server.get("/v1/kbs/sample/stale-answers").send().await.unwrap()).await;
    let pages = stale["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 1, "{stale}");
    assert_eq!(pages[0]["path"], "help/refund-policy.md");
    assert_eq!(pages[0]["change"], "changed");
    let a = &pages[0]["answers"][0];
    assert_eq!(a["conversation_id"], conversation.as_str(), "{stale}");
    assert_eq!(a["message_id"], message_id);
    assert_eq!(a["agent"], "demo");
    assert_eq!(a["quoted"], quote.as_str(), "the old text is what was quoted");
    assert_eq!((stale["answers"].as_u64(), stale["conversations"].as_u64()), (Some(1), Some(1)));

    // Unknown knowledge base.
    let (s, e) = json_of(server.get("/v1/kbs/nope/stale-answers").send().await.unwrap()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("not_found")), "{e}");
    let res = server.client.get(server.url("/v1/kbs/sample/stale-answers")).send().await.unwrap();
    assert_eq!(res.status(), 401, "admin only");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_plan_catalogue_is_validated_kept_and_quoted_by_the_agents() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample(&server).await;

    let (_, cat) = json_of(server.get("/v1/kbs/sample/plans").send().await.unwrap()).await;
    assert_eq!(cat["edited"], false, "{cat}");
    let mut plans = cat["plans"].as_array().unwrap().clone();
    let team = plans.iter_mut().find(|p| p["name"] == "Team").expect("a Team plan");
    assert_eq!(team["prices"][0]["amount"], json!(79.0), "{team}");
    team["prices"][0]["amount"] = json!(99.0);

    // Field-level errors name the bad field; nothing is saved.
    let mut bad = plans.clone();
    bad[1]["prices"][0]["amount"] = json!(-5);
    let put = |body: Value| server.put("/v1/kbs/sample/plans").json(&body);
    let (s, e) = json_of(put(json!({"plans": bad})).send().await.unwrap()).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("plans[1].prices[0].amount")), "{e}");
    let mut bad = plans.clone();
    bad[0]["period"] = json!("weekly");
    let (s, e) = json_of(put(json!({"plans": bad})).send().await.unwrap()).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("plans[0].period")), "{e}");
    let (s, e) = json_of(put(json!({"plans": [{"name": "A"}, {"name": "a"}]})).send().await.unwrap()).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("plans[1].name")), "{e}");
    let (s, e) = json_of(put(json!({"plan": []})).send().await.unwrap()).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("plan")), "{e}");
    let (_, cat) = json_of(server.get("/v1/kbs/sample/plans").send().await.unwrap()).await;
    assert_eq!(cat["edited"], false, "rejected edits are not saved: {cat}");

    // The edit (in the shape GET returns, `display` included) is saved and the agent gets a version.
    let (s, saved) = json_of(put(json!({"plans": plans})).send().await.unwrap()).await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["edited"], true);
    assert_eq!(saved["agents_updated"], json!([{"name": "demo", "version": 2}]), "{saved}");
    let price = |cat: &Value, key: &str| {
        cat[key].as_array().unwrap().iter().find(|p| p["name"] == "Team").unwrap()["prices"][0]["amount"].clone()
    };
    assert_eq!((price(&saved, "plans"), price(&saved, "extracted")), (json!(99.0), json!(79.0)));

    // Re-ingesting the pricing page keeps the edit.
    let page = std::fs::read(repo().join("sample-kb/pricing.html")).unwrap();
    let edited = String::from_utf8(page).unwrap().replace("Free", "Hobby");
    upload_and_wait(&server, &[("pricing.html", edited.into_bytes())]).await;
    let (_, cat) = json_of(server.get("/v1/kbs/sample/plans").send().await.unwrap()).await;
    assert_eq!(price(&cat, "plans"), json!(99.0), "{cat}");
    assert!(cat["extracted"].as_array().unwrap().iter().any(|p| p["name"] == "Hobby"), "re-extracted: {cat}");

    // The agent quotes the edited price when a usage cap is reached.
    let (s, ev) = json_of(
        server
            .post("/v1/events")
            .json(&json!({"agent": "demo", "contact": "ops@acme.test", "name": "limit_reached", "properties": {"metric": "monitors", "plan": "Starter"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{ev}");
    let text = ev["proactive"]["text"].as_str().unwrap();
    assert!(text.contains("Team") && text.contains("$99"), "{ev}");

    // Back to extraction.
    let (s, cat) = json_of(server.delete("/v1/kbs/sample/plans").send().await.unwrap()).await;
    assert_eq!((s, &cat["edited"]), (200, &json!(false)), "{cat}");
    assert_eq!(price(&cat, "plans"), json!(79.0));
    server.stop().await;
}
