//! The visitor's side of issue 13: live handoff replies on the session's event stream, the handoff
//! screen's conversation of an anonymous visitor, widget settings served to the widget, upload sources
//! named after what was uploaded, and playground test contacts in their lifecycle from the first message.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{parse_sse, sample_files, TestServer};

const ORIGIN: &str = "https://shop.example";

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

/// A knowledge base of three sample pages, the agent `demo` over it, published for [`ORIGIN`]: its key.
async fn published_agent(server: &TestServer) -> String {
    let (status, body) = server.upload("sample", &sample_files()).await;
    assert_eq!(status, 202, "{body}");
    let job = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (s, a) =
        json_of(server.post("/v1/agents").json(&json!({"name": "demo", "kb": "sample"})).send().await.unwrap()).await;
    assert_eq!(s, 201, "{a}");
    let (s, p) = json_of(
        server.post("/v1/agents/demo/publish").json(&json!({"allowed_origins": [ORIGIN]})).send().await.unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    p["public_key"].as_str().unwrap().to_string()
}

/// Reads an open SSE response until an event named `name` arrives (or panics after 20 s).
async fn next_event(res: &mut reqwest::Response, buf: &mut String, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(at) = buf.rfind("\n\n") {
            let done: String = buf.drain(..at + 2).collect();
            if let Some((_, v)) = parse_sse(&done).into_iter().find(|(n, _)| n == name) {
                return v;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("no `{name}` event within 20 s (read so far: {buf})"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended before a `{name}` event"));
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_reply_reaches_the_visitors_open_event_stream_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let key = published_agent(&server).await;
    let (s, ses) = json_of(
        server
            .client
            .post(server.url("/v1/agents/demo/sessions"))
            .header("x-throughline-key", &key)
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 201, "{ses}");
    let session = ses["session"].as_str().unwrap().to_string();
    let events = |origin: &str, session: &str| {
        server
            .client
            .get(server.url(&format!("/v1/agents/demo/sessions/{session}/events")))
            .header("x-throughline-key", &key)
            .header("origin", origin)
    };

    // Authenticated like the session's other public routes.
    assert_eq!(events("https://evil.example", &session).send().await.unwrap().status(), 403);
    assert_eq!(events(ORIGIN, "ses_made_up").send().await.unwrap().status(), 401);
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.url(&format!("/v1/agents/demo/sessions/{session}/events")))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);

    let mut stream = events(ORIGIN, &session).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert_eq!(stream.headers()["access-control-allow-origin"], ORIGIN);
    let mut buf = String::new();
    next_event(&mut stream, &mut buf, "ready").await;

    // An anonymous visitor (no email, no facts) asks for a human.
    let (s, turn) = json_of(
        server
            .client
            .post(server.url("/v1/agents/demo/chat"))
            .header("x-throughline-key", &key)
            .header("origin", ORIGIN)
            .header("x-throughline-session", &session)
            .json(&json!({"message": "Our Slack alerts stopped arriving. I would like to talk to a human, please."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{turn}");
    let handoff = turn["handoff"]["id"].as_str().unwrap_or_else(|| panic!("a handoff: {turn}")).to_string();

    // The handoff screen has the conversation to follow up from, not only "no facts known".
    let (_, list) = json_of(server.get("/v1/agents/demo/handoffs").send().await.unwrap()).await;
    let h = list["handoffs"].as_array().unwrap().iter().find(|h| h["id"] == handoff.as_str()).unwrap().clone();
    let msgs = h["messages"].as_array().unwrap_or_else(|| panic!("messages in {h}"));
    assert!(msgs.iter().any(|m| m["role"] == "user" && m["text"].as_str().unwrap().contains("Slack alerts")), "{h}");
    assert!(msgs.iter().any(|m| m["role"] == "assistant"), "{h}");
    assert!(h["contact_key"].as_str().unwrap().starts_with("visitor-"), "{h}");

    // The human answers from the handoff screen: the open stream gets it without a reload.
    let (s, r) = json_of(
        server
            .post(&format!("/v1/agents/demo/handoffs/{handoff}/reply"))
            .json(&json!({"message": "Hi, Sam from support: re-connect Slack under Settings > Alerts."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["delivered_live"], 1, "{r}");
    let live = next_event(&mut stream, &mut buf, "reply").await;
    assert_eq!(live["role"], "human", "{live}");
    assert_eq!(live["text"], "Hi, Sam from support: re-connect Slack under Settings > Alerts.", "{live}");
    assert_eq!(live["handoff_id"], handoff.as_str());

    // And it is in the handoff's conversation and the visitor's history.
    let (_, list) = json_of(server.get("/v1/agents/demo/handoffs").send().await.unwrap()).await;
    let h = list["handoffs"].as_array().unwrap().iter().find(|h| h["id"] == handoff.as_str()).unwrap().clone();
    assert!(h["messages"].as_array().unwrap().iter().any(|m| m["role"] == "human"), "{h}");
    drop(stream);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_settings_are_saved_validated_and_served_to_the_widget_with_an_origin_hint() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let key = published_agent(&server).await;
    let settings = json!({
        "title": "Uptrail help", "greeting": "Hi! Ask me about monitors and alerts.",
        "suggestions": ["How do I invite a teammate?", "Why did my Slack alerts stop?"],
        "color": "#0B7A75", "position": "left", "avatar_url": "https://cdn.shop.example/sam.png",
        "launcher_text": "Chat with us"
    });
    let (s, saved) = json_of(server.put("/v1/agents/demo/widget").json(&settings).send().await.unwrap()).await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["color"], "#0b7a75");
    assert_eq!(saved["position"], "left");

    // Bad input names the field.
    for (bad, field) in [
        (json!({"color": "red; background:url(x)"}), "color"),
        (json!({"position": "top"}), "position"),
        (json!({"avatar_url": "javascript:alert(1)"}), "avatar_url"),
        (json!({"suggestions": ["a", "b", "c", "d", "e", "f", "g"]}), "suggestions"),
        (json!({"launcher_text": "x".repeat(41)}), "launcher_text"),
    ] {
        let (s, e) = json_of(server.put("/v1/agents/demo/widget").json(&bad).send().await.unwrap()).await;
        assert_eq!(s, 400, "{bad}: {e}");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
    let (s, e) = json_of(server.put("/v1/agents/ghost/widget").json(&settings).send().await.unwrap()).await;
    assert_eq!(s, 404, "{e}");
    // Settings are the admin's: no token, no change.
    let res = server.client.put(server.url("/v1/agents/demo/widget")).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 401);

    // The widget reads them from an allowed origin with the key in the query (no preflight needed).
    let config = |origin: &str, key: &str| {
        server.client.get(server.url(&format!("/v1/agents/demo/widget-config?key={key}"))).header("origin", origin)
    };
    let res = config(ORIGIN, &key).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    let (_, c) = json_of(res).await;
    assert_eq!(c["widget"]["greeting"], "Hi! Ask me about monitors and alerts.", "{c}");
    assert_eq!(c["widget"]["suggestions"][1], "Why did my Slack alerts stop?", "{c}");
    assert_eq!(c["widget"]["launcher_text"], "Chat with us", "{c}");
    assert_eq!(c["widget"]["avatar_url"], "https://cdn.shop.example/sam.png", "{c}");

    // A page on another origin is refused with a reason it can read (CORS headers on the refusal).
    let res = config("https://other.example", &key).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["access-control-allow-origin"], "https://other.example");
    let (_, e) = json_of(res).await;
    assert_eq!(e["error"]["code"], "origin_not_allowed", "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("https://other.example") && msg.contains("allowed origins"), "{msg}");
    // A wrong key is a 401.
    assert_eq!(config(ORIGIN, "pk_wrong").send().await.unwrap().status(), 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_test_contacts_start_in_their_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    published_agent(&server).await;
    for (contact, lifecycle) in [
        ("playground-customer", "customer"),
        ("playground-onboarding", "onboarding"),
        ("playground-prospect", "prospect"),
    ] {
        let (s, ses) = json_of(
            server
                .post("/v1/agents/demo/sessions")
                .json(&json!({"contact": contact, "lifecycle": lifecycle}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 201, "{ses}");
        assert_eq!(ses["lifecycle"], lifecycle, "{ses}");
        // The first message is answered as that lifecycle, before any event was sent.
        let (s, turn) = json_of(
            server
                .post("/v1/agents/demo/chat")
                .json(&json!({"session": ses["session"], "message": "How do I invite users?"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200, "{turn}");
        let (_, memory) =
            json_of(server.get(&format!("/v1/agents/demo/contacts/{contact}")).send().await.unwrap()).await;
        assert_eq!(memory["lifecycle"], lifecycle, "{memory}");
    }
    // A lifecycle an event gave is not reset by the next session.
    let (s, _) = json_of(
        server
            .post("/v1/events")
            .json(&json!({"agent": "demo", "contact": "playground-onboarding", "name": "upgraded"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let (_, before) = json_of(server.get("/v1/agents/demo/contacts/playground-onboarding").send().await.unwrap()).await;
    let (_, ses) = json_of(
        server
            .post("/v1/agents/demo/sessions")
            .json(&json!({"contact": "playground-onboarding", "lifecycle": "onboarding"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ses["lifecycle"], before["lifecycle"], "{ses} {before}");
    // Bad input: an unknown lifecycle names the field.
    let (s, e) = json_of(
        server
            .post("/v1/agents/demo/sessions")
            .json(&json!({"contact": "x", "lifecycle": "vip"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "lifecycle");
    server.stop().await;
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_sources_are_named_after_the_upload_and_their_jobs_count_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut entries: Vec<(&str, Vec<u8>)> = sample_files();
    entries.push(("notes/readme.bin", vec![0u8, 159, 146, 150]));
    let (s, body) = server.upload("acme", &[("uptrail-docs.zip", zip_of(&entries))]).await;
    assert_eq!(s, 202, "{body}");
    let id = body["job"]["id"].as_str().unwrap().to_string();
    assert!(body["job"]["spec"]["label"].as_str().unwrap().contains("uptrail-docs.zip"), "{body}");
    let job = server.wait_job(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // An upload counts files, not crawl pages ("0 discovered · 0 fetched · 0 indexed").
    let p = &job["progress"];
    assert!(p.get("pages").is_none(), "{p}");
    assert_eq!(p["files"]["found"], 4, "{p}");
    assert_eq!(p["files"]["read"], 3, "{p}");
    assert_eq!(p["files"]["committed"], 3, "{p}");
    assert_eq!(p["files"]["skipped"], 1, "{p}");
    // The job's final event carries the same counters.
    let events = server.job_events(&id).await;
    let fin = events.iter().find(|(n, _)| n == "job_finished").map(|(_, v)| v.clone()).unwrap();
    assert_eq!(fin["status"], "succeeded", "{fin}");

    // A single file is listed by its name too.
    let (s, body) =
        server.upload("acme", &[("pricing-notes.md", b"# Pricing notes\n\nThe Team plan has SSO.\n".to_vec())]).await;
    assert_eq!(s, 202, "{body}");
    server.wait_job(body["job"]["id"].as_str().unwrap()).await;

    let (_, list) = json_of(server.get("/v1/kbs/acme/sources").send().await.unwrap()).await;
    let sources = list["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{list}");
    let names: Vec<&str> = sources.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"uptrail-docs.zip") && names.contains(&"pricing-notes.md"), "{names:?}");
    for s in sources {
        assert_eq!(s["kind"], "upload", "{s}");
    }
    let zip = sources.iter().find(|s| s["name"] == "uptrail-docs.zip").unwrap();
    assert_eq!(zip["documents"], 3, "{zip}");
    // The knowledge base's own view names them the same way.
    let (_, kb) = json_of(server.get("/v1/kbs/acme").send().await.unwrap()).await;
    assert!(kb["sources"].as_array().unwrap().iter().any(|s| s["name"] == "uptrail-docs.zip"), "{kb}");
    server.stop().await;
}
