//! The contracts of the store traits as executable checks, for every backend to run against itself: each
//! function takes a fresh, empty store and panics, naming the broken promise, when it does not behave as
//! the trait's documentation says. SQLite runs them in `throughline-store`'s tests; another backend (the
//! scale-out's PostgreSQL) runs the same functions, so both keep one behaviour. Enabled by the
//! `conformance` feature (test builds only).

use crate::{
    AccessStore, BatchWrite, ChunkId, DocId, DocumentMeta, ErrorKind, JobStatus, JobStore, KbId, KnowledgeStore,
    PageType, Publication, RecoveredJob, SourceId, SourceKind, StoredChunk,
};

/// [`JobStore`]: claiming in order, one running job per knowledge base, checkpoints, final statuses,
/// cancellation, recovery after a stop, settings.
pub fn job_store(store: &dyn JobStore) {
    // Claimed oldest first, one attempt more, progress kept, a final status with its reason.
    let a = store.create_job("ingest", "sample", "{\"files\":1}").expect("create");
    let b = store.create_job("crawl", "other", "{}").expect("create");
    assert_eq!(a.status, JobStatus::Queued, "a new job is queued");
    let claimed = store.claim_next_job().expect("claim").expect("a queued job is claimed");
    assert_eq!((claimed.id, claimed.status, claimed.attempts), (a.id, JobStatus::Running, 1), "oldest first");
    store.save_job_progress(a.id, "{\"done\":3}").expect("checkpoint");
    assert_eq!(store.job(a.id).expect("read").expect("exists").progress, "{\"done\":3}", "checkpoint kept");
    store.finish_job(a.id, JobStatus::Failed, "{\"done\":3}", Some("disk full")).expect("finish");
    let done = store.job(a.id).expect("read").expect("exists");
    assert_eq!((done.status, done.error.as_deref()), (JobStatus::Failed, Some("disk full")), "final status");
    assert!(done.finished_at.is_some(), "a finished job has its time");
    assert!(store.cancel_queued_job(b.id).expect("cancel"), "a queued job can be cancelled");
    assert_eq!(store.job(b.id).expect("read").expect("exists").status, JobStatus::Cancelled);
    assert!(!store.cancel_queued_job(a.id).expect("cancel"), "a finished job cannot be cancelled");
    assert!(store.claim_next_job().expect("claim").is_none(), "nothing queued is left");
    assert_eq!(store.jobs(Some("other"), 10).expect("list").len(), 1, "jobs of one knowledge base");
    let all = store.jobs(None, 10).expect("list");
    assert_eq!(all.iter().map(|j| j.id).collect::<Vec<_>>(), vec![b.id, a.id], "newest first");
    assert_eq!(store.jobs(None, 1).expect("list").len(), 1, "the limit holds");

    // A busy knowledge base is passed over for the next one, and keeps its order.
    let big = store.create_job("crawl", "docs", "{}").expect("create");
    let docs_next = store.create_job("ingest", "docs", "{}").expect("create");
    let other = store.create_job("ingest", "blog", "{}").expect("create");
    assert_eq!(store.claim_next_job().expect("claim").map(|j| j.id), Some(big.id));
    assert_eq!(store.claim_next_job().expect("claim").map(|j| j.id), Some(other.id), "another kb runs beside");
    assert!(store.claim_next_job().expect("claim").is_none(), "both knowledge bases are busy");
    store.finish_job(big.id, JobStatus::Succeeded, "{}", None).expect("finish");
    store.finish_job(other.id, JobStatus::Succeeded, "{}", None).expect("finish");
    let next = store.claim_next_job().expect("claim").expect("the waiting job runs");
    assert_eq!(next.id, docs_next.id, "in order");

    // A job a stopped process left running is queued again, then failed once its attempts are used.
    let rec = store.recover_jobs(2).expect("recover");
    assert_eq!(rec, vec![RecoveredJob { id: docs_next.id, requeued: true }], "requeued");
    assert_eq!(store.job(docs_next.id).expect("read").expect("exists").status, JobStatus::Queued);
    assert_eq!(store.claim_next_job().expect("claim").map(|j| j.attempts), Some(2), "a second attempt");
    let rec = store.recover_jobs(2).expect("recover");
    assert_eq!(rec, vec![RecoveredJob { id: docs_next.id, requeued: false }], "out of attempts");
    let failed = store.job(docs_next.id).expect("read").expect("exists");
    assert_eq!(failed.status, JobStatus::Failed, "failed, not lost");
    assert!(failed.error.is_some_and(|e| !e.is_empty()), "with its reason");
    assert!(store.recover_jobs(2).expect("recover").is_empty(), "nothing is left running");

    // Settings: absent, written, overwritten.
    assert_eq!(store.setting("admin_token_hash").expect("read"), None);
    store.set_setting("admin_token_hash", "a").expect("write");
    store.set_setting("admin_token_hash", "b").expect("write");
    assert_eq!(store.setting("admin_token_hash").expect("read").as_deref(), Some("b"), "the last write wins");
}

/// [`AccessStore`]: publications by agent and by key, visitor sessions, and their removal.
pub fn access_store(store: &dyn AccessStore) {
    assert_eq!(store.publication("demo").expect("read"), None, "never published");
    let p = Publication {
        agent: "demo".into(),
        public_key: "pk_1".into(),
        allowed_origins: vec!["https://example.com".into(), "http://localhost:3000".into()],
        published: true,
        updated_at: 0,
    };
    store.save_publication(&p).expect("save");
    let got = store.publication_by_key("pk_1").expect("read").expect("found by its key");
    assert_eq!((got.agent.as_str(), &got.allowed_origins, got.published), ("demo", &p.allowed_origins, true));
    assert_eq!(store.publication_by_key("pk_2").expect("read"), None, "another key opens nothing");
    store.save_publication(&Publication { published: false, ..p.clone() }).expect("save");
    assert!(!store.publication("demo").expect("read").expect("kept").published, "unpublished, still known");

    store.create_session("h1", "demo", "visitor-1").expect("session");
    store.create_session("h2", "demo", "visitor-2").expect("session");
    let s = store.session("h1").expect("read").expect("found by its hash");
    assert_eq!((s.agent.as_str(), s.contact_key.as_str()), ("demo", "visitor-1"));
    assert_eq!(store.session("h3").expect("read"), None, "an unknown token opens nothing");
    assert_eq!(store.delete_sessions("demo", "visitor-1").expect("delete"), 1, "one contact's sessions");
    assert_eq!(store.session("h1").expect("read"), None);
    assert!(store.session("h2").expect("read").is_some(), "another contact's session stays");

    store.save_publication(&Publication { published: true, ..p }).expect("save");
    assert!(store.delete_publication("demo").expect("delete"), "it was published");
    assert_eq!(store.publication_by_key("pk_1").expect("read"), None, "the key stops working");
    assert_eq!(store.session("h2").expect("read"), None, "and every session of the agent");
    assert!(!store.delete_publication("demo").expect("delete"), "nothing left to delete");
}

fn doc(kb: KbId, src: SourceId, path: &str, hash: &str) -> DocumentMeta {
    DocumentMeta {
        id: DocId::derive(kb, path),
        source_id: src,
        path: path.into(),
        url: None,
        title: format!("Title of {path}"),
        description: None,
        page_type: PageType::Help,
        content_hash: hash.into(),
        byte_size: 10,
        chunk_count: 0,
        updated_at: 1,
    }
}

fn chunk(d: &DocumentMeta, ordinal: u32, text: &str) -> StoredChunk {
    StoredChunk {
        id: ChunkId::derive(d.id, &d.content_hash, ordinal),
        doc_id: d.id,
        ordinal,
        heading_path: vec!["Intro".into()],
        text: text.into(),
        token_count: 3,
        vector: vec![0.5, -0.25, 1.0],
    }
}

/// [`KnowledgeStore`]: a batch is one step of the knowledge base's sequence number, a new version of a
/// document replaces its chunks (vectors kept exactly), a deleted document takes its chunks along; a model
/// mismatch and a bad name are clear errors; deleting a knowledge base leaves the others whole.
pub fn knowledge_store(s: &dyn KnowledgeStore) {
    let kb = s.ensure_kb("kb1", "m", 3).expect("create");
    assert_eq!(s.ensure_kb("kb1", "m", 3).expect("reopen").id, kb.id, "ensuring twice is the same kb");
    let src = s.ensure_source(kb.id, SourceKind::Folder, "/docs").expect("source");
    let d1 = doc(kb.id, src.id, "a.md", "h1");
    let upserts = vec![(d1.clone(), vec![chunk(&d1, 0, "x"), chunk(&d1, 1, "y")])];
    assert_eq!(s.commit_batch(kb.id, BatchWrite { upserts, delete_docs: vec![] }).expect("batch"), 1, "seq 1");
    assert_eq!(s.chunk_ids(kb.id).expect("ids").len(), 2);
    let d1b = doc(kb.id, src.id, "a.md", "h2");
    let upserts = vec![(d1b.clone(), vec![chunk(&d1b, 0, "z")])];
    assert_eq!(s.commit_batch(kb.id, BatchWrite { upserts, delete_docs: vec![] }).expect("batch"), 2, "seq 2");
    let ids = s.chunk_ids(kb.id).expect("ids");
    assert_eq!(ids, vec![ChunkId::derive(d1b.id, "h2", 0)], "the new version replaces the old chunks");
    let got = s.chunks_with_docs(kb.id, &ids).expect("read");
    assert_eq!(got[0].1.text, "z");
    assert_eq!(got[0].1.vector, vec![0.5, -0.25, 1.0], "vectors round-trip exactly");
    assert_eq!((got[0].0.content_hash.as_str(), got[0].0.chunk_count), ("h2", 1));
    s.commit_batch(kb.id, BatchWrite { upserts: vec![], delete_docs: vec![d1b.id] }).expect("batch");
    assert!(s.chunk_ids(kb.id).expect("ids").is_empty(), "a deleted document takes its chunks along");
    assert_eq!(s.kb("kb1").expect("read").expect("exists").seq, 3, "every batch is one step");

    let e = s.ensure_kb("kb1", "other", 3).expect_err("another model");
    assert_eq!(e.kind(), ErrorKind::Conflict, "{}", e.message);
    assert!(e.message.contains("built with model `m`"), "{}", e.message);
    let e = s.ensure_kb("no spaces", "m", 3).expect_err("a bad name");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message.starts_with("`no spaces` is not a valid knowledge base name"), "{}", e.message);

    let keep = s.ensure_kb("kept", "m", 3).expect("create");
    for k in [&kb, &keep] {
        let src = s.ensure_source(k.id, SourceKind::Folder, "/d").expect("source");
        let d = doc(k.id, src.id, "b.md", "h");
        let upserts = vec![(d.clone(), vec![chunk(&d, 0, "t")])];
        s.commit_batch(k.id, BatchWrite { upserts, delete_docs: vec![] }).expect("batch");
    }
    assert!(s.delete_kb(kb.id).expect("delete"), "it existed");
    assert!(s.kb("kb1").expect("read").is_none());
    assert!(s.chunk_ids(kb.id).expect("ids").is_empty(), "its chunks are gone");
    assert_eq!(s.chunk_ids(keep.id).expect("ids").len(), 1, "another knowledge base is untouched");
    assert_eq!(s.list_kbs().expect("list").len(), 1);
    assert!(!s.delete_kb(kb.id).expect("delete"), "nothing left to delete");
}
