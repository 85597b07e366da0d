//! The contracts of the store traits as executable checks, for every backend to run against itself: each
//! function takes a fresh, empty store and panics, naming the broken promise, when it does not behave as
//! the trait's documentation says. SQLite runs them in `throughline-store`'s tests; another backend (the
//! scale-out's PostgreSQL) runs the same functions, so both keep one behaviour. Enabled by the
//! `conformance` feature (test builds only).

use crate::{
    AccessStore, BatchWrite, ChunkId, DocId, DocumentMeta, ErrorKind, HandoffId, HandoffRecord, HandoffStatus,
    JobStatus, JobStore, KbId, KnowledgeStore, LeadRecord, MemoryStore, NewMessage, PageType, Publication,
    RecoveredJob, Role, SourceId, SourceKind, StoredChunk,
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

/// A help page `path` of `kb` with content hash `hash` (a fixture for store tests).
pub fn doc(kb: KbId, src: SourceId, path: &str, hash: &str) -> DocumentMeta {
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

/// Chunk `ordinal` of `d` with a fixed 3-dimensional vector (a fixture for store tests).
pub fn chunk(d: &DocumentMeta, ordinal: u32, text: &str) -> StoredChunk {
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

/// [`MemoryStore`]: agents versioned by name, contacts of one agent kept apart, facts replaced by key,
/// conversations and their messages in order, events, one lead per contact growing, handoffs replaced by
/// id, merging a visitor into a known contact, and deletes that take everything about a contact or an
/// agent along.
pub fn memory_store(s: &dyn MemoryStore) {
    let a1 = s.save_agent("support", "persona = 'a'").expect("save");
    let a2 = s.save_agent("support", "persona = 'b'").expect("save");
    assert_eq!((a1.version, a2.version), (1, 2), "versions count from 1");
    assert_eq!(s.agent("support", None).expect("read").expect("exists").config, "persona = 'b'", "latest");
    assert_eq!(s.agent("support", Some(1)).expect("read").expect("exists").config, "persona = 'a'", "by version");
    assert!(s.agent("support", Some(3)).expect("read").is_none());
    let e = s.save_agent("bad name", "").expect_err("a bad name");
    assert!(e.to_string().contains("`bad name`"), "{e}");
    s.save_agent("sales", "").expect("save");
    let names: Vec<String> = s.agents().expect("list").into_iter().map(|a| a.name).collect();
    assert_eq!(names.len(), 2, "one entry per agent: {names:?}");

    let alice = s.create_contact(a1.id, "visitor-1").expect("contact");
    let bob = s.create_contact(a1.id, "visitor-2").expect("contact");
    s.put_fact(alice.id, "email", "old@acme.test", None).expect("fact");
    s.put_fact(alice.id, "email", "alice@acme.test", None).expect("fact");
    let facts = s.facts(alice.id).expect("facts");
    assert_eq!((facts.len(), facts[0].value.as_str()), (1, "alice@acme.test"), "a key holds its last value");
    assert!(s.facts(bob.id).expect("facts").is_empty(), "contacts are kept apart");
    assert_eq!(s.contacts(a1.id).expect("list").len(), 2);

    let conv = s.start_conversation(a1.id, alice.id, 2).expect("conversation");
    assert!(s.conversation(bob.id, conv.id).expect("read").is_none(), "only its contact reaches a conversation");
    for (role, text) in [(Role::User, "hi"), (Role::Assistant, "hello")] {
        let m = NewMessage {
            conversation: conv.id,
            role,
            text: text.into(),
            stage: None,
            idk: false,
            latency_ms: None,
            citations: Vec::new(),
        };
        s.add_message(&m).expect("message");
    }
    let texts: Vec<String> = s.messages(conv.id).expect("messages").into_iter().map(|m| m.text).collect();
    assert_eq!(texts, vec!["hi", "hello"], "messages in order");
    s.add_event(alice.id, "signed_up", &[("plan".into(), "hobby".into())]).expect("event");
    s.add_event(alice.id, "limit_reached", &[]).expect("event");
    let events: Vec<String> = s.events(alice.id).expect("events").into_iter().map(|e| e.name).collect();
    assert_eq!(events, vec!["signed_up", "limit_reached"], "events oldest first");

    let lead = |facts: &[(&str, &str)]| LeadRecord {
        agent: a1.id,
        contact: alice.id,
        facts: facts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        webhook: None,
        created_at: 1,
    };
    s.save_lead(&lead(&[("email", "alice@acme.test")])).expect("lead");
    s.save_lead(&lead(&[("email", "alice@acme.test"), ("team_size", "12")])).expect("lead");
    let leads = s.leads(a1.id).expect("leads");
    assert_eq!((leads.len(), leads[0].facts.len()), (1, 2), "one lead per contact, its facts growing");

    let handoff = HandoffRecord {
        id: HandoffId::derive(conv.id, 1),
        agent: a1.id,
        contact: alice.id,
        conversation: conv.id,
        reason: "asked for a human".into(),
        summary: "wants help".into(),
        transcript: "hi".into(),
        facts: Vec::new(),
        status: HandoffStatus::Open,
        resolution: None,
        webhook: None,
        created_at: 1,
    };
    s.save_handoff(&handoff).expect("handoff");
    let resolved =
        HandoffRecord { status: HandoffStatus::Resolved, resolution: Some("refunded".into()), ..handoff.clone() };
    s.save_handoff(&resolved).expect("handoff");
    assert_eq!(s.handoffs(a1.id).expect("list").len(), 1, "replaced by id");
    assert_eq!(s.handoff(a1.id, handoff.id).expect("read").expect("exists").resolution.as_deref(), Some("refunded"));

    // A visitor merged into an identified contact: its key, facts and conversations follow.
    let known = s.create_contact(a1.id, "alice@acme.test").expect("contact");
    s.merge_contacts(a1.id, alice.id, known.id).expect("merge");
    assert_eq!(s.contact_by_key(a1.id, "visitor-1").expect("read").expect("alias").id, known.id, "the old key");
    assert_eq!(s.facts(known.id).expect("facts")[0].value, "alice@acme.test");
    assert_eq!(s.conversations(known.id).expect("list").len(), 1);
    assert!(s.delete_contact(a1.id, known.id).expect("delete"), "it existed");
    assert!(s.messages(conv.id).expect("messages").is_empty(), "its messages go with it");
    assert!(s.contact_by_key(a1.id, "visitor-1").expect("read").is_none(), "and its keys");
    assert!(!s.delete_contact(a1.id, known.id).expect("delete"), "nothing left to delete");

    // Deleting an agent takes every version and its contacts; a new agent of that name starts empty.
    assert!(s.delete_agent("support").expect("delete"), "it existed");
    assert!(s.agent("support", Some(1)).expect("read").is_none(), "every version");
    assert!(s.contacts(a1.id).expect("list").is_empty(), "its contacts");
    assert!(s.contact_by_key(a1.id, "visitor-2").expect("read").is_none());
    assert_eq!(s.save_agent("support", "").expect("save").version, 1, "a new agent of that name starts at 1");
    assert!(!s.delete_agent("nobody").expect("delete"));
}
