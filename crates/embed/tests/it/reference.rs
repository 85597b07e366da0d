use std::path::PathBuf;

use throughline_core::Embedder;
use throughline_embed::{BertEmbedder, EmbedConfig, Engine};

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/all-MiniLM-L6-v2")
}

#[derive(serde::Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    input_ids: Vec<u32>,
    embedding: Vec<f64>,
}

fn reference() -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference_embeddings.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * y).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn every_reference_case_matches_token_ids_and_vector() {
    // The fast engine (the default) must match to 0.9999; candle's reference path to 0.999.
    for (engine, min_cos) in [(Engine::Fast, 0.9999), (Engine::Candle, 0.999)] {
        check_reference(BertEmbedder::load(&EmbedConfig { engine, ..EmbedConfig::new(model_dir()) }).unwrap(), min_cos);
    }
}

fn check_reference(e: BertEmbedder, min_cos: f64) {
    let r = reference();
    assert!(r.cases.len() >= 9);
    // One batch with all cases: exercises length sorting, padding and the scatter back to input order.
    let texts: Vec<&str> = r.cases.iter().map(|c| c.text.as_str()).collect();
    let vectors = e.embed(&texts).unwrap();
    for (case, v) in r.cases.iter().zip(&vectors) {
        assert_eq!(e.token_ids(&case.text).unwrap(), case.input_ids, "ids of {:?}", case.text);
        assert_eq!(v.len(), 384);
        let c = cosine(v, &case.embedding);
        assert!(c >= min_cos, "cosine {c} for {:?}", case.text);
    }
    // One at a time gives the same vectors as the batch (padding must not leak into the pooling).
    for (case, batched) in r.cases.iter().zip(&vectors) {
        let single = e.embed_query(&case.text).unwrap();
        let dot: f32 = single.iter().zip(batched).map(|(a, b)| a * b).sum();
        assert!(dot > 0.9999, "single vs batched {dot} for {:?}", case.text);
    }
}

#[test]
fn long_text_is_truncated_to_the_window_and_counted_in_full() {
    let e = BertEmbedder::load(&EmbedConfig::new(model_dir())).unwrap();
    let text = "word ".repeat(400);
    assert_eq!(e.token_ids(&text).unwrap().len(), 256);
    assert_eq!(e.count_tokens(&text), 402);
    assert_eq!(e.max_tokens(), 256);
}

#[test]
fn missing_model_folder_is_a_clear_error() {
    let err = BertEmbedder::load(&EmbedConfig::new("/nonexistent/model")).err().unwrap();
    assert_eq!(err.to_string(), "/nonexistent/model: cannot read model file: not a folder");
}
