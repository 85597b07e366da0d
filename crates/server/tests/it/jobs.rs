//! Jobs: archives, per-item errors, cancellation, and resumption after a stop.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use throughline_core::{JobStatus, JobStore};
use throughline_server::ServerConfig;
use throughline_store::SqliteStore;
use tokio::sync::Notify;

use crate::harness::{repo, TestServer};

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_of_a_folder_is_ingested_and_bad_files_are_reported_per_item() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let pricing = std::fs::read(repo().join("sample-kb/pricing.html")).unwrap();
    let archive = zip_of(&[
        ("site/pricing.html", &pricing),
        ("site/help/empty.md", b""),
        ("site/help/binary.md", &[0u8, 159, 146, 150, 0, 1, 2]),
        ("site/logo.png", &[137, 80, 78, 71]),
    ]);
    let (status, body) = server.upload("site", &[("site.zip", archive)]).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["files"], 4);
    let job = server.wait_job(body["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let p = &job["progress"];
    assert_eq!(p["summary"]["added"], 1, "{p}");
    let failed: Vec<&str> = p["failed"].as_array().unwrap().iter().map(|f| f["item"].as_str().unwrap()).collect();
    assert_eq!(failed, vec!["site/help/binary.md", "site/help/empty.md"], "{p}");
    let skipped: Vec<&str> = p["skipped"].as_array().unwrap().iter().map(|f| f["item"].as_str().unwrap()).collect();
    assert_eq!(skipped, vec!["site/logo.png"]);
    let docs: Value = server.get("/v1/kbs/site/documents").send().await.unwrap().json().await.unwrap();
    assert_eq!(docs["documents"][0]["path"], "site/pricing.html");
    assert_eq!(docs["documents"][0]["page_type"], "pricing");

    // A zip bomb is refused before anything is ingested.
    let cfg_limit = throughline_server::ServerConfig::default().max_unzipped_bytes as usize;
    let zeros = vec![0u8; cfg_limit + 1024];
    let bomb = zip_of(&[("zeros.txt", &zeros)]);
    assert!(bomb.len() < 2_000_000, "the bomb compresses well");
    let (status, body) = server.upload("site", &[("bomb.zip", bomb)]).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("zip bomb"), "{body}");
    let kb: Value = server.get("/v1/kbs/site").send().await.unwrap().json().await.unwrap();
    assert_eq!(kb["documents"], 1, "the refused upload changed nothing");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_left_running_by_a_stopped_server_resume_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("docs");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(repo().join("sample-kb/help/refund-policy.md"), folder.join("refund-policy.md")).unwrap();
    // A previous process queued and started a job, then died.
    {
        let store = SqliteStore::open(&dir.path().join("throughline.db")).unwrap();
        let spec = json!({"type": "ingest_path", "path": folder, "label": "re-sync"}).to_string();
        let job = store.create_job("ingest", "docs", &spec).unwrap();
        store.claim_next_job().unwrap();
        assert_eq!(store.job(job.id).unwrap().unwrap().status, JobStatus::Running);
        // And another one that already failed to finish three times.
        let stuck = store.create_job("ingest", "docs", &spec).unwrap();
        for _ in 0..3 {
            store.claim_next_job().unwrap();
            store.recover_jobs(99).unwrap();
        }
        store.claim_next_job().unwrap();
        let _ = stuck;
    }
    let server = TestServer::start(dir.path()).await;
    let jobs: Value = server.get("/v1/jobs").send().await.unwrap().json().await.unwrap();
    let ids: Vec<String> =
        jobs["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2);
    let mut statuses = Vec::new();
    for id in &ids {
        let j = server.wait_job(id).await;
        statuses.push((j["status"].as_str().unwrap().to_string(), j["error"].clone()));
    }
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(statuses[0].0, "failed");
    assert!(statuses[0].1.as_str().unwrap().contains("interrupted by a server stop 4 times"), "{statuses:?}");
    assert_eq!(statuses[1].0, "succeeded");
    let res: Value =
        crate::harness::json(server.post("/v1/kbs/docs/search").json(&json!({"q": "can I get my money back"}))).await;
    assert_eq!(res["hits"][0]["path"], "refund-policy.md", "{res}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_job_can_be_cancelled_and_a_finished_one_cannot() {
    let dir = tempfile::tempdir().unwrap();
    // Jobs stay queued: nothing runs them until the server restarts with its worker.
    let server = TestServer::start_with(dir.path(), ServerConfig { run_jobs: false, ..ServerConfig::default() }).await;
    let pages: Vec<(String, Vec<u8>)> =
        (0..3).map(|i| (format!("p{i}.md"), format!("# Page {i}\n\nAbout topic number {i}.").into_bytes())).collect();
    let refs: Vec<(&str, Vec<u8>)> = pages.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let (_, first) = server.upload("many", &refs).await;
    let (_, second) = server.upload("many", &refs[..2]).await;
    let first_id = first["job"]["id"].as_str().unwrap().to_string();
    let second_id = second["job"]["id"].as_str().unwrap().to_string();
    let res = server.post(&format!("/v1/jobs/{second_id}/cancel")).send().await.unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["error"].as_str()),
        (Some("cancelled"), Some("cancelled before it started"))
    );
    let first_now: Value = server.get(&format!("/v1/jobs/{first_id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(first_now["status"], "queued", "{first_now}");
    server.stop().await;

    // The queued job survives the restart and runs; the cancelled one stays cancelled.
    let server = TestServer::start(dir.path()).await;
    let first_done = server.wait_job(&first_id).await;
    assert_eq!(first_done["status"], "succeeded", "{first_done}");
    let second_done = server.wait_job(&second_id).await;
    assert_eq!(second_done["status"], "cancelled");
    let res = server.post(&format!("/v1/jobs/{first_id}/cancel")).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "job_finished");
    server.stop().await;
}

/// A site on 127.0.0.1 whose second page answers only when `release` is notified; `entered` is notified
/// when the crawler asks for it. Returns the site's base URL.
async fn site_with_a_stalled_page(entered: Arc<Notify>, release: Arc<Notify>) -> String {
    use axum::response::Html;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/",
            get(|| async {
                Html("<html><head><title>Wiki</title></head><body><main><h1>Wiki</h1><p>The on-call rota changes every Monday at nine.</p><a href=\"/slow\">Slow page</a></main></body></html>")
            }),
        )
        .route(
            "/slow",
            get(move || {
                let (entered, release) = (entered.clone(), release.clone());
                async move {
                    entered.notify_one();
                    release.notified().await;
                    Html("<html><head><title>Escalations</title></head><body><main><h1>Escalations</h1><p>Page the incident lead after fifteen minutes without a fix.</p></main></body></html>")
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_crawl_of_one_knowledge_base_does_not_hold_another_knowledge_bases_upload() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::default();
    config.crawl.allow_private_network = true;
    config.crawl.delay = Duration::from_millis(10);
    config.crawl.timeout = Duration::from_secs(600);
    let server = TestServer::start_with(dir.path(), config).await;
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let site = site_with_a_stalled_page(entered.clone(), release.clone()).await;

    let res = server.post("/v1/kbs/wiki/sources/site").json(&json!({"url": site})).send().await.unwrap();
    assert_eq!(res.status(), 202);
    let crawl: Value = res.json().await.unwrap();
    let crawl_id = crawl["job"]["id"].as_str().unwrap().to_string();
    tokio::time::timeout(Duration::from_secs(120), entered.notified()).await.expect("the crawl reaches the slow page");

    // The crawl is stuck on its page; an upload to another knowledge base is ingested meanwhile.
    let (status, upload) = server.upload("help", &crate::harness::sample_files()).await;
    assert_eq!(status, 202, "{upload}");
    let upload_id = upload["job"]["id"].as_str().unwrap().to_string();
    let mut upload_job = Value::Null;
    for _ in 0..480 {
        upload_job = server.get(&format!("/v1/jobs/{upload_id}")).send().await.unwrap().json().await.unwrap();
        if matches!(upload_job["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(upload_job["status"], "succeeded", "the upload waited behind the stalled crawl: {upload_job}");
    assert_eq!(upload_job["progress"]["summary"]["added"], 3, "{upload_job}");
    let crawl_now: Value = server.get(&format!("/v1/jobs/{crawl_id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(crawl_now["status"], "running", "{crawl_now}");

    // A second job of the busy knowledge base waits for the first: one knowledge base's jobs run in order.
    let (status, second) =
        server.upload("wiki", &[("rota.md", b"# Rota\n\nThe rota is kept in the shared calendar.".to_vec())]).await;
    assert_eq!(status, 202, "{second}");
    let second_id = second["job"]["id"].as_str().unwrap().to_string();
    let second_now: Value = server.get(&format!("/v1/jobs/{second_id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(second_now["status"], "queued", "{second_now}");

    release.notify_one();
    let crawl_done = server.wait_job(&crawl_id).await;
    assert_eq!(crawl_done["status"], "succeeded", "{crawl_done}");
    assert_eq!(crawl_done["progress"]["summary"]["added"], 2, "{crawl_done}");
    let second_done = server.wait_job(&second_id).await;
    assert_eq!(second_done["status"], "succeeded", "{second_done}");
    let (started, crawl_finished) = (second_done["started_at"].as_i64(), crawl_done["finished_at"].as_i64());
    assert!(started.is_some() && started >= crawl_finished, "{second_done} started before {crawl_done} finished");
    server.stop().await;
}
