//! The fast engine against candle's `BertModel` (the straightforward implementation) on random token
//! sequences of random lengths, and both against the reference vectors.

use std::path::PathBuf;

use throughline_core::Embedder;
use throughline_embed::{BertEmbedder, EmbedConfig, Engine};

fn load(engine: Engine) -> BertEmbedder {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2");
    BertEmbedder::load(&EmbedConfig { engine, ..EmbedConfig::new(dir) }).unwrap()
}

#[test]
fn fast_engine_matches_candle_on_random_sequences() {
    let fast = load(Engine::Fast);
    let candle = load(Engine::Candle);
    let mut s: u64 = 0x2545f4914f6cdd1d;
    let mut next = move |n: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % n
    };
    let mut seqs: Vec<Vec<u32>> = Vec::new();
    for len in [1usize, 2, 3, 10, 31, 64, 129, 200, 256] {
        let mut ids = vec![101u32];
        ids.extend((0..len.saturating_sub(2)).map(|_| 1000 + next(28_000) as u32));
        if len >= 2 {
            ids.push(102);
        }
        seqs.push(ids);
    }
    for _ in 0..8 {
        let len = 2 + next(250) as usize;
        let mut ids = vec![101u32];
        ids.extend((0..len - 2).map(|_| 1000 + next(28_000) as u32));
        ids.push(102);
        seqs.push(ids);
    }
    let a = fast.embed_ids(&seqs).unwrap();
    let b = candle.embed_ids(&seqs).unwrap();
    for ((x, y), ids) in a.iter().zip(&b).zip(&seqs) {
        let dot: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
        assert!(dot > 0.99999, "length {}: cosine {dot}", ids.len());
    }
    // A single sequence (the query path, threads inside the products) gives the same vector as in a batch.
    let one = fast.embed_ids(&seqs[7..8]).unwrap();
    let dot: f32 = one[0].iter().zip(&a[7]).map(|(p, q)| p * q).sum();
    assert!(dot > 0.999999, "{dot}");
}

#[test]
fn both_engines_embed_empty_text() {
    for engine in [Engine::Fast, Engine::Candle] {
        let v = load(engine).embed_query("").unwrap();
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}
