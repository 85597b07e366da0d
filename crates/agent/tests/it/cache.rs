//! The embedding cache under simultaneous turns (issue 17): identical texts embedded at the same time are
//! computed once and shared, and a failed computation reaches every caller instead of leaving them waiting.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use throughline_agent::extractive::EmbeddingCache;
use throughline_core::{ChunkText, CoreError, ErrorKind, Plan, Retriever, SearchHit, SearchRequest};

use crate::fixture::plans_kb;

/// The real knowledge base, counting the texts it is asked to embed (and slow enough that the callers
/// overlap), or failing every embedding when `fail` is set.
struct Counting {
    inner: Arc<dyn Retriever>,
    texts: AtomicUsize,
    calls: AtomicUsize,
    fail: bool,
}

impl Retriever for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>, CoreError> {
        self.inner.search(request)
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, CoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(200));
        if self.fail {
            return Err(CoreError::new(ErrorKind::Unavailable, "embedder unavailable"));
        }
        self.inner.embed(texts)
    }
    fn chunk_texts(&self) -> Result<Vec<ChunkText>, CoreError> {
        self.inner.chunk_texts()
    }
    fn plans(&self) -> Result<Vec<Plan>, CoreError> {
        self.inner.plans()
    }
}

fn counting(fail: bool) -> Arc<Counting> {
    let inner: Arc<dyn Retriever> = plans_kb();
    Arc::new(Counting { inner, texts: AtomicUsize::new(0), calls: AtomicUsize::new(0), fail })
}

#[test]
fn six_simultaneous_turns_embed_each_text_once_and_get_the_same_vectors() {
    let retriever = counting(false);
    let cache = Arc::new(EmbeddingCache::default());
    let texts: Vec<String> = [
        "How do I turn on SSO?",
        "SSO is available on the Business plan and above.",
        "Invitations expire after seven days.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let (retriever, cache, barrier) = (retriever.clone(), cache.clone(), barrier.clone());
            // Half the turns ask for the texts in another order, one with a text of its own.
            let mut mine = texts.clone();
            if i % 2 == 1 {
                mine.reverse();
            }
            if i == 5 {
                mine.push("Owners manage billing and settings.".into());
            }
            std::thread::spawn(move || {
                barrier.wait();
                (mine.clone(), cache.embed(retriever.as_ref(), &mine).unwrap())
            })
        })
        .collect();
    let results: Vec<(Vec<String>, Vec<Vec<f32>>)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(retriever.texts.load(Ordering::SeqCst), 4, "each distinct text embedded once");
    let direct = plans_kb().embed(&[texts[1].as_str()]).unwrap().pop().unwrap();
    for (mine, vectors) in &results {
        assert_eq!(mine.len(), vectors.len());
        let v = &vectors[mine.iter().position(|t| t == &texts[1]).unwrap()];
        let cos: f32 = v.iter().zip(&direct).map(|(a, b)| a * b).sum();
        assert!(cos > 0.9999, "the shared vector is the text's own: {cos}");
    }
    // Asked again: served from the cache.
    let calls = retriever.calls.load(Ordering::SeqCst);
    cache.embed(retriever.as_ref(), &texts).unwrap();
    assert_eq!(retriever.calls.load(Ordering::SeqCst), calls);
}

#[test]
fn a_failed_embedding_reaches_every_waiting_turn() {
    let retriever = counting(true);
    let cache = Arc::new(EmbeddingCache::default());
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (retriever, cache, barrier) = (retriever.clone(), cache.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                cache.embed(retriever.as_ref(), &["How do I turn on SSO?".to_string()])
            })
        })
        .collect();
    for h in handles {
        let err = h.join().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "embedder unavailable");
    }
}
