//! The built-in banks of example messages and their embeddings: labelled customer messages for the
//! stage router (`data/intents.tsv`, spread over many kinds of SaaS) and questions no product's docs
//! answer for calibrating "I don't know" (`data/offtopic.txt`). None is taken from an evaluation corpus.
//!
//! Embedding a bank costs a second or two, so the vectors are computed once per process and model and
//! shared by every agent: the cache is keyed by the embedding of a fixed probe sentence, which differs
//! between models. It is derived data (rebuilt on demand), never state.

use std::sync::{Arc, Mutex};

use throughline_core::{CoreError, Retriever, Stage};

const INTENTS: &str = include_str!("../data/intents.tsv");
const OFFTOPIC: &str = include_str!("../data/offtopic.txt");
const PROBE: &str = "Throughline embedding probe: which model is this?";

/// The labelled messages of the built-in intent bank.
pub fn intents() -> Vec<(Stage, &'static str)> {
    INTENTS
        .lines()
        .filter_map(|l| {
            let (stage, text) = l.split_once('\t')?;
            Some((stage.parse().ok()?, text.trim()))
        })
        .filter(|(_, t)| !t.is_empty())
        .collect()
}

/// The built-in off-topic questions.
pub fn offtopic() -> Vec<&'static str> {
    OFFTOPIC.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

/// Vectors of one bank, in the bank's order.
pub type BankVectors = Arc<Vec<Vec<f32>>>;

struct Cached {
    bank: &'static str,
    probe: Vec<f32>,
    vectors: BankVectors,
}

static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// The embeddings of `texts` (bank `bank`) with `kb`'s model, computed once per process and model.
pub fn embedded(bank: &'static str, texts: &[&str], kb: &dyn Retriever) -> Result<BankVectors, CoreError> {
    let probe = kb.embed(&[PROBE])?.pop().unwrap_or_default();
    let same = |c: &Cached| {
        c.bank == bank && c.probe.len() == probe.len() && c.probe.iter().zip(&probe).all(|(a, b)| (a - b).abs() < 1e-4)
    };
    if let Some(c) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|c| same(c)) {
        return Ok(c.vectors.clone());
    }
    let mut vectors = Vec::with_capacity(texts.len());
    for group in texts.chunks(64) {
        vectors.extend(kb.embed(group)?);
    }
    let vectors = Arc::new(vectors);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if !cache.iter().any(same) {
        cache.push(Cached { bank, probe, vectors: vectors.clone() });
    }
    Ok(vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banks_are_large_and_balanced() {
        let intents = intents();
        for stage in Stage::ALL {
            let n = intents.iter().filter(|(s, _)| *s == stage).count();
            assert!(n >= 100, "{stage}: only {n} examples");
        }
        assert!(intents.len() >= 400, "{} labelled messages", intents.len());
        assert!(offtopic().len() >= 200, "{} off-topic questions", offtopic().len());
    }
}
