use super::*;
use throughline_core::{DocId, PageType, SearchFilters, SourceId};

fn unit(dim: usize, axis: usize) -> Vec<f32> {
    let mut v = vec![0.0; dim];
    v[axis] = 1.0;
    v
}

fn chunk(id: u64, doc: u64, page_type: PageType, title: &str, text: &str, axis: usize) -> IndexedChunk {
    IndexedChunk {
        id: ChunkId::from_raw(id),
        doc_id: DocId::from_raw(doc),
        source_id: SourceId::from_raw(if doc == 3 { 2 } else { 1 }),
        path: format!("doc{doc}.md"),
        url: None,
        title: title.into(),
        heading_path: vec!["Section".into()],
        text: text.into(),
        page_type,
        ordinal: id as u32,
        vector: unit(4, axis),
    }
}

fn corpus() -> Vec<IndexedChunk> {
    vec![
        chunk(1, 1, PageType::Pricing, "Pricing", "The Team plan costs $79 per month and includes 100 monitors.", 0),
        chunk(2, 1, PageType::Pricing, "Pricing", "Annual billing saves about 17 percent on every plan.", 0),
        chunk(
            3,
            2,
            PageType::Help,
            "Reset your password",
            "Click Forgot password on the sign-in page to get a reset link.",
            1,
        ),
        chunk(
            4,
            3,
            PageType::Docs,
            "Slack integration",
            "Connect Slack from Settings > Integrations to receive alerts.",
            2,
        ),
    ]
}

fn open(dir: &Path) -> HybridIndex {
    HybridIndex::open(dir, IndexConfig { dim: 4, search: SearchConfig::default() }).unwrap()
}

fn req(q: &str, mode: SearchMode) -> SearchRequest {
    SearchRequest { mode, ..SearchRequest::new(q) }
}

#[test]
fn bm25_vector_and_hybrid_each_find_what_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let idx = open(dir.path());
    idx.apply(IndexBatch { seq: 1, upserts: corpus(), ..Default::default() }).unwrap();
    assert_eq!(idx.len(), 4);
    assert_eq!(idx.applied_seq(), 1);

    // Keyword search: stemming matches "costs" for "cost", the snippet highlights it.
    let hits = idx.search(&req("how much does it cost", SearchMode::Bm25), None).unwrap();
    assert_eq!(hits[0].chunk_id, ChunkId::from_raw(1));
    assert!(hits[0].bm25.is_some() && hits[0].vector.is_none());
    assert!(hits[0].snippet.contains("costs"));
    let (a, b) = hits[0].highlights[0];
    assert_eq!(&hits[0].snippet[a..b], "costs");

    // Vector search finds the password page for a query with no shared word, through its vector.
    let hits = idx.search(&req("locked out of my account", SearchMode::Vector), Some(&unit(4, 1))).unwrap();
    assert_eq!(hits[0].path, "doc2.md");
    assert_eq!(hits[0].vector.unwrap().rank, 1);
    assert!((hits[0].vector.unwrap().score - 1.0).abs() < 1e-6);

    // Hybrid: one result per document by default, both retrievers' ranks reported.
    let hits = idx.search(&req("Slack alerts", SearchMode::Hybrid), Some(&unit(4, 2))).unwrap();
    assert_eq!(hits[0].path, "doc3.md");
    assert_eq!(hits[0].bm25.unwrap().rank, 1);
    assert_eq!(hits[0].vector.unwrap().rank, 1);
    let docs: HashSet<_> = hits.iter().map(|h| h.doc_id).collect();
    assert_eq!(docs.len(), hits.len());
    assert_eq!(hits[0].heading_path, vec!["Section".to_string()]);
}

#[test]
fn filters_typos_dedupe_and_bad_queries() {
    let dir = tempfile::tempdir().unwrap();
    let idx = open(dir.path());
    idx.apply(IndexBatch { seq: 1, upserts: corpus(), ..Default::default() }).unwrap();
    let mut r = req("plan billing password slack", SearchMode::Bm25);
    r.filters = SearchFilters { page_types: vec![PageType::Pricing], sources: vec![] };
    let hits = idx.search(&r, None).unwrap();
    assert_eq!(hits.len(), 1, "one document passes the filter");
    assert_eq!(hits[0].page_type, PageType::Pricing);
    r.dedupe_documents = false;
    assert_eq!(idx.search(&r, None).unwrap().len(), 2, "both pricing chunks without dedupe");
    let mut r = req("plan billing password slack", SearchMode::Vector);
    r.filters = SearchFilters { page_types: vec![], sources: vec![SourceId::from_raw(2)] };
    let hits = idx.search(&r, Some(&unit(4, 0))).unwrap();
    assert!(hits.iter().all(|h| h.source_id == SourceId::from_raw(2)));
    // One typo in a word the index does not know still finds it.
    let hits = idx.search(&req("pasword", SearchMode::Bm25), None).unwrap();
    assert_eq!(hits[0].path, "doc2.md");
    // Bad queries are clear errors, and absurdly long ones still answer.
    let err = idx.search(&req("   ", SearchMode::Hybrid), Some(&unit(4, 0))).unwrap_err();
    assert_eq!(err.message, "the query is empty: type a few words to search for");
    let err = idx.search(&req("plan", SearchMode::Hybrid), None).unwrap_err();
    assert_eq!(err.message, "hybrid search needs a query vector");
    let long = "plan ".repeat(50_000);
    assert!(!idx.search(&req(&long, SearchMode::Bm25), None).unwrap().is_empty());
    let err = idx.search(&req("plan", SearchMode::Vector), Some(&[1.0, 0.0])).unwrap_err();
    assert_eq!(err.message, "vector of 2 dimensions given to an index of 4");
}

#[test]
fn replacing_and_deleting_documents_updates_both_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let idx = open(dir.path());
    idx.apply(IndexBatch { seq: 1, upserts: corpus(), ..Default::default() }).unwrap();
    // Document 1 changes: its two chunks are replaced by one new chunk.
    let new = chunk(10, 1, PageType::Pricing, "Pricing", "The Team plan now costs $89 per month.", 0);
    idx.apply(IndexBatch { seq: 2, delete_docs: vec![DocId::from_raw(1)], upserts: vec![new], ..Default::default() })
        .unwrap();
    let hits = idx.search(&req("team plan", SearchMode::Hybrid), Some(&unit(4, 0))).unwrap();
    assert_eq!(hits[0].chunk_id, ChunkId::from_raw(10));
    assert!(hits.iter().all(|h| h.chunk_id != ChunkId::from_raw(1) && h.chunk_id != ChunkId::from_raw(2)));
    idx.apply(IndexBatch { seq: 3, delete_docs: vec![DocId::from_raw(2)], ..Default::default() }).unwrap();
    assert_eq!(idx.len(), 2);
    let hits = idx.search(&req("password", SearchMode::Vector), Some(&unit(4, 1))).unwrap();
    assert!(hits.iter().all(|h| h.path != "doc2.md"));
}

#[test]
fn reconcile_repairs_an_index_that_missed_a_batch_or_lost_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let all = corpus();
    {
        let idx = open(dir.path());
        idx.apply(IndexBatch { seq: 1, upserts: all[..2].to_vec(), ..Default::default() }).unwrap();
        idx.persist().unwrap();
    }
    // The store has moved on to seq 3: chunk 2 is gone, chunks 3 and 4 were added; the index never saw it.
    let live = vec![ChunkId::from_raw(1), ChunkId::from_raw(3), ChunkId::from_raw(4)];
    let loader = |ids: &[ChunkId]| -> Result<Vec<IndexedChunk>, CoreError> {
        Ok(all.iter().filter(|c| ids.contains(&c.id)).cloned().collect())
    };
    let idx = open(dir.path());
    assert_eq!(idx.applied_seq(), 1);
    let report = idx.reconcile(3, &live, &loader).unwrap();
    assert_eq!((report.bm25_added, report.bm25_removed, report.vector_added, report.vector_removed), (2, 1, 2, 1));
    assert_eq!(idx.applied_seq(), 3);
    assert_eq!(idx.len(), 3);
    assert!(!idx.reconcile(3, &live, &loader).unwrap().changed(), "second reconcile is a no-op");
    drop(idx);
    // Wipe the keyword index and corrupt the vector files: both are rebuilt from the store.
    std::fs::remove_dir_all(dir.path().join("bm25")).unwrap();
    std::fs::write(dir.path().join("vectors/slots.bin"), b"garbage").unwrap();
    let idx = open(dir.path());
    let report = idx.reconcile(3, &live, &loader).unwrap();
    assert!(report.rebuilt);
    assert_eq!((report.bm25_added, report.vector_added), (3, 3));
    let hits = idx.search(&req("slack", SearchMode::Hybrid), Some(&unit(4, 2))).unwrap();
    assert_eq!(hits[0].path, "doc3.md");
}

#[test]
fn template_variants_the_question_does_not_name_make_room_for_the_general_page() {
    // Four framework guides close to the query vector, and the general page a little further.
    let v = |axis_weight: f32| {
        let mut x = vec![axis_weight, (1.0 - axis_weight * axis_weight).sqrt(), 0.0, 0.0];
        let n = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        x.iter_mut().for_each(|a| *a /= n);
        x
    };
    let mut chunks = Vec::new();
    for (i, name) in ["Bun", "FastAPI", "Fastify", "Flask"].into_iter().enumerate() {
        let mut c = chunk(
            10 + i as u64,
            10 + i as u64,
            PageType::Docs,
            &format!("Deploy a {name} App"),
            &format!("Deploy your {name} app from a GitHub repository in a few clicks."),
            0,
        );
        c.vector = v(0.99 - i as f32 * 0.005);
        chunks.push(c);
    }
    let mut general =
        chunk(20, 20, PageType::Docs, "Quick Start", "Deploy any project from a GitHub repository in a few clicks.", 0);
    general.vector = v(0.93);
    chunks.push(general);
    // Pages about other things, so that the cosines scale over a real spread.
    for i in 0..3u64 {
        chunks.push(chunk(30 + i, 30 + i, PageType::Docs, "Billing", "Invoices are sent monthly by email.", 2));
    }
    let build = |family_penalty: f32| {
        let dir = tempfile::tempdir().unwrap();
        let search = SearchConfig { family_penalty, ..SearchConfig::default() };
        let idx = HybridIndex::open(dir.path(), IndexConfig { dim: 4, search }).unwrap();
        idx.apply(IndexBatch { seq: 1, upserts: chunks.clone(), ..Default::default() }).unwrap();
        (dir, idx)
    };
    let q = unit(4, 0);
    let titles = |hits: &[SearchHit]| hits.iter().map(|h| h.title.clone()).collect::<Vec<_>>();

    // Without the rule, the four variants come first.
    let (_off_dir, off) = build(0.0);
    let hits = off.search(&req("how do i deploy my repo from github", SearchMode::Hybrid), Some(&q)).unwrap();
    assert_eq!(titles(&hits)[4], "Quick Start", "{:?}", titles(&hits));
    let (_dir, idx) = build(SearchConfig::default().family_penalty);
    // Naming no framework: the best variant keeps its place, the general page comes next.
    let hits = idx.search(&req("how do i deploy my repo from github", SearchMode::Hybrid), Some(&q)).unwrap();
    assert_eq!(titles(&hits)[..2], ["Deploy a Bun App", "Quick Start"], "{:?}", titles(&hits));
    // Naming one: that one leads and its siblings follow the general page.
    let hits = idx.search(&req("deploying my flask app from github", SearchMode::Hybrid), Some(&q)).unwrap();
    assert_eq!(titles(&hits)[..2], ["Deploy a Flask App", "Quick Start"], "{:?}", titles(&hits));
    // Vector search alone is left as it ranks.
    let hits = idx.search(&req("how do i deploy my repo from github", SearchMode::Vector), Some(&q)).unwrap();
    assert_eq!(titles(&hits)[1], "Deploy a FastAPI App");
}
