//! The API over HTTP: upload → job events → search, auth, bad input, restart.

use serde_json::{json, Value};

use crate::harness::{sample_files, TestServer, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_streams_job_events_then_search_finds_the_page_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    let (status, body) = server.upload("acme", &sample_files()).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["files"], 3);
    let job = body["job"]["id"].as_str().unwrap().to_string();

    let events = server.job_events(&job).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"snapshot"));
    assert!(names.contains(&"batch_committed"), "{names:?}");
    let (last, fin) = events.last().unwrap();
    assert_eq!(last, "job_finished", "{names:?}");
    assert_eq!(fin["status"], "succeeded", "{fin}");
    assert_eq!(fin["progress"]["summary"]["added"], 3);
    assert!(fin["progress"]["stages"]["embed"]["done"].as_u64().unwrap() >= 3);

    let kbs: Value = server.get("/v1/kbs").send().await.unwrap().json().await.unwrap();
    assert_eq!(kbs["kbs"][0]["name"], "acme");
    assert_eq!(kbs["kbs"][0]["documents"], 3);
    assert_eq!((kbs["total"].as_u64(), kbs["offset"].as_u64()), (Some(1), Some(0)), "{kbs}");
    // Lists page with limit/offset and count the whole list.
    let all: Value = server.get("/v1/kbs/acme/documents").send().await.unwrap().json().await.unwrap();
    let page: Value = server.get("/v1/kbs/acme/documents?limit=2&offset=1").send().await.unwrap().json().await.unwrap();
    assert_eq!((page["total"].as_u64(), page["limit"].as_u64(), page["offset"].as_u64()), (Some(3), Some(2), Some(1)));
    assert_eq!(page["documents"].as_array().unwrap()[..], all["documents"].as_array().unwrap()[1..3], "{page}");
    // A knowledge base is addressable by its id too.
    let id = kbs["kbs"][0]["id"].as_str().unwrap();
    let by_id: Value = server.get(&format!("/v1/kbs/{id}/documents")).send().await.unwrap().json().await.unwrap();
    assert_eq!(by_id["documents"], all["documents"], "{by_id}");
    let res = server.get("/v1/kbs/00000000000000ff/documents").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let jobs: Value = server.get("/v1/jobs?limit=1&offset=5").send().await.unwrap().json().await.unwrap();
    assert_eq!((jobs["total"].as_u64(), jobs["jobs"].as_array().unwrap().len()), (Some(1), 0), "{jobs}");

    let res: Value = crate::harness::json(
        server.post("/v1/kbs/acme/search").json(&json!({"q": "slack alerts are not arriving anymore", "limit": 2})),
    )
    .await;
    assert_eq!(res["hits"][0]["path"], "help/slack-alerts-stopped.md", "{res}");
    assert_eq!(res["mode"], "hybrid");
    assert!(res["hits"][0]["scores"]["bm25"]["rank"].as_u64().is_some());
    assert!(res["hits"][0]["scores"]["vector"]["score"].as_f64().unwrap() > 0.3);
    assert_eq!(res["hits"].as_array().unwrap().len(), 2);

    // GET form with a filter that excludes everything but docs.
    let res: Value =
        server.get("/v1/kbs/acme/search?q=slack&mode=bm25&page_type=docs").send().await.unwrap().json().await.unwrap();
    assert!(res["hits"].as_array().unwrap().iter().all(|h| h["page_type"] == "docs"), "{res}");
    // The GET form honours include_text and all_chunks; a limit above 100 is capped, not refused.
    let res: Value =
        crate::harness::json(server.get("/v1/kbs/acme/search?q=slack&include_text=true&all_chunks=true&limit=101"))
            .await;
    assert_eq!(res["limit"], 100, "{res}");
    let hits = res["hits"].as_array().unwrap();
    assert!(hits.iter().all(|h| h["text"].as_str().is_some_and(|t| !t.is_empty())), "{res}");
    let mut docs: Vec<&str> = hits.iter().map(|h| h["doc_id"].as_str().unwrap()).collect();
    let chunks = docs.len();
    docs.dedup();
    docs.sort();
    docs.dedup();
    assert!(chunks > docs.len(), "every matching chunk, several per document: {res}");
    let res: Value = server.get("/v1/kbs/acme/search?q=slack").send().await.unwrap().json().await.unwrap();
    assert!(res["hits"][0].get("text").is_none(), "{res}");

    // Totals a retriever can page with: with `track_total_hits` every page of a keyword search states the
    // same exact total, and the pages together hold that many distinct documents.
    // Without asking, a full page states a lower bound.
    let bound: Value = crate::harness::json(server.get("/v1/kbs/acme/search?q=slack&mode=bm25&limit=2")).await;
    assert_eq!(
        (bound["estimated_total_hits"].as_u64(), bound["total_hits_relation"].as_str()),
        (Some(2), Some("gte")),
        "{bound}"
    );
    let page = |offset: usize| {
        let url = format!("/v1/kbs/acme/search?q=slack&mode=bm25&limit=2&offset={offset}&track_total_hits=true");
        let req = server.get(&url);
        async move { crate::harness::json(req).await }
    };
    let first: Value = page(0).await;
    let total = first["estimated_total_hits"].as_u64().unwrap() as usize;
    assert!(total > 2, "more documents mention slack than one page holds: {first}");
    let mut seen = std::collections::BTreeSet::new();
    let mut offset = 0;
    while offset < total + 2 {
        let p: Value = page(offset).await;
        assert_eq!(p["estimated_total_hits"].as_u64(), Some(total as u64), "offset {offset}: {p}");
        assert_eq!(p["total_hits_relation"], "eq", "{p}");
        seen.extend(p["hits"].as_array().unwrap().iter().map(|h| h["doc_id"].as_str().unwrap().to_string()));
        offset += 2;
    }
    assert_eq!(seen.len(), total, "the pages hold the total");
    let all: Value = crate::harness::json(server.get("/v1/kbs/acme/search?q=slack&mode=bm25&limit=100")).await;
    assert_eq!(all["hits"].as_array().unwrap().len(), total, "{all}");

    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let job_after: Value = server.get(&format!("/v1/jobs/{job}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(job_after["status"], "succeeded");
    let res: Value =
        crate::harness::json(server.post("/v1/kbs/acme/search").json(&json!({"q": "invite a teammate"}))).await;
    assert_eq!(res["hits"][0]["path"], "help/invite-users.md", "{res}");

    // Deleting the source removes its documents from both indexes.
    let sources: Value = server.get("/v1/kbs/acme/sources").send().await.unwrap().json().await.unwrap();
    let source = sources["sources"][0]["id"].as_str().unwrap().to_string();
    let del: Value =
        server.delete(&format!("/v1/kbs/acme/sources/{source}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(del["deleted_documents"], 3);
    for mode in ["bm25", "vector"] {
        let res: Value = crate::harness::json(
            server.post("/v1/kbs/acme/search").json(&json!({"q": "invite a teammate", "mode": mode})),
        )
        .await;
        assert_eq!(res["hits"].as_array().unwrap().len(), 0, "{mode}: {res}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_refuse_missing_or_wrong_tokens_and_guessing_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    // A burst that outlasts two wrong attempts per admin route, however many routes there are.
    let public = throughline_server::public_paths();
    let admin_routes = throughline_server::api_routes().iter().filter(|(_, p)| !public.contains(p)).count();
    let burst = 2 * admin_routes + 20;
    let cfg = throughline_server::ServerConfig {
        public_burst: burst as f64,
        public_rate_per_sec: 0.01,
        ..Default::default()
    };
    let server = TestServer::start_with(dir.path(), cfg).await;
    for (method, path) in throughline_server::api_routes() {
        let path =
            path.replace("{kb}", "sample").replace("{source}", "0000000000000001").replace("{job}", "0000000000000001");
        let public = path == "/v1/health" || path == "/v1/openapi.json";
        for token in [None, Some("wrong")] {
            let mut req = server.client.request(method.to_uppercase().parse().unwrap(), server.url(&path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            if public {
                assert_eq!(res.status(), 200, "{method} {path}");
            } else {
                assert_eq!(res.status(), 401, "{method} {path} with {token:?}");
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["error"]["code"], "unauthorized");
            }
        }
    }
    // One wrong token per admin route so far (a missing token is no guess and does not count); the burst
    // runs out and guessing gets 429. (A wrong API key on each OpenAI-compatible route counts once too;
    // the public chat counts in its own bucket.)
    let openai_routes = throughline_server::api_routes()
        .iter()
        .filter(|(_, p)| p.starts_with("/v1/chat/completions") || p.starts_with("/v1/models"))
        .count();
    let left = burst - admin_routes - openai_routes;
    let mut statuses = Vec::new();
    for _ in 0..left + 2 {
        statuses.push(
            server.client.get(server.url("/v1/kbs")).bearer_auth("guess").send().await.unwrap().status().as_u16(),
        );
    }
    let mut expected = vec![401; left];
    expected.extend([429, 429]);
    assert_eq!(statuses, expected);
    // While guessing is limited, a request without any token still learns why it is refused.
    let res = server.client.get(server.url("/v1/kbs")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // The right token still works.
    let res = server.get("/v1/kbs").send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Issue 15: methods of any name (unauthenticated, 2 KB each) add no series to /metrics: after a
    // first round, further rounds of new names leave its series exactly as they were.
    let srv = &server;
    let odd_methods = |round: usize| async move {
        let server = srv;
        for i in 0..20 {
            let name = format!("X{round}{i}{}", "Y".repeat(2000));
            let m = reqwest::Method::from_bytes(name.as_bytes()).unwrap();
            let _ = server.client.request(m.clone(), server.url("/v1/health")).send().await;
            let _ = server.client.request(m, server.url(&format!("/x{i}"))).send().await;
        }
        server.client.get(server.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap()
    };
    odd_methods(0).await;
    let first = odd_methods(1).await;
    let text = odd_methods(2).await;
    assert!(
        text.contains("throughline_http_requests_total{method=\"GET\",route=\"/v1/kbs\",status=\"401\"}"),
        "{text}"
    );
    assert!(!text.contains("YYYY"), "a method name never becomes a label");
    assert!(text.contains("method=\"other\""), "{text}");
    let series = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(series(&first), series(&text), "no new series from new method names");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_json_errors_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let (status, _) = server.upload("docs", &sample_files()[..1]).await;
    assert_eq!(status, 202);

    async fn error(res: reqwest::Response) -> (u16, Value) {
        let status = res.status().as_u16();
        (status, res.json::<Value>().await.unwrap()["error"].clone())
    }
    // Malformed JSON.
    let (s, e) = error(
        server
            .post("/v1/kbs/docs/search")
            .header("content-type", "application/json")
            .body("{\"q\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_json")), "{e}");
    // Wrong type.
    let (s, e) = error(server.post("/v1/kbs/docs/search").json(&json!({"q": 3})).send().await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("invalid type"), "{e}");
    // An array where an object is expected (serde would read a struct from its fields in order).
    for (path, body) in [("/v1/kbs", json!(["fresh"])), ("/v1/agents/demo/publish", json!([]))] {
        let (s, e) = error(server.post(path).json(&body).send().await.unwrap()).await;
        assert_eq!((s, e["code"].as_str()), (400, Some("invalid_json")), "{path}: {e}");
        assert!(e["message"].as_str().unwrap().contains("must be a JSON object"), "{e}");
    }
    // Unknown field.
    let (s, e) =
        error(server.post("/v1/kbs/docs/search").json(&json!({"q": "x", "limt": 3})).send().await.unwrap()).await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("limt"), "{e}");
    // Bad values name their field.
    for (body, field) in [
        (json!({"q": "  "}), "q"),
        (json!({"q": "x", "mode": "fuzzy"}), "mode"),
        (json!({"q": "x", "limit": 0}), "limit"),
        (json!({"q": "x", "offset": 5000}), "offset"),
        (json!({"q": "x", "filter": {"page_type": ["nope"]}}), "filter.page_type"),
        (json!({"q": "x", "filter": {"source": ["xyz"]}}), "filter.source"),
    ] {
        let (s, e) = error(server.post("/v1/kbs/docs/search").json(&body).send().await.unwrap()).await;
        assert_eq!((s, e["field"].as_str()), (400, Some(field)), "{body}: {e}");
    }
    // What the document calls valid is accepted: a whole number written as a float, and a keyword search
    // for punctuation alone (no terms: no hits, not an error).
    let ok = crate::harness::json(server.post("/v1/kbs/docs/search").json(&json!({"q": "refund", "limit": 2.0}))).await;
    assert_eq!(ok["limit"], 2, "{ok}");
    let (s, e) =
        error(server.post("/v1/kbs/docs/search").json(&json!({"q": "x", "limit": 2.5})).send().await.unwrap()).await;
    assert_eq!(s, 400, "{e}");
    let none = crate::harness::json(server.post("/v1/kbs/docs/search").json(&json!({"q": "*#", "mode": "bm25"}))).await;
    assert_eq!(none["hits"], json!([]), "{none}");
    // Unknown ids.
    let (s, e) = error(server.post("/v1/kbs/nope/search").json(&json!({"q": "x"})).send().await.unwrap()).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")));
    assert!(e["message"].as_str().unwrap().contains("`nope`"));
    let (s, _) = error(server.get("/v1/jobs/0123456789abcdef").send().await.unwrap()).await;
    assert_eq!(s, 404);
    let (s, e) = error(server.get("/v1/jobs/not-an-id").send().await.unwrap()).await;
    assert_eq!((s, e["field"].as_str()), (400, Some("job")));
    // Bad knowledge base names.
    let (s, e) = error(server.post("/v1/kbs").json(&json!({"name": "../etc"})).send().await.unwrap()).await;
    assert_eq!((s, e["field"].as_str()), (400, Some("name")), "{e}");
    let (s, e) = error(server.post("/v1/kbs").json(&json!({"name": "docs"})).send().await.unwrap()).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("already_exists")));
    // Huge body.
    // (On a client of its own: the server answers 413 before reading the body and closes that connection,
    // which must not be the pooled one the next request picks.)
    let huge = format!("{{\"q\": \"{}\"}}", "a".repeat(2 << 20));
    let res = reqwest::Client::new()
        .post(server.url("/v1/kbs/docs/search"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // Hostile upload names: nothing is written outside, the knowledge base is untouched.
    for name in ["../../evil.md", "/etc/passwd.md", "a/../../b.md"] {
        let (s, body) = server.upload("docs", &[(name, b"# Evil".to_vec())]).await;
        assert_eq!(s, 400, "{name}");
        assert!(body["error"]["message"].as_str().unwrap().contains(name), "{body}");
    }
    assert!(!dir.path().join("evil.md").exists());
    let kb: Value = server.get("/v1/kbs/docs").send().await.unwrap().json().await.unwrap();
    assert_eq!(kb["sources"].as_array().unwrap().len(), 1);
    // A part that is not `files`, with or without a file name, is refused by name; nothing is written.
    let form = reqwest::multipart::Form::new().text("note", "no files");
    let (s, e) = error(server.post("/v1/kbs/docs/sources/upload").multipart(form).send().await.unwrap()).await;
    assert_eq!((s, e["field"].as_str()), (400, Some("files")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("unexpected part `note`"), "{e}");
    let part = reqwest::multipart::Part::bytes(b"# Stray".to_vec()).file_name("stray.md");
    let form = reqwest::multipart::Form::new().part("attachment", part);
    let (s, e) = error(server.post("/v1/kbs/docs/sources/upload").multipart(form).send().await.unwrap()).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["message"].as_str().unwrap().contains("unexpected part `attachment`"), "{e}");
    let docs: Value = server.get("/v1/kbs/docs/documents").send().await.unwrap().json().await.unwrap();
    assert!(!docs.to_string().contains("stray.md"), "{docs}");
    // An empty upload.
    let form = reqwest::multipart::Form::new();
    let (s, e) = error(server.post("/v1/kbs/docs/sources/upload").multipart(form).send().await.unwrap()).await;
    assert_eq!((s, e["field"].as_str()), (400, Some("files")), "{e}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_and_health_are_public() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let doc: Value = server.client.get(server.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/kbs/{kb}/search"]["post"]["requestBody"].is_object());
    let health: Value = server.client.get(server.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let page = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html");
    assert!(page.text().await.unwrap().contains("<title>Throughline"));
    server.stop().await;
}
