//! Issue 17 and issue 15 item 5 over real HTTP: admission control of the public chat (a full queue is
//! refused at once with `Retry-After`, a queued chat times out unless the operator's playground sent
//! it, a visitor who leaves the queue frees its place), the header-read timeout, security headers, the UI fallback's methods, duplicate zip
//! entries, and shutdown with open streams.

use std::time::Duration;

use serde_json::{json, Value};
use throughline_server::admission::AdmissionConfig;
use throughline_server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{parse_sse, repo, TestServer};

const ORIGIN: &str = "https://shop.example";

fn limits(concurrency: usize, queue: usize, max_wait: Duration) -> ServerConfig {
    ServerConfig {
        admission: AdmissionConfig {
            server_concurrency: concurrency,
            server_queue: queue,
            agent_concurrency: concurrency,
            agent_queue: queue,
            max_wait,
        },
        // Many visitors from one address in these tests: the per-address rate limit is not under test.
        public_rate_per_sec: 1000.0,
        public_burst: 1000.0,
        ..ServerConfig::default()
    }
}

/// The agent `demo` over a few sample pages, published for [`ORIGIN`]; returns its public key.
async fn published_agent(server: &TestServer) -> String {
    let files: Vec<(&str, Vec<u8>)> = ["help/reset-password.md", "help/refund-policy.md", "docs/getting-started.md"]
        .into_iter()
        .map(|p| (p, std::fs::read(repo().join("sample-kb").join(p)).unwrap()))
        .collect();
    let (status, body) = server.upload("sample", &files).await;
    assert_eq!(status, 202, "{body}");
    let job = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let res = server.post("/v1/agents").json(&json!({"name": "demo", "kb": "sample"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    // Opened beforehand, as `serve` does for published agents at start (the first opening embeds the
    // built-in banks and trains the router, longer than these tests' short public timeouts).
    let state = server.state.clone();
    tokio::task::spawn_blocking(move || throughline_server::agents::open_agent(&state, "demo").map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    let p: Value =
        crate::harness::json(server.post("/v1/agents/demo/publish").json(&json!({"allowed_origins": [ORIGIN]}))).await;
    p["public_key"].as_str().unwrap().to_string()
}

async fn visitor_session(server: &TestServer, key: &str) -> String {
    let res = server
        .client
        .post(server.url("/v1/agents/demo/sessions"))
        .header("x-throughline-key", key)
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    v["session"].as_str().unwrap().to_string()
}

fn chat(
    client: &reqwest::Client,
    server: &TestServer,
    key: &str,
    session: &str,
    stream: bool,
) -> reqwest::RequestBuilder {
    client
        .post(server.url("/v1/agents/demo/chat"))
        .header("x-throughline-key", key)
        .header("x-throughline-session", session)
        .header("origin", ORIGIN)
        .json(&json!({"message": "How do I reset my password?", "stream": stream}))
}

/// A visitor session's history, read as the widget reads it.
async fn session_messages(server: &TestServer, key: &str, session: &str) -> Value {
    server
        .client
        .get(server.url(&format!("/v1/agents/demo/sessions/{session}/messages")))
        .header("x-throughline-key", key)
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_occupied(server: &TestServer, n: usize) {
    for _ in 0..500 {
        if server.state.admission().occupied() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("admission holds {} chats, expected {n}", server.state.admission().occupied());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_chat_queue_is_refused_at_once_with_retry_after_and_a_readable_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), limits(1, 0, Duration::from_secs(30))).await;
    let key = published_agent(&server).await;
    let session = visitor_session(&server, &key).await;
    // Another visitor's chat holds the only slot; the queue holds nobody.
    let held = server.state.admission().admit("demo").await.unwrap();
    let res = chat(&server.client, &server, &key, &session, true).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN, "the widget can read the refusal");
    assert!(res.headers()["access-control-expose-headers"].to_str().unwrap().contains("Retry-After"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "overloaded", "{v}");
    assert_eq!(v["error"]["retry_after"], json!(retry), "{v}");
    // The OpenAI-compatible chat shares the same gate.
    let res = server
        .client
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(&key)
        .json(&json!({"model": "demo", "messages": [{"role": "user", "content": "How do I reset my password?"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    drop(held);
    let res = chat(&server.client, &server, &key, &session, false).send().await.unwrap();
    assert_eq!(res.status(), 200, "a freed slot answers");
    let v: Value = res.json().await.unwrap();
    assert!(!v["answer"].as_str().unwrap_or("").is_empty(), "{v}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_chat_times_out_and_a_visitor_who_leaves_the_queue_frees_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { public_timeout: Duration::from_millis(800), ..limits(1, 8, Duration::from_secs(60)) };
    let server = TestServer::start_with(dir.path(), config).await;
    let key = published_agent(&server).await;
    let session = visitor_session(&server, &key).await;
    let held = server.state.admission().admit("demo").await.unwrap();
    // Queued behind the held slot past the public timeout: 503 `timeout`, readable by the widget.
    let res = chat(&server.client, &server, &key, &session, false).send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "timeout", "{v}");
    // The timed-out chat left the queue (it is not computed later for nobody).
    wait_occupied(&server, 1).await;
    // A visitor who disconnects while queued leaves the queue too.
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let waiting = tokio::spawn({
        let req = chat(&impatient, &server, &key, &session, true);
        async move { req.send().await.map(|r| r.status()) }
    });
    wait_occupied(&server, 2).await;
    assert!(waiting.await.unwrap().is_err(), "the client gave up");
    wait_occupied(&server, 1).await;
    // The operator's playground chat (admin token) waits by the admin limit, not the visitor's.
    let playground = tokio::spawn(
        server
            .post("/v1/agents/demo/chat")
            .json(&json!({"message": "How do I reset my password?", "contact": "playground-1"}))
            .send(),
    );
    wait_occupied(&server, 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!playground.is_finished(), "the playground chat was cut by the public timeout");
    drop(held);
    let res = playground.await.unwrap().unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap_or_default());
    wait_occupied(&server, 0).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_trickling_its_headers_is_closed_by_the_header_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig { header_read_timeout: Duration::from_secs(1), ..ServerConfig::default() };
    let server = TestServer::start_with(dir.path(), config).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    conn.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n").as_bytes()).await.unwrap();
    let mut closed = false;
    let mut buf = [0u8; 1024];
    // One header line every 250 ms for up to 20 s: without the timeout the connection stays open.
    for i in 0..80 {
        if conn.write_all(format!("X-Slow-{i}: a\r\n").as_bytes()).await.is_err() {
            closed = true;
            break;
        }
        match tokio::time::timeout(Duration::from_millis(250), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => panic!("answered incomplete headers: {}", String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
    }
    assert!(closed, "the trickling connection was never closed");
    // An ordinary client is unaffected.
    assert_eq!(server.client.get(server.url("/health")).send().await.unwrap().status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_has_strict_security_headers_the_widget_stays_embeddable_and_the_fallback_is_get_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let c = &server.client;
    let page = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    for part in
        ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]
    {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    // The pages pass that policy: no inline script, style or event handler.
    for path in ["/", "/preview.html"] {
        let html = c.get(server.url(path)).send().await.unwrap().text().await.unwrap();
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{path}: inline script {tag}");
        }
        assert!(!html.contains("<style"), "{path}: inline style");
        assert!(!html.contains(" style="), "{path}: style attribute");
        assert!(!regex_like_handler(&html), "{path}: inline event handler");
    }
    let preview = c.get(server.url("/preview.html")).send().await.unwrap();
    let csp = preview.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(preview.headers()["x-frame-options"], "SAMEORIGIN");
    // The widget script is loaded by customer sites: no framing rule, explicitly cross-origin.
    let widget = c.get(server.url("/widget.js")).send().await.unwrap();
    assert_eq!(widget.status(), 200);
    assert!(!widget.headers().contains_key("x-frame-options"));
    assert_eq!(widget.headers()["cross-origin-resource-policy"], "cross-origin");
    assert_eq!(widget.headers()["x-content-type-options"], "nosniff");
    let js = widget.text().await.unwrap();
    assert!(js.contains("adoptedStyleSheets"), "the widget styles itself without an inline <style> where it can");
    // API responses never render as a page.
    let health = c.get(server.url("/v1/health")).send().await.unwrap();
    assert_eq!(health.headers()["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    // The UI fallback serves GET and HEAD only.
    assert_eq!(c.head(server.url("/agent")).send().await.unwrap().status(), 200);
    for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
        let res = c.request(method.clone(), server.url("/agent")).body("x").send().await.unwrap();
        assert_eq!(res.status(), 405, "{method} on a UI path");
        assert_eq!(res.headers()["allow"], "GET, HEAD");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], "method_not_allowed");
    }
    server.stop().await;
}

/// Whether the HTML has an `on…=` attribute (onclick, onload…).
fn regex_like_handler(html: &str) -> bool {
    html.split(|c: char| c.is_whitespace()).any(|w| {
        w.starts_with("on") && w.find('=').is_some_and(|i| i > 2 && w[2..i].chars().all(|c| c.is_ascii_lowercase()))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_holding_one_name_twice_is_refused_naming_the_entry() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("site/a.md", opts).unwrap();
        w.write_all(b"# First\n\nThe first version.").unwrap();
        w.start_file("site/b.md", opts).unwrap();
        w.write_all(b"# Second\n\nThe second version.").unwrap();
        w.finish().unwrap();
    }
    // Zip writers refuse a name twice: rename the second entry (same length) in both of its headers.
    let mut bytes = buf.into_inner();
    let at: Vec<usize> = bytes.windows(9).enumerate().filter(|(_, w)| *w == b"site/b.md").map(|(i, _)| i).collect();
    assert_eq!(at.len(), 2);
    for i in at {
        bytes[i..i + 9].copy_from_slice(b"site/a.md");
    }
    let (status, body) = server.upload("docs", &[("docs.zip", bytes)]).await;
    assert_eq!(status, 400, "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("docs.zip") && msg.contains("`site/a.md` is in the archive twice"), "{msg}");
    let jobs: Value = server.get("/v1/jobs").send().await.unwrap().json().await.unwrap();
    assert_eq!(jobs["jobs"], json!([]), "a refused upload starts nothing");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_every_open_stream_with_a_final_event_and_keeps_acknowledged_turns() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), limits(4, 64, Duration::from_secs(30))).await;
    let key = published_agent(&server).await;
    // Warm the agent (opened, embeddings cached) so chats are running when the signal comes.
    let warm = visitor_session(&server, &key).await;
    assert_eq!(chat(&server.client, &server, &key, &warm, false).send().await.unwrap().status(), 200);
    let mut sessions = Vec::new();
    for _ in 0..30 {
        sessions.push(visitor_session(&server, &key).await);
    }
    // 30 live event streams and 30 streamed chats, open at once.
    let mut live = Vec::new();
    for s in &sessions {
        let res = server
            .client
            .get(server.url(&format!("/v1/agents/demo/sessions/{s}/events")))
            .header("x-throughline-key", &key)
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        live.push(tokio::spawn(res.text()));
    }
    // Every slot held while the chats arrive, so all 30 are admitted (4 will run, 26 wait) when the
    // slots free and the signal comes.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(server.state.admission().admit("demo").await.unwrap());
    }
    let mut chats = Vec::new();
    for s in &sessions {
        let req = chat(&server.client, &server, &key, s, true);
        chats.push(tokio::spawn(async move {
            let res = req.send().await?;
            let status = res.status().as_u16();
            Ok::<_, reqwest::Error>((status, res.text().await?))
        }));
    }
    wait_occupied(&server, 34).await;
    drop(held);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = std::time::Instant::now();
    server.stop().await;
    // The test server's grace is 5 s (the drain of running turns takes at most 3): `serve` returned
    // within it, and every stream below ended with a final event, none cut at the deadline.
    assert!(started.elapsed() < Duration::from_secs(6), "shutdown took {:?}", started.elapsed());
    for l in live {
        let text = l.await.unwrap().expect("the live stream ends cleanly, not with a protocol error");
        let events = parse_sse(&text);
        assert_eq!(events.last().map(|e| e.0.as_str()), Some("server_stopping"), "{text}");
    }
    let mut acknowledged = Vec::new();
    for (i, c) in chats.into_iter().enumerate() {
        let (status, text) = c.await.unwrap().expect("each chat ends cleanly, not with a protocol error");
        match status {
            200 => {
                let events = parse_sse(&text);
                let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
                assert_eq!(names.last(), Some(&"done"), "{text}");
                assert!(
                    names.iter().any(|n| matches!(*n, "turn" | "server_stopping" | "error")),
                    "the final event follows the outcome: {names:?}"
                );
                if names.contains(&"turn") {
                    acknowledged.push(sessions[i].clone());
                }
            }
            503 => {
                let v: Value = serde_json::from_str(&text).expect("a JSON refusal");
                assert_eq!(v["error"]["code"], "server_stopping", "{v}");
            }
            other => panic!("status {other}: {text}"),
        }
    }
    assert!(!acknowledged.is_empty(), "the running chat finished within the drain");
    // Every acknowledged turn is stored: a new server on the same data shows it in the history.
    let server = TestServer::start(dir.path()).await;
    for s in &acknowledged {
        let v = session_messages(&server, &key, s).await;
        let roles: Vec<&str> = v["messages"].as_array().unwrap().iter().filter_map(|m| m["role"].as_str()).collect();
        assert_eq!(roles, ["user", "assistant"], "{v}");
    }
    server.stop().await;
}

/// An OpenAI-compatible endpoint on loopback that streams one piece every 50 ms for as long as its
/// client reads; the receiver hears when a client stopped reading (a write failed).
fn endless_llm() -> (String, std::sync::mpsc::Receiver<()>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (gone_tx, gone_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let gone_tx = gone_tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0u8; len];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                loop {
                    let chunk = json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "more "}}]});
                    if stream.write_all(format!("data: {chunk}\n\n").as_bytes()).and_then(|_| stream.flush()).is_err() {
                        let _ = gone_tx.send(());
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
    });
    (url, gone_rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_who_leaves_mid_answer_stops_the_turn_and_frees_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (url, gone) = endless_llm();
    let llm = throughline_agent::LlmConfig {
        base_url: url,
        model: "endless".into(),
        api_key: None,
        timeout: Duration::from_secs(600),
    };
    let server = TestServer::start_with_llm(dir.path(), limits(1, 4, Duration::from_secs(30)), Some(llm)).await;
    let key = published_agent(&server).await;
    let session = visitor_session(&server, &key).await;
    let mut res = chat(&server.client, &server, &key, &session, true).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Read until the first piece of the answer arrives, then leave.
    let mut seen = String::new();
    while !seen.contains("event: delta") {
        let chunk = res.chunk().await.unwrap().expect("the stream goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(res);
    // The endless answer is no longer read: the agent closed its connection to the model ...
    let heard = tokio::task::spawn_blocking(move || gone.recv_timeout(Duration::from_secs(60))).await.unwrap();
    assert!(heard.is_ok(), "the turn went on reading the model for nobody");
    // ... gave its slot back, and counted the turn as given up.
    wait_occupied(&server, 0).await;
    let metrics = server.get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("throughline_chat_turns_cancelled_total 1"), "{metrics}");
    // The question stays in the visitor's history, unanswered.
    let history = session_messages(&server, &key, &session).await;
    let msgs = history["messages"].as_array().unwrap_or_else(|| panic!("{history}"));
    assert_eq!(msgs.len(), 1, "{history}");
    assert_eq!(msgs[0]["role"], "user", "{history}");
    server.stop().await;
}
