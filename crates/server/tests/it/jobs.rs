//! Jobs: archives, per-item errors, cancellation, and resumption after a stop.

use std::io::Write;

use serde_json::{json, Value};
use throughline_core::{JobStatus, JobStore};
use throughline_server::ServerConfig;
use throughline_store::SqliteStore;

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
    let res: Value = server
        .post("/v1/kbs/docs/search")
        .json(&json!({"q": "can I get my money back"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
