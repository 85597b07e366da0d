//! Issue 14: wire snapshots. One scripted walk calls every route of the API (and the usual mistakes: an
//! unknown path, a wrong method, no token, a body that is not JSON) and records, per call, the status, the
//! content type and the *shape* of the JSON body (keys and value types, arrays by their first item; ids,
//! times and scores vary from run to run, the shape must not). The record is compared with the committed
//! `crates/server/tests/snapshots/api.json`, so a refactor of the wire layer cannot rename, drop or retype
//! a field, or change a status, by accident. After an intended change, re-record with
//! `UPDATE_SNAPSHOTS=1 cargo test -p throughline-server --test it snapshots` and review the diff.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::harness::{repo, TestServer, TOKEN};

const ORIGIN: &str = "https://www.uptrail.example";

/// Keys and value types of a JSON value; an array by the shape of its first item.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => match a.first() {
            Some(first) => json!([shape(first)]),
            None => json!([]),
        },
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect::<Map<_, _>>()),
    }
}

struct Recorder {
    calls: BTreeMap<String, Value>,
    routes: BTreeSet<(String, String)>,
}

impl Recorder {
    /// Sends `req` (for the route `method template`), records it under `label` and returns its status and
    /// JSON body (`Null` when the body is not JSON).
    async fn call(&mut self, label: &str, method: &str, template: &str, req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).to_string());
        let is_stream = content_type.as_deref() == Some("text/event-stream");
        // A live stream (a visitor's session events) never ends: only its head is recorded.
        let body = if is_stream && template.contains("/sessions/") {
            Value::Null
        } else if is_stream {
            let text = res.text().await.unwrap();
            let events = crate::harness::parse_sse(&text);
            let names: BTreeSet<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
            json!({"events": names, "last": events.last().map(|(_, d)| shape(d))})
        } else {
            res.json::<Value>().await.unwrap_or(Value::Null)
        };
        let recorded = if is_stream { body.clone() } else { shape(&body) };
        let key = format!("{method} {template} ({label})");
        assert!(
            self.calls
                .insert(key.clone(), json!({"status": status, "content_type": content_type, "body": recorded}))
                .is_none(),
            "{key} recorded twice"
        );
        self.routes.insert((method.to_lowercase(), template.to_string()));
        (status, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_every_route_answers_in_the_recorded_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let s = &server;
    let mut r = Recorder { calls: BTreeMap::new(), routes: BTreeSet::new() };
    let public = |method: reqwest::Method, path: &str, key: &str| {
        s.client.request(method, s.url(path)).header("x-throughline-key", key).header("origin", ORIGIN)
    };

    // System.
    r.call("ok", "GET", "/v1/health", s.get("/v1/health")).await;
    let (st, _) = r.call("ok", "GET", "/v1/openapi.json", s.get("/v1/openapi.json")).await;
    assert_eq!(st, 200);
    // The document itself is generated from the handlers once the wire layer is typed: only its status
    // and content type are pinned here.
    if let Some(c) = r.calls.get_mut("GET /v1/openapi.json (ok)") {
        c["body"] = Value::Null;
    }

    // Knowledge bases, sources, jobs, search.
    let (st, _) = r.call("created", "POST", "/v1/kbs", s.post("/v1/kbs").json(&json!({"name": "snap"}))).await;
    assert_eq!(st, 201);
    r.call("ok", "GET", "/v1/kbs", s.get("/v1/kbs")).await;
    r.call("ok", "GET", "/v1/kbs/{kb}", s.get("/v1/kbs/snap")).await;
    let mut form = reqwest::multipart::Form::new();
    for p in ["pricing.html", "help/reset-password.md", "help/invite-users.md", "docs/getting-started.md"] {
        let bytes = std::fs::read(repo().join("sample-kb").join(p)).unwrap();
        form = form.part("files", reqwest::multipart::Part::bytes(bytes).file_name(p.to_string()));
    }
    let (st, up) = r
        .call("accepted", "POST", "/v1/kbs/{kb}/sources/upload", s.post("/v1/kbs/snap/sources/upload").multipart(form))
        .await;
    assert_eq!(st, 202, "{up}");
    let job = up["job"]["id"].as_str().unwrap().to_string();
    let finished = s.wait_job(&job).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    r.call("ok", "GET", "/v1/jobs", s.get("/v1/jobs")).await;
    r.call("ok", "GET", "/v1/jobs/{job}", s.get(&format!("/v1/jobs/{job}"))).await;
    r.call("finished", "GET", "/v1/jobs/{job}/events", s.get(&format!("/v1/jobs/{job}/events"))).await;
    r.call("finished", "POST", "/v1/jobs/{job}/cancel", s.post(&format!("/v1/jobs/{job}/cancel"))).await;
    r.call("ok", "GET", "/v1/kbs/{kb}/documents", s.get("/v1/kbs/snap/documents")).await;
    let (_, sources) = r.call("ok", "GET", "/v1/kbs/{kb}/sources", s.get("/v1/kbs/snap/sources")).await;
    let source = sources["sources"][0]["id"].as_str().expect("a source").to_string();
    r.call(
        "upload",
        "GET",
        "/v1/kbs/{kb}/sources/{source}/report",
        s.get(&format!("/v1/kbs/snap/sources/{source}/report")),
    )
    .await;
    let (_, resync) = r
        .call(
            "upload",
            "POST",
            "/v1/kbs/{kb}/sources/{source}/resync",
            s.post(&format!("/v1/kbs/snap/sources/{source}/resync")),
        )
        .await;
    s.wait_job(resync["job"]["id"].as_str().expect("a resync job")).await;
    // The crawler refuses private addresses unless allowed: the job fails.
    let (_, site) = r
        .call(
            "private address",
            "POST",
            "/v1/kbs/{kb}/sources/site",
            s.post("/v1/kbs/snap/sources/site").json(&json!({"url": "http://127.0.0.1:9/"})),
        )
        .await;
    let crawl = s.wait_job(site["job"]["id"].as_str().expect("a crawl job")).await;
    assert_eq!(crawl["status"], "failed", "{crawl}");
    r.call(
        "ok",
        "POST",
        "/v1/kbs/{kb}/search",
        s.post("/v1/kbs/snap/search").json(&json!({"q": "reset my password", "limit": 2, "include_text": true})),
    )
    .await;
    r.call("ok", "GET", "/v1/kbs/{kb}/search", s.get("/v1/kbs/snap/search?q=invite%20a%20teammate&limit=2")).await;
    r.call("bad body", "POST", "/v1/kbs/{kb}/search", s.post("/v1/kbs/snap/search").json(&json!({"q": 3}))).await;
    let (_, plans) = r.call("ok", "GET", "/v1/kbs/{kb}/plans", s.get("/v1/kbs/snap/plans")).await;
    r.call("ok", "PUT", "/v1/kbs/{kb}/plans", s.put("/v1/kbs/snap/plans").json(&json!({"plans": plans["plans"]})))
        .await;
    r.call("bad field", "PUT", "/v1/kbs/{kb}/plans", s.put("/v1/kbs/snap/plans").json(&json!({"plan": []}))).await;
    r.call("ok", "DELETE", "/v1/kbs/{kb}/plans", s.delete("/v1/kbs/snap/plans")).await;
    r.call("ok", "GET", "/v1/kbs/{kb}/stale-answers", s.get("/v1/kbs/snap/stale-answers")).await;

    // Agents.
    let (st, _) = r
        .call("created", "POST", "/v1/agents", s.post("/v1/agents").json(&json!({"name": "snap", "kb": "snap"})))
        .await;
    assert_eq!(st, 201);
    r.call("ok", "GET", "/v1/agents", s.get("/v1/agents")).await;
    let (_, agent) = r.call("ok", "GET", "/v1/agents/{agent}", s.get("/v1/agents/snap")).await;
    let toml = agent["config_toml"].as_str().expect("config_toml").to_string();
    r.call("ok", "PUT", "/v1/agents/{agent}", s.put("/v1/agents/snap").json(&json!({"config_toml": toml}))).await;
    r.call(
        "bad toml",
        "PUT",
        "/v1/agents/{agent}",
        s.put("/v1/agents/snap").json(&json!({"config_toml": "product = 3"})),
    )
    .await;
    r.call("ok", "GET", "/v1/agents/{agent}/versions", s.get("/v1/agents/snap/versions")).await;
    r.call("ok", "GET", "/v1/agents/{agent}/versions/{version}", s.get("/v1/agents/snap/versions/1")).await;
    let (st, p) = r
        .call(
            "ok",
            "POST",
            "/v1/agents/{agent}/publish",
            s.post("/v1/agents/snap/publish").json(&json!({"allowed_origins": [ORIGIN]})),
        )
        .await;
    assert_eq!(st, 200, "{p}");
    let key = p["public_key"].as_str().unwrap().to_string();
    r.call("ok", "GET", "/v1/agents/{agent}/identity", s.get("/v1/agents/snap/identity")).await;
    r.call("ok", "POST", "/v1/agents/{agent}/identity/rotate", s.post("/v1/agents/snap/identity/rotate")).await;
    r.call("ok", "GET", "/v1/agents/{agent}/widget", s.get("/v1/agents/snap/widget")).await;
    r.call(
        "ok",
        "PUT",
        "/v1/agents/{agent}/widget",
        s.put("/v1/agents/snap/widget").json(&json!({"title": "Help", "greeting": "Hi!", "color": "#0B7A75"})),
    )
    .await;

    // A visitor on the published widget.
    r.call(
        "ok",
        "GET",
        "/v1/agents/{agent}/widget-config",
        public(reqwest::Method::GET, "/v1/agents/snap/widget-config", &key),
    )
    .await;
    let (st, sess) = r
        .call(
            "created",
            "POST",
            "/v1/agents/{agent}/sessions",
            public(reqwest::Method::POST, "/v1/agents/snap/sessions", &key),
        )
        .await;
    assert_eq!(st, 201, "{sess}");
    let session = sess["session"].as_str().unwrap().to_string();
    let (st, turn) = r
        .call(
            "visitor",
            "POST",
            "/v1/agents/{agent}/chat",
            public(reqwest::Method::POST, "/v1/agents/snap/chat", &key)
                .header("x-throughline-session", &session)
                .json(&json!({"message": "How do I reset my password?"})),
        )
        .await;
    assert_eq!(st, 200, "{turn}");
    r.call(
        "ok",
        "GET",
        "/v1/agents/{agent}/sessions/{session}/messages",
        public(reqwest::Method::GET, &format!("/v1/agents/snap/sessions/{session}/messages"), &key),
    )
    .await;
    r.call(
        "live",
        "GET",
        "/v1/agents/{agent}/sessions/{session}/events",
        public(reqwest::Method::GET, &format!("/v1/agents/snap/sessions/{session}/events"), &key),
    )
    .await;
    r.call("no key", "POST", "/v1/agents/{agent}/sessions", s.client.post(s.url("/v1/agents/snap/sessions"))).await;

    // The admin chats as a contact, asks for a human, and the inbox answers.
    let (st, turn) = r
        .call(
            "admin",
            "POST",
            "/v1/agents/{agent}/chat",
            s.post("/v1/agents/snap/chat")
                .json(&json!({"contact": "ops@acme.test", "message": "I want to talk to a human please"})),
        )
        .await;
    assert_eq!(st, 200, "{turn}");
    let handoff = turn["handoff"]["id"].as_str().expect("a handoff").to_string();
    r.call("ok", "GET", "/v1/agents/{agent}/handoffs", s.get("/v1/agents/snap/handoffs")).await;
    r.call(
        "ok",
        "POST",
        "/v1/agents/{agent}/handoffs/{handoff}/reply",
        s.post(&format!("/v1/agents/snap/handoffs/{handoff}/reply")).json(&json!({"message": "Hi, Sam here."})),
    )
    .await;
    r.call(
        "ok",
        "POST",
        "/v1/agents/{agent}/handoffs/{handoff}/resolve",
        s.post(&format!("/v1/agents/snap/handoffs/{handoff}/resolve")).json(&json!({"resolution": "Reset link sent."})),
    )
    .await;
    r.call(
        "ok",
        "POST",
        "/v1/events",
        s.post("/v1/events").json(&json!({"agent": "snap", "contact": "ops@acme.test", "name": "limit_reached", "properties": {"metric": "monitors"}})),
    )
    .await;
    let (_, contacts) = r.call("ok", "GET", "/v1/agents/{agent}/contacts", s.get("/v1/agents/snap/contacts")).await;
    // The contact the admin chatted as (the visitor's contact was made in the same second: order by key).
    let contact = contacts["contacts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["key"] == "ops@acme.test"))
        .and_then(|c| c["id"].as_str())
        .expect("the admin's contact")
        .to_string();
    r.call("ok", "GET", "/v1/agents/{agent}/contacts/{contact}", s.get(&format!("/v1/agents/snap/contacts/{contact}")))
        .await;
    r.call("ok", "GET", "/v1/agents/{agent}/leads", s.get("/v1/agents/snap/leads")).await;
    r.call("ok", "GET", "/v1/agents/{agent}/audit", s.get("/v1/agents/snap/audit")).await;

    // OpenAI-compatible and MCP.
    r.call("ok", "GET", "/v1/models", s.client.get(s.url("/v1/models")).bearer_auth(&key)).await;
    r.call("ok", "GET", "/v1/models/{model}", s.client.get(s.url("/v1/models/snap")).bearer_auth(&key)).await;
    r.call("unknown", "GET", "/v1/models/{model}", s.client.get(s.url("/v1/models/ghost")).bearer_auth(&key)).await;
    r.call(
        "ok",
        "POST",
        "/v1/chat/completions",
        s.client
            .post(s.url("/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": "snap", "messages": [{"role": "user", "content": "How do I invite a teammate?"}]})),
    )
    .await;
    r.call(
        "unsupported",
        "POST",
        "/v1/chat/completions",
        s.client
            .post(s.url("/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": "snap", "n": 2, "messages": [{"role": "user", "content": "hi"}]})),
    )
    .await;
    let mcp = |body: Value| s.post("/mcp").header("accept", "application/json, text/event-stream").json(&body);
    r.call(
        "initialize",
        "POST",
        "/mcp",
        mcp(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "snap", "version": "1"}}})),
    )
    .await;
    r.call("tools/list", "POST", "/mcp", mcp(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))).await;
    r.call(
        "tools/call",
        "POST",
        "/mcp",
        mcp(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search", "arguments": {"kb": "snap", "query": "reset password", "limit": 1}}})),
    )
    .await;
    r.call("no stream", "GET", "/mcp", s.get("/mcp").header("accept", "text/event-stream")).await;
    r.call("ok", "DELETE", "/mcp", s.delete("/mcp")).await;

    // The usual mistakes.
    r.call("unknown kb", "GET", "/v1/kbs/{kb}", s.get("/v1/kbs/nope")).await;
    r.call("no token", "GET", "/v1/kbs", s.client.get(s.url("/v1/kbs"))).await;
    r.call("not json", "POST", "/v1/kbs", s.post("/v1/kbs").header("content-type", "text/plain").body("name=x")).await;
    r.call("wrong method", "PATCH", "/v1/kbs", s.client.patch(s.url("/v1/kbs")).bearer_auth(TOKEN)).await;
    r.routes.remove(&("patch".to_string(), "/v1/kbs".to_string()));
    r.call("unknown path", "GET", "/v1/nope", s.get("/v1/nope")).await;
    r.routes.remove(&("get".to_string(), "/v1/nope".to_string()));

    // Tearing down.
    r.call("ok", "POST", "/v1/agents/{agent}/unpublish", s.post("/v1/agents/snap/unpublish")).await;
    r.call(
        "ok",
        "DELETE",
        "/v1/agents/{agent}/contacts/{contact}",
        s.delete(&format!("/v1/agents/snap/contacts/{contact}")),
    )
    .await;
    r.call("ok", "DELETE", "/v1/agents/{agent}", s.delete("/v1/agents/snap")).await;
    r.call("ok", "DELETE", "/v1/kbs/{kb}/sources/{source}", s.delete(&format!("/v1/kbs/snap/sources/{source}"))).await;
    r.call("ok", "DELETE", "/v1/kbs/{kb}", s.delete("/v1/kbs/snap")).await;

    // Every route of the API was called.
    let all: BTreeSet<(String, String)> = throughline_server::api_routes().into_iter().collect();
    let missing: Vec<_> = all.difference(&r.routes).collect();
    assert!(missing.is_empty(), "routes the snapshot walk does not call: {missing:?}");

    let recorded = serde_json::to_string_pretty(&r.calls).unwrap() + "\n";
    let path = repo().join("crates/server/tests/snapshots/api.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &recorded).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (record it with UPDATE_SNAPSHOTS=1)", path.display()));
    let expected: BTreeMap<String, Value> = serde_json::from_str(&expected).unwrap();
    let mut diffs = Vec::new();
    for key in expected.keys().chain(r.calls.keys()).collect::<BTreeSet<_>>() {
        match (expected.get(key), r.calls.get(key)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => diffs.push(format!("{key}:\n  recorded {}\n  now      {}", opt(a), opt(b))),
        }
    }
    assert!(
        diffs.is_empty(),
        "the wire changed ({} calls; UPDATE_SNAPSHOTS=1 re-records after an intended change):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn opt(v: Option<&Value>) -> String {
    v.map_or_else(|| "(absent)".to_string(), |v| v.to_string())
}
