//! The founder's journey of issue 13: a site served on this machine crawled with the server-level
//! private-network setting (and refused, naming that setting, without it), a crawl that indexed
//! nothing failing with its reason, agents deleted, leads captured from an email and a team size.

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use serde_json::{json, Value};
use throughline_server::ServerConfig;

use crate::harness::{repo, TestServer};

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

/// A small docs site on 127.0.0.1 (a staging site, an intranet wiki): its base URL.
async fn loopback_site() -> String {
    let page = |title: &'static str, body: &'static str, links: &'static str| {
        Html(format!(
            "<!doctype html><html><head><title>{title}</title></head><body><main><h1>{title}</h1><p>{body}</p>{links}</main></body></html>"
        ))
    };
    let app = axum::Router::new()
        .route(
            "/",
            get(move || async move {
                page(
                    "Orbit docs",
                    "Orbit schedules deployments for small teams and rolls them back when health checks fail.",
                    r#"<a href="/rollbacks">Rollbacks</a> <a href="/pricing">Pricing</a>"#,
                )
            }),
        )
        .route(
            "/rollbacks",
            get(move || async move {
                page(
                    "Automatic rollbacks",
                    "When three health checks in a row fail after a deployment, Orbit restores the previous release within ninety seconds.",
                    "",
                )
            }),
        )
        .route(
            "/pricing",
            get(move || async move {
                page("Orbit pricing", "The Crew plan costs 29 dollars per month and covers ten deployers.", "")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

async fn crawl(server: &TestServer, kb: &str, url: &str) -> Value {
    let (s, body) =
        json_of(server.post(&format!("/v1/kbs/{kb}/sources/site")).json(&json!({"url": url})).send().await.unwrap())
            .await;
    assert_eq!(s, 202, "{body}");
    server.wait_job(body["job"]["id"].as_str().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_level_private_network_setting_lets_site_sources_reach_a_loopback_site() {
    let site = loopback_site().await;

    // With the setting, every crawl the server runs may reach 127.0.0.1.
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::default();
    config.crawl.allow_private_network = true;
    config.crawl.delay = Duration::from_millis(10);
    let server = TestServer::start_with(dir.path(), config).await;
    let job = crawl(&server, "staging", &site).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"]["summary"]["added"], 3, "{job}");
    let (_, found) =
        json_of(server.get("/v1/kbs/staging/search?q=how%20fast%20is%20a%20rollback").send().await.unwrap()).await;
    assert_eq!(found["hits"][0]["path"], "/rollbacks", "{found}");
    // The re-sync of the same source uses the setting too.
    let (_, sources) = json_of(server.get("/v1/kbs/staging/sources").send().await.unwrap()).await;
    let source = sources["sources"][0]["id"].as_str().unwrap().to_string();
    let (s, body) =
        json_of(server.post(&format!("/v1/kbs/staging/sources/{source}/resync")).send().await.unwrap()).await;
    assert_eq!(s, 202, "{body}");
    let resync = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(resync["status"], "succeeded", "{resync}");
    assert_eq!(resync["progress"]["summary"]["unchanged"], 3, "{resync}");
    server.stop().await;

    // Without it, the crawl is refused: the job fails (it indexed nothing) and says which setting allows it.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let job = crawl(&server, "staging", &site).await;
    assert_eq!(job["status"], "failed", "a crawl that indexed nothing is not a success: {job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("nothing was indexed: 1 page failed"), "{error}");
    assert!(error.contains("refused address 127.0.0.1 (loopback; allow with the server setting"), "{error}");
    assert!(error.contains("throughline serve --allow-private-network"), "{error}");
    assert!(error.contains("THROUGHLINE_ALLOW_PRIVATE_NETWORK"), "{error}");
    // The summary is kept beside the failure.
    assert_eq!(job["progress"]["summary"]["failed"], 1, "{job}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_metadata_addresses_stay_refused_with_the_private_network_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::default();
    config.crawl.allow_private_network = true;
    config.crawl.connect_timeout = Duration::from_secs(2);
    let server = TestServer::start_with(dir.path(), config).await;
    let job = crawl(&server, "meta", "http://169.254.169.254/latest/meta-data/").await;
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused address 169.254.169.254 (cloud metadata endpoint, never fetched)"), "{error}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_indexed_nothing_fails_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let (s, body) = server.upload("empty", &[("notes.md", Vec::new())]).await;
    assert_eq!(s, 202, "{body}");
    let job = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("nothing was indexed: 1 file failed"), "{error}");
    assert!(error.contains("notes.md"), "{error}");
    server.stop().await;
}

async fn sample_agent(server: &TestServer, name: &str) {
    let files: Vec<(&str, Vec<u8>)> = ["pricing.html", "help/refund-policy.md", "docs/getting-started.md"]
        .into_iter()
        .map(|p| (p, std::fs::read(repo().join("sample-kb").join(p)).unwrap()))
        .collect();
    let (status, body) = server.upload("sample", &files).await;
    assert_eq!(status, 202, "{body}");
    let job = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let res = server.post("/v1/agents").json(&json!({"name": name, "kb": "sample"})).send().await.unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_agent_removes_its_versions_unpublishes_it_and_forgets_its_contacts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample_agent(&server, "doomed").await;
    let (s, p) = json_of(
        server
            .post("/v1/agents/doomed/publish")
            .json(&json!({"allowed_origins": ["https://acme.example"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let key = p["public_key"].as_str().unwrap().to_string();
    let (s, turn) = json_of(
        server
            .post("/v1/agents/doomed/chat")
            .json(&json!({"contact": "ana@acme.test", "message": "How much is the Team plan?"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{turn}");

    // Unknown agents are 404, and deleting needs the admin token.
    let (s, e) = json_of(server.delete("/v1/agents/nobody").send().await.unwrap()).await;
    assert_eq!(s, 404, "{e}");
    assert_eq!(e["error"]["code"], "not_found");
    let res = server.client.delete(server.url("/v1/agents/doomed")).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let (s, d) = json_of(server.delete("/v1/agents/doomed").send().await.unwrap()).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d, json!({"deleted": "doomed", "was_published": true, "contacts_deleted": 1}));
    let (s, _) = json_of(server.get("/v1/agents/doomed").send().await.unwrap()).await;
    assert_eq!(s, 404);
    let (_, list) = json_of(server.get("/v1/agents").send().await.unwrap()).await;
    assert!(list["agents"].as_array().unwrap().iter().all(|a| a["name"] != "doomed"), "{list}");
    // Its public key opens nothing any more.
    let res = server
        .client
        .post(server.url("/v1/agents/doomed/sessions"))
        .header("x-throughline-key", &key)
        .header("origin", "https://acme.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A new agent of the same name starts empty: version 1, no contacts.
    sample_agent_again(&server, "doomed").await;
    let (_, contacts) = json_of(server.get("/v1/agents/doomed/contacts").send().await.unwrap()).await;
    assert_eq!(contacts["contacts"], json!([]), "{contacts}");
    let (s, _) = json_of(server.delete("/v1/agents/doomed").send().await.unwrap()).await;
    assert_eq!(s, 200);
    let (s, _) = json_of(server.delete("/v1/agents/doomed").send().await.unwrap()).await;
    assert_eq!(s, 404, "a second delete finds nothing");
    server.stop().await;
}

async fn sample_agent_again(server: &TestServer, name: &str) {
    let (s, a) =
        json_of(server.post("/v1/agents").json(&json!({"name": name, "kb": "sample"})).send().await.unwrap()).await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["version"], 1, "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prospect_who_gives_an_email_and_a_team_size_is_a_lead() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    sample_agent(&server, "sales").await;
    let ask = |message: &str| {
        server.post("/v1/agents/sales/chat").json(&json!({"contact": "visitor-dana", "message": message})).send()
    };
    let (s, first) = json_of(ask("How much is the Team plan?").await.unwrap()).await;
    assert_eq!(s, 200, "{first}");
    let (s, turn) = json_of(ask("dana@acme.io, we are 12 engineers").await.unwrap()).await;
    assert_eq!(s, 200, "{turn}");
    assert!(turn["lead"].is_object(), "the turn reports the lead: {turn}");

    let (s, leads) = json_of(server.get("/v1/agents/sales/leads").send().await.unwrap()).await;
    assert_eq!(s, 200, "{leads}");
    let list = leads["leads"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{leads}");
    let lead = &list[0];
    assert_eq!(lead["email"], "dana@acme.io", "{lead}");
    let facts = lead["facts"].as_array().unwrap();
    assert_eq!(facts.len(), 2, "{lead}");
    assert!(facts.contains(&json!({"key": "email", "value": "dana@acme.io"})), "{lead}");
    assert!(facts.contains(&json!({"key": "company_size", "value": "12"})), "{lead}");
    assert_eq!(lead["conversation_id"], turn["conversation_id"], "{lead}");
    assert!(lead["contact_key"].is_string(), "{lead}");

    // Facts given later join the same lead; no second lead.
    let (s, _) = json_of(ask("We want to monitor our checkout API").await.unwrap()).await;
    assert_eq!(s, 200);
    let (_, leads) = json_of(server.get("/v1/agents/sales/leads").send().await.unwrap()).await;
    let list = leads["leads"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{leads}");
    assert!(list[0]["facts"].as_array().unwrap().iter().any(|f| f["key"] == "use_case"), "{leads}");
    server.stop().await;
}
