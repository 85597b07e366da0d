//! Two server states on one PostgreSQL database, as two replicas would run them: a re-sync that falls
//! due is queued once, whichever replicas check it. Needs `THROUGHLINE_TEST_DATABASE_URL` (CI starts a
//! throwaway PostgreSQL); without it the test says so and passes, unless `THROUGHLINE_REQUIRE_POSTGRES`
//! is set.

use std::sync::Arc;

use throughline_core::{Embedder, JobStore, KnowledgeStore, SourceKind};
use throughline_server::auth::AdminAuth;
use throughline_server::jobs::{options_key, schedule_once};
use throughline_server::{AppState, ServerConfig, Stores};
use throughline_store::PgStore;

fn database() -> Option<String> {
    let Ok(base) = std::env::var("THROUGHLINE_TEST_DATABASE_URL") else {
        assert!(
            std::env::var_os("THROUGHLINE_REQUIRE_POSTGRES").is_none(),
            "THROUGHLINE_REQUIRE_POSTGRES is set but THROUGHLINE_TEST_DATABASE_URL is not"
        );
        eprintln!("replicas: skipped, THROUGHLINE_TEST_DATABASE_URL is not set");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let schema = format!("server_replicas_{}_{nanos}", std::process::id());
    Some(throughline_store::schema_url(&base, &schema).expect("a schema for the test"))
}

fn replica(url: &str, name: &str, data: &std::path::Path) -> (AppState, Arc<PgStore>) {
    let pg = Arc::new(PgStore::connect(url).expect("connect").with_replica(name));
    let stores = Stores { store: pg.clone(), jobs: pg.clone(), memory: pg.clone(), access: pg.clone() };
    let config = ServerConfig { shared_store: true, ..ServerConfig::default() };
    let embedder: Arc<dyn Embedder> = crate::harness::embedder();
    let state = AppState::new(config, data.join(name), stores, embedder, AdminAuth::from_token("t"), None);
    (state, pg)
}

#[test]
fn a_resync_due_on_two_replicas_is_queued_once() {
    let Some(url) = database() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, store) = replica(&url, "replica-a", dir.path());
    let (b, _) = replica(&url, "replica-b", dir.path());
    let embedder = crate::harness::embedder();
    let kb = store.ensure_kb("docs", &embedder.model_id(), embedder.dim()).unwrap();
    let site = "https://docs.example/";
    store.ensure_source(kb.id, SourceKind::Site, site).unwrap();
    store.set_setting(&options_key("docs", site), r#"{"resync_hours": 1.0}"#).unwrap();

    // Never synced, so due: both replicas check at the same moment, one queues.
    let queued: usize = std::thread::scope(|s| {
        let runs: Vec<_> = [&a, &b].into_iter().map(|st| s.spawn(move || schedule_once(st).unwrap())).collect();
        runs.into_iter().map(|r| r.join().unwrap()).sum()
    });
    assert_eq!(queued, 1, "queued once");
    let jobs = store.jobs(Some("docs"), 10).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, "crawl");
    assert_eq!(schedule_once(&a).unwrap() + schedule_once(&b).unwrap(), 0, "the job is queued already");

    // Still due once that job is gone: only the scheduler's lease holder queues it, however often the
    // other replica checks.
    assert!(store.cancel_queued_job(jobs[0].id).unwrap());
    let (holder, other) = if schedule_once(&b).unwrap() == 1 {
        (&b, &a)
    } else {
        assert_eq!(schedule_once(&a).unwrap(), 1, "the lease holder queues it");
        (&a, &b)
    };
    let queued = store.jobs(Some("docs"), 10).unwrap();
    assert_eq!(queued.len(), 2, "the holder queued it again");
    assert!(store.cancel_queued_job(queued[0].id).unwrap());
    for _ in 0..3 {
        assert_eq!(schedule_once(other).unwrap(), 0, "not the scheduler");
    }
    assert_eq!(schedule_once(holder).unwrap(), 1);
}
