//! Agents over HTTP: creation from a knowledge base, versions, publication with a public key and allowed
//! origins, server-minted sessions, chat (JSON and streamed), memory isolation, handoffs, events, audit
//! and the OpenAI-compatible endpoint.

use serde_json::{json, Value};

use crate::harness::{parse_sse, repo, TestServer};

async fn sample_agent(server: &TestServer) {
    let files: Vec<(&str, Vec<u8>)> = [
        "pricing.html",
        "help/reset-password.md",
        "help/refund-policy.md",
        "help/plan-limits.md",
        "docs/getting-started.md",
        "docs/create-first-monitor.md",
    ]
    .into_iter()
    .map(|p| (p, std::fs::read(repo().join("sample-kb").join(p)).unwrap()))
    .collect();
    let (status, body) = server.upload("sample", &files).await;
    assert_eq!(status, 202, "{body}");
    let job = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let res = server.post("/v1/agents").json(&json!({"name": "demo", "kb": "sample"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let agent: Value = res.json().await.unwrap();
    assert_eq!(agent["version"], 1);
    assert_eq!(agent["kbs"], json!(["sample"]));
}

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_agent_answers_visitors_with_citations_and_keeps_them_apart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample_agent(&server).await;

    // Plans were extracted from the pricing page.
    let (_, plans) = json_of(server.get("/v1/kbs/sample/plans").send().await.unwrap()).await;
    let names: Vec<&str> = plans["plans"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Free", "Starter", "Team", "Business"], "{plans}");

    // Not published yet: the public chat is closed.
    let res = server
        .client
        .post(server.url("/v1/agents/demo/sessions"))
        .header("x-throughline-key", "pk_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let (s, p) = json_of(
        server
            .post("/v1/agents/demo/publish")
            .json(&json!({"allowed_origins": ["https://www.uptrail.example"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let key = p["public_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("pk_"));

    // A page on another origin cannot use the key.
    let res = server
        .client
        .post(server.url("/v1/agents/demo/sessions"))
        .header("x-throughline-key", &key)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Preflight for the allowed origin.
    let res = server
        .client
        .request(reqwest::Method::OPTIONS, server.url("/v1/agents/demo/chat"))
        .header("origin", "https://www.uptrail.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://www.uptrail.example");

    let visitor = |origin: &'static str| {
        server
            .client
            .post(server.url("/v1/agents/demo/sessions"))
            .header("x-throughline-key", &key)
            .header("origin", origin)
    };
    let (s, a) = json_of(visitor("https://www.uptrail.example").send().await.unwrap()).await;
    assert_eq!(s, 201, "{a}");
    let session_a = a["session"].as_str().unwrap().to_string();
    let (_, b) = json_of(visitor("https://www.uptrail.example").send().await.unwrap()).await;
    let session_b = b["session"].as_str().unwrap().to_string();
    assert_ne!(session_a, session_b);

    let chat = |session: &str, message: &str| {
        server
            .client
            .post(server.url("/v1/agents/demo/chat"))
            .header("x-throughline-key", &key)
            .header("origin", "https://www.uptrail.example")
            .header("x-throughline-session", session)
            .json(&json!({"message": message}))
    };
    let (s, turn) = json_of(chat(&session_a, "How do I reset my password?").send().await.unwrap()).await;
    assert_eq!(s, 200, "{turn}");
    assert_eq!(turn["idk"], false, "{turn}");
    assert!(turn["answer"].as_str().unwrap().contains("[1]"), "{turn}");
    assert_eq!(turn["citations"][0]["path"], "help/reset-password.md", "{turn}");
    assert!(turn.get("trace").is_none(), "visitors never see the trace");

    // Visitor A says who they are; visitor B's memory has none of it.
    let (_, _) =
        json_of(chat(&session_a, "My email is ana@acme.test and we are a team of 12").send().await.unwrap()).await;
    let (_, hist_b) = json_of(
        server
            .client
            .get(server.url(&format!("/v1/agents/demo/sessions/{session_b}/messages")))
            .header("x-throughline-key", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(hist_b["messages"].as_array().unwrap().len(), 0, "{hist_b}");
    let (_, hist_a) = json_of(
        server
            .client
            .get(server.url(&format!("/v1/agents/demo/sessions/{session_a}/messages")))
            .header("x-throughline-key", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let texts: Vec<&str> = hist_a["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.contains("ana@acme.test")), "{texts:?}");
    // A made-up session is refused, and a session of another agent would be too.
    let (s, _) = json_of(chat("ses_made_up", "hello").send().await.unwrap()).await;
    assert_eq!(s, 401);

    // Streaming: deltas, then the turn, then done.
    let res = chat(&session_b, "Can I get a refund?").header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let events = parse_sse(&res.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"delta"), "{names:?}");
    assert_eq!(&names[names.len() - 2..], &["turn", "done"]);
    let streamed: String =
        events.iter().filter(|(n, _)| n == "delta").map(|(_, d)| d["text"].as_str().unwrap()).collect();
    let turn = &events[names.len() - 2].1;
    assert_eq!(streamed.trim(), turn["answer"].as_str().unwrap().trim());
    assert_eq!(turn["citations"][0]["path"], "help/refund-policy.md", "{turn}");

    // The admin sees the contact's memory, with the facts learned.
    let (_, contacts) = json_of(server.get("/v1/agents/demo/contacts").send().await.unwrap()).await;
    assert_eq!(contacts["contacts"].as_array().unwrap().len(), 2, "{contacts}");

    // After a restart the memory, the publication and the visitor's session are all still there.
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let (_, contacts) = json_of(server.get("/v1/agents/demo/contacts").send().await.unwrap()).await;
    assert_eq!(contacts["contacts"].as_array().unwrap().len(), 2, "{contacts}");
    let (s, hist_a) = json_of(
        server
            .client
            .get(server.url(&format!("/v1/agents/demo/sessions/{session_a}/messages")))
            .header("x-throughline-key", &key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{hist_a}");
    let texts: Vec<&str> = hist_a["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.contains("ana@acme.test")), "{texts:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_playground_handoff_event_audit_and_openai_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample_agent(&server).await;

    // Versioned configuration: a new version changes the threshold; both versions stay readable.
    let (_, agent) = json_of(server.get("/v1/agents/demo").send().await.unwrap()).await;
    let toml = agent["config_toml"].as_str().unwrap().to_string();
    let (s, updated) = json_of(
        server
            .client
            .put(server.url("/v1/agents/demo"))
            .bearer_auth(crate::harness::TOKEN)
            .json(&json!({"config_toml": toml}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, updated["version"].as_u64()), (200, Some(2)), "{updated}");
    let (_, versions) = json_of(server.get("/v1/agents/demo/versions").send().await.unwrap()).await;
    assert_eq!(versions["versions"].as_array().unwrap().len(), 2);
    let (s, bad) = json_of(
        server
            .client
            .put(server.url("/v1/agents/demo"))
            .bearer_auth(crate::harness::TOKEN)
            .json(&json!({"config_toml": "product = 3"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, bad["error"]["field"].as_str()), (400, Some("config_toml")), "{bad}");
    // Issue 13: an edit started from version 1 (another tab, or before a plan edit saved version 2) is a
    // conflict, not a silent overwrite of version 2.
    let save_from = |base: u32| {
        server
            .client
            .put(server.url("/v1/agents/demo"))
            .bearer_auth(crate::harness::TOKEN)
            .json(&json!({"config_toml": toml, "base_version": base}))
            .send()
    };
    let (s, stale) = json_of(save_from(1).await.unwrap()).await;
    assert_eq!((s, stale["error"]["code"].as_str()), (409, Some("version_conflict")), "{stale}");
    assert!(stale["error"]["message"].as_str().unwrap().contains("is at version 2, not 1"), "{stale}");
    let (s, ok) = json_of(save_from(2).await.unwrap()).await;
    assert_eq!((s, ok["version"].as_u64()), (200, Some(3)), "{ok}");

    // The admin chats as a named contact and sees the trace.
    let chat = |message: &str| {
        server.post("/v1/agents/demo/chat").json(&json!({"contact": "ops@acme.test", "message": message}))
    };
    let (s, turn) = json_of(chat("How do I create my first monitor?").send().await.unwrap()).await;
    assert_eq!(s, 200, "{turn}");
    assert!(turn["trace"]["retrieved"].as_array().unwrap().len() > 1, "{turn}");
    assert!(turn["trace"]["rewritten_query"].is_string());
    assert!(turn["trace"]["confidence"].as_f64().unwrap() > 0.0);

    // A blank contact key is refused before answering starts, streamed or not (400, naming the field).
    for stream in [false, true] {
        let body = json!({"contact": "  ", "message": "hello", "stream": stream});
        let (s, e) = json_of(server.post("/v1/agents/demo/chat").json(&body).send().await.unwrap()).await;
        assert_eq!((s, e["error"]["field"].as_str()), (400, Some("contact")), "stream {stream}: {e}");
    }

    // Asking for a human produces a handoff with the earlier context.
    let (_, turn) = json_of(chat("I want to talk to a human please").send().await.unwrap()).await;
    let handoff = turn["handoff"]["id"].as_str().expect("a handoff").to_string();
    let (_, list) = json_of(server.get("/v1/agents/demo/handoffs").send().await.unwrap()).await;
    let h = &list["handoffs"][0];
    assert_eq!(h["id"], handoff.as_str());
    assert!(h["transcript"].as_str().unwrap().contains("first monitor"), "{h}");
    let (s, _) = json_of(
        server
            .post(&format!("/v1/agents/demo/handoffs/{handoff}/reply"))
            .json(&json!({"message": "Hi, Sam from support here."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let (_, resolved) = json_of(
        server
            .post(&format!("/v1/agents/demo/handoffs/{handoff}/resolve"))
            .json(&json!({"resolution": "Walked them through monitor setup."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(resolved["status"], "resolved", "{resolved}");

    // A usage cap produces an expansion message naming the next plan.
    let (s, ev) = json_of(server.post("/v1/events").json(&json!({"agent": "demo", "contact": "ops@acme.test", "name": "limit_reached", "properties": {"metric": "monitors", "plan": "Starter"}})).send().await.unwrap()).await;
    assert_eq!(s, 200, "{ev}");
    assert!(ev["proactive"]["text"].as_str().unwrap().contains("Team"), "{ev}");

    let (_, memory) = json_of(server.get("/v1/agents/demo/contacts/ops@acme.test").send().await.unwrap()).await;
    assert!(
        memory["conversations"][0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Hi, Sam from support here."),
        "{memory}"
    );

    // An out-of-scope question is an honest "I don't know" and becomes a knowledge gap in the audit.
    let (_, idk) = json_of(chat("What is the recipe for banana bread?").send().await.unwrap()).await;
    assert_eq!(idk["idk"], true, "{idk}");
    let (_, audit) = json_of(server.get("/v1/agents/demo/audit").send().await.unwrap()).await;
    let total: u64 = audit["stages"].as_object().unwrap().values().map(|s| s["answers"].as_u64().unwrap()).sum();
    assert!(total >= 3, "{audit}");
    assert!(
        audit["knowledge_gaps"].as_array().unwrap().iter().any(|g| g["question"].as_str().unwrap().contains("banana")),
        "{audit}"
    );

    // OpenAI-compatible endpoint, non-streaming and streaming, with the public key as the API key.
    let (_, p) = json_of(server.post("/v1/agents/demo/publish").send().await.unwrap()).await;
    let key = p["public_key"].as_str().unwrap().to_string();
    let (s, c) = json_of(
        server
            .client
            .post(server.url("/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": "demo", "messages": [{"role": "user", "content": "How do I reset my password?"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["object"], "chat.completion");
    assert!(c["choices"][0]["message"]["content"].as_str().unwrap().contains("reset-password"), "{c}");
    let res = server
        .client
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(
            &json!({"model": "demo", "stream": true, "messages": [{"role": "user", "content": "Can I get a refund?"}]}),
        )
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    assert!(body.contains("chat.completion.chunk"));
    let (s, _) = json_of(
        server
            .client
            .post(server.url("/v1/chat/completions"))
            .bearer_auth("pk_wrong")
            .json(&json!({"model": "demo", "messages": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 401);

    // Issue 14: the model list names the agents the key may use; an unknown model is OpenAI's
    // model_not_found; unknown API paths and wrong methods are JSON errors, never the UI's HTML.
    let (s, m) = json_of(server.client.get(server.url("/v1/models")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["object"], "list");
    let ids: Vec<&str> = m["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["demo"], "{m}");
    let (s, m) =
        json_of(server.client.get(server.url("/v1/models/demo")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!((s, m["object"].as_str(), m["id"].as_str()), (200, Some("model"), Some("demo")), "{m}");
    let (s, e) =
        json_of(server.client.get(server.url("/v1/models/gpt-4o")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["error"]["code"], "model_not_found", "{e}");
    assert_eq!(e["error"]["param"], "model", "{e}");
    let (s, e) =
        json_of(server.client.get(server.url("/v1/models")).bearer_auth("pk_wrong").send().await.unwrap()).await;
    assert_eq!((s, e["error"]["type"].as_str()), (401, Some("authentication_error")), "{e}");
    for (method, path) in [("POST", "/v1/responses"), ("GET", "/v1/kbz"), ("DELETE", "/v1/agents/demo/nope")] {
        let res = server
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{method} {path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{method} {path}");
        let e: Value = res.json().await.unwrap();
        assert!(e.to_string().contains(path), "{e}");
    }
    let res = server.client.delete(server.url("/v1/health")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    let e: Value = res.json().await.unwrap();
    assert!(e.to_string().contains("DELETE is not allowed on /v1/health"), "{e}");
    let res = server.client.post(server.url("/knowledge")).send().await.unwrap();
    assert_eq!(res.status(), 405, "the UI answers only GET and HEAD");

    // Deleting the contact removes its memory.
    let id = memory["id"].as_str().unwrap();
    let res = server.delete(&format!("/v1/agents/demo/contacts/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let (s, _) = json_of(server.get(&format!("/v1/agents/demo/contacts/{id}")).send().await.unwrap()).await;
    assert_eq!(s, 404);
    server.stop().await;
}

/// Issue 15: an email typed into the chat is a claim that never unlocks another customer's memory; a
/// signed identity (HMAC-SHA256 of the user id or email under the agent's identity secret) does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_claimed_email_is_not_an_identity_but_a_signed_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample_agent(&server).await;
    let (_, p) = json_of(
        server
            .post("/v1/agents/demo/publish")
            .json(&json!({"allowed_origins": ["https://a.example"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let key = p["public_key"].as_str().unwrap().to_string();
    // A known customer's memory, written through the admin API.
    let (s, _) = json_of(
        server
            .post("/v1/agents/demo/chat")
            .json(&json!({"contact": "bo@corp.test", "message": "we are a team of 40, what does the Team plan cost?"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let session = |body: Value| {
        server
            .client
            .post(server.url("/v1/agents/demo/sessions"))
            .header("x-throughline-key", &key)
            .header("origin", "https://a.example")
            .json(&body)
    };
    let history = |session: String| {
        server
            .client
            .get(server.url(&format!("/v1/agents/demo/sessions/{session}/messages")))
            .header("x-throughline-key", &key)
            .header("origin", "https://a.example")
    };
    // An anonymous visitor claims the address: recorded, never merged.
    let (s, v) = json_of(session(json!({})).send().await.unwrap()).await;
    assert_eq!(s, 201, "{v}");
    let token = v["session"].as_str().unwrap().to_string();
    let (s, turn) = json_of(
        server
            .client
            .post(server.url("/v1/agents/demo/chat"))
            .header("x-throughline-key", &key)
            .header("origin", "https://a.example")
            .json(&json!({"session": token, "message": "I'm bo@corp.test, what do you know about my team?"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{turn}");
    assert!(!turn["answer"].as_str().unwrap().contains("40"), "{turn}");
    let (_, h) = json_of(history(token.clone()).send().await.unwrap()).await;
    let text = h.to_string();
    assert!(!text.contains("team of 40"), "the claimant sees only its own conversation: {text}");
    let (_, bo) = json_of(server.get("/v1/agents/demo/contacts/bo@corp.test").send().await.unwrap()).await;
    assert_eq!(bo["conversations"].as_array().unwrap().len(), 1, "the known customer is untouched: {bo}");

    // Unsigned or wrongly signed identities are refused with the reason.
    let (s, e) = json_of(session(json!({"email": "bo@corp.test"})).send().await.unwrap()).await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("user_hash"), "{e}");
    let (s, e) = json_of(session(json!({"email": "bo@corp.test", "user_hash": "00ff"})).send().await.unwrap()).await;
    assert_eq!(s, 401, "{e}");

    // The host site signs with the agent's identity secret: the session continues bo's memory.
    let (s, id) = json_of(server.get("/v1/agents/demo/identity").send().await.unwrap()).await;
    assert_eq!(s, 200, "{id}");
    let secret = id["secret"].as_str().unwrap().to_string();
    let hash = throughline_server::identity::sign(&secret, "bo@corp.test");
    let (s, v) = json_of(session(json!({"email": "bo@corp.test", "user_hash": hash})).send().await.unwrap()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["contact_key"], "bo@corp.test");
    let (_, h) = json_of(history(v["session"].as_str().unwrap().to_string()).send().await.unwrap()).await;
    assert!(h.to_string().contains("team of 40"), "{h}");
    // A user id works the same way; rotating the secret voids old signatures.
    let hash = throughline_server::identity::sign(&secret, "u-7");
    let (s, v) = json_of(session(json!({"user_id": "u-7", "user_hash": hash})).send().await.unwrap()).await;
    assert_eq!((s, v["contact_key"].as_str()), (201, Some("user:u-7")), "{v}");
    let (s, _) = json_of(server.post("/v1/agents/demo/identity/rotate").send().await.unwrap()).await;
    assert_eq!(s, 200);
    let (s, _) = json_of(session(json!({"user_id": "u-7", "user_hash": hash})).send().await.unwrap()).await;
    assert_eq!(s, 401);
}

/// `POST /v1/chat/completions` with the admin token.
async fn completion(server: &TestServer, body: Value) -> (u16, Value) {
    json_of(server.post("/v1/chat/completions").json(&body).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_openai_calls_are_their_messages_with_token_budgets_and_clear_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample_agent(&server).await;

    // The conversation is `messages`: a follow-up reads the earlier turns the client sent.
    let history = json!([
        {"role": "user", "content": "Tell me about the Team plan"},
        {"role": "assistant", "content": "The Team plan is for growing teams [1]."},
        {"role": "user", "content": "how much is it?"}
    ]);
    let (s, c) = completion(&server, json!({"model": "demo", "messages": history})).await;
    assert_eq!(s, 200, "{c}");
    let rewritten = c["throughline"]["trace"]["rewritten_query"].as_str().unwrap();
    assert!(rewritten.contains("team plan"), "{rewritten}");
    assert!(c["choices"][0]["message"]["content"].as_str().unwrap().contains("$79"), "{c}");
    // Alone, the same words carry no subject.
    let (_, alone) =
        completion(&server, json!({"model": "demo", "messages": [{"role": "user", "content": "how much is it?"}]}))
            .await;
    assert_eq!(alone["throughline"]["trace"]["rewritten_query"], "how much is it?", "{alone}");
    // Usage counts model tokens of every message sent.
    assert!(c["usage"]["prompt_tokens"].as_u64().unwrap() > alone["usage"]["prompt_tokens"].as_u64().unwrap());

    // Without `user`, every call is its own anonymous contact; with it, one remembered contact.
    for _ in 0..2 {
        completion(&server, json!({"model": "demo", "messages": [{"role": "user", "content": "Can I get a refund?"}]}))
            .await;
        completion(
            &server,
            json!({"model": "demo", "user": "u-42", "messages": [{"role": "user", "content": "Can I get a refund?"}]}),
        )
        .await;
    }
    let (_, contacts) = json_of(server.get("/v1/agents/demo/contacts").send().await.unwrap()).await;
    let keys: Vec<&str> = contacts["contacts"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys.iter().filter(|k| k.starts_with("openai:anonymous:")).count(), 4, "{keys:?}");
    assert_eq!(keys.iter().filter(|k| **k == "openai:u-42").count(), 1, "{keys:?}");
    assert!(!keys.contains(&"openai:default"), "{keys:?}");

    // `max_tokens` cuts the answer between words, with `finish_reason: "length"`.
    let ask = json!([{"role": "user", "content": "How do I reset my password?"}]);
    let (s, c) = completion(&server, json!({"model": "demo", "messages": ask, "max_tokens": 8})).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["choices"][0]["finish_reason"], "length", "{c}");
    let tokens = c["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..=8).contains(&tokens), "{c}");
    let (_, full) = completion(&server, json!({"model": "demo", "messages": ask})).await;
    let cut = c["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(full["choices"][0]["message"]["content"].as_str().unwrap().starts_with(cut), "{cut}");
    assert_eq!(full["choices"][0]["finish_reason"], "stop");

    // Streamed with a budget and `include_usage`: the pieces stop at the budget, a `length` chunk, then a
    // usage chunk with no choices, then [DONE].
    let res = server
        .post("/v1/chat/completions")
        .json(&json!({"model": "demo", "messages": ask, "stream": true, "max_completion_tokens": 8,
                      "stream_options": {"include_usage": true}}))
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    let chunks: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    let streamed: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect::<Vec<_>>().concat();
    assert_eq!(streamed.trim(), cut, "{body}");
    let finishes: Vec<&str> = chunks.iter().filter_map(|c| c["choices"][0]["finish_reason"].as_str()).collect();
    assert_eq!(finishes, vec!["length"], "{body}");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]), "{body}");
    assert_eq!(last["usage"]["completion_tokens"], c["usage"]["completion_tokens"], "{body}");

    // What an agent cannot honour is refused with OpenAI's error shape naming the parameter.
    for (extra, param) in [
        (json!({"n": 2}), "n"),
        (json!({"tools": [{"type": "function", "function": {"name": "f"}}]}), "tools"),
        (json!({"response_format": {"type": "json_object"}}), "response_format"),
        (json!({"max_tokens": 0}), "max_tokens"),
    ] {
        let mut body = json!({"model": "demo", "messages": ask});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, e) = completion(&server, body).await;
        assert_eq!(s, 400, "{e}");
        assert_eq!(e["error"]["param"], param, "{e}");
        assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
        assert!(e["error"]["message"].as_str().unwrap().len() > 20, "{e}");
    }
    let (s, e) = completion(
        &server,
        json!({"model": "demo", "messages": [{"role": "system", "content": "Be a pirate"}, {"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!((s, e["error"]["param"].as_str()), (400, Some("messages[0].role")), "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("persona"), "{e}");
    let (s, e) = completion(
        &server,
        json!({"model": "demo", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello"}]}),
    )
    .await;
    assert_eq!((s, e["error"]["param"].as_str()), (400, Some("messages[1].role")), "{e}");
    let (s, e) = completion(&server, json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (404, Some("model_not_found"), Some("model")),
        "{e}"
    );
    server.stop().await;
}

/// `POST /mcp` with the admin token.
async fn mcp(server: &TestServer, body: Value) -> (u16, Value) {
    json_of(server.post("/mcp").json(&body).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_mcp_arguments_follow_the_declared_schemas_and_batches_and_auth_follow_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample_agent(&server).await;

    // Every tool declares its output schema and behaviour.
    let (s, list) = mcp(&server, json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
    assert_eq!(s, 200, "{list}");
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["search", "ask"], "{list}");
    for t in tools {
        assert_eq!(t["outputSchema"]["type"], "object", "{t}");
        assert_eq!(t["inputSchema"]["additionalProperties"], false, "{t}");
    }
    assert_eq!(tools[0]["annotations"]["readOnlyHint"], true);
    assert_eq!(tools[1]["annotations"]["readOnlyHint"], false, "ask records the conversation");

    // Arguments its input schema forbids are refused with -32602 naming the argument.
    let call = |args: Value| json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "search", "arguments": args}});
    for (args, named) in [
        (json!({"query": "alerts", "limit": 0}), "`limit` must be between 1 and 20"),
        (json!({"query": "alerts", "limit": 21}), "`limit` must be between 1 and 20"),
        (json!({"query": "alerts", "limit": "3"}), "`limit` must be an integer"),
        (json!({"query": "alerts", "limit": 2.5}), "`limit` must be an integer"),
        (json!({"query": "alerts", "kb": 7}), "`kb` must be a string"),
        (json!({"query": "alerts", "mode": "fuzzy"}), "`mode` must be one of"),
        (json!({"query": "alerts", "colour": "red"}), "unknown argument `colour`"),
        (json!({"kb": "sample"}), "`query` is required"),
    ] {
        let (s, r) = mcp(&server, call(args.clone())).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["error"]["code"], -32602, "{args}: {r}");
        assert!(r["error"]["message"].as_str().unwrap().contains(named), "{args}: {r}");
    }
    // A valid call has structured content matching its schema; a failed one has none.
    let (_, ok) = mcp(&server, call(json!({"query": "slack alerts stopped", "kb": "sample", "limit": 3}))).await;
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    assert_eq!(ok["result"]["structuredContent"]["kb"], "sample", "{ok}");
    assert!(ok["result"]["structuredContent"]["hits"].as_array().is_some_and(|h| !h.is_empty() && h.len() <= 3));
    let (_, bad) = mcp(&server, call(json!({"query": "x", "kb": "nope"}))).await;
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    assert!(bad["result"].get("structuredContent").is_none(), "{bad}");

    // Batches: entries that are not JSON-RPC messages are invalid requests, and a batch holding one is
    // refused whole (400, each such entry's error, nothing in it runs); a batch of valid requests answers
    // each; an empty batch is no batch (one error object, id null).
    let (s, r) = mcp(&server, json!([null, null])).await;
    assert_eq!(s, 400, "{r}");
    let codes: Vec<i64> = r.as_array().unwrap().iter().map(|e| e["error"]["code"].as_i64().unwrap()).collect();
    assert_eq!(codes, vec![-32600, -32600], "{r}");
    let ping = json!({"jsonrpc": "2.0", "id": 7.0, "method": "ping"});
    let too_big = json!({"jsonrpc": "2.0", "id": -3.402823466e38, "method": "ping"});
    let (s, r) = mcp(&server, json!([ping.clone(), too_big])).await;
    assert_eq!(s, 400, "{r}");
    assert_eq!(r.as_array().map(Vec::len), Some(1), "only the invalid entry's error: {r}");
    assert_eq!((r[0]["error"]["code"].as_i64(), r[0]["id"].is_null()), (Some(-32600), true), "{r}");
    let (s, r) = mcp(&server, json!([ping, {"jsonrpc": "2.0", "id": "b", "method": "nope"}])).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r[0]["id"].as_f64(), r[0]["result"].is_object(), r[1]["error"]["code"].as_i64()),
        (Some(7.0), true, Some(-32601)),
        "{r}"
    );
    let (s, r) = mcp(&server, json!([])).await;
    assert_eq!((s, r["error"]["code"].as_i64(), r["id"].is_null()), (400, Some(-32600), true), "{r}");
    // An id that is neither a string nor a whole number, and an object that is neither a request, a
    // notification nor a response, are invalid requests answered with a null id.
    for bad in [
        json!({"jsonrpc": "2.0", "id": 2.5, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": [1], "method": "ping"}),
        json!({"hello": 1}),
    ] {
        let (s, r) = mcp(&server, bad.clone()).await;
        assert_eq!((s, r["error"]["code"].as_i64(), r["id"].is_null()), (400, Some(-32600), true), "{bad}: {r}");
    }

    // Unpublishing an agent that does not exist is 404, as publishing it is; an unpublished one is 409.
    let res = server.post("/v1/agents/ghost/unpublish").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = server.post("/v1/agents/ghost/publish").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = server.post("/v1/agents/demo/unpublish").send().await.unwrap();
    assert_eq!(res.status(), 409);

    // 401 names the scheme it wants.
    let res = server
        .client
        .post(server.url("/mcp"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{:?}", res.headers());
    let res = server.client.get(server.url("/v1/models")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    server.stop().await;
}
