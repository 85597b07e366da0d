//! `throughline bench-embed`: embedding throughput (passages/s, real tokens/s) and single-query latency,
//! in the format of the ONNX Runtime yardstick so the two can be compared side by side.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde_json::{json, Value};
use throughline_core::Embedder;
use throughline_embed::{BertEmbedder, EmbedConfig, Engine};

use crate::cli::EngineArg;
use crate::config::AppConfig;

fn load(path: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).with_context(|| format!("{}: line {}", path.display(), i + 1))?;
            let t = v
                .get("text")
                .and_then(Value::as_str)
                .with_context(|| format!("{}: line {}: no \"text\"", path.display(), i + 1))?;
            Ok((t.to_string(), v.get("tokens").and_then(Value::as_u64).unwrap_or(0)))
        })
        .collect()
}

pub fn run(
    config: &AppConfig,
    passages: &Path,
    queries: &Path,
    batch: usize,
    passes: usize,
    engine: EngineArg,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(batch > 0 && passes > 0, "--batch and --passes must be at least 1");
    let ps = load(passages)?;
    let qs = load(queries)?;
    let mut cfg = EmbedConfig::new(&config.model_dir);
    cfg.batch_size = batch;
    cfg.engine = match engine {
        EngineArg::Fast => Engine::Fast,
        EngineArg::Candle => Engine::Candle,
    };
    let e = BertEmbedder::load(&cfg)?;
    let texts: Vec<&str> = ps.iter().map(|p| p.0.as_str()).collect();
    let mut tokens: u64 = ps.iter().map(|p| p.1).sum();
    if tokens == 0 {
        tokens = texts.iter().map(|t| e.count_tokens(t).min(e.max_tokens()) as u64).sum();
    }
    // Warm-up: one batch.
    e.embed(&texts[..batch.min(texts.len())])?;
    let mut times = Vec::with_capacity(passes);
    for _ in 0..passes {
        let t = Instant::now();
        e.embed(&texts)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mut lat = Vec::with_capacity(qs.len() * 2);
    for _ in 0..2 {
        for (q, _) in &qs {
            let t = Instant::now();
            e.embed_query(q)?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    lat.sort_by(f64::total_cmp);
    let pct =
        |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0.0);
    let out = json!({
        "engine": match engine { EngineArg::Fast => "throughline fast", EngineArg::Candle => "throughline candle" },
        "batch": batch,
        "passages": texts.len(),
        "passages_per_s": (texts.len() as f64 / median * 100.0).round() / 100.0,
        "tokens_per_s": (tokens as f64 / median).round(),
        "query_p50_ms": (pct(0.5) * 1000.0).round() / 1000.0,
        "query_p99_ms": (pct(0.99) * 1000.0).round() / 1000.0,
    });
    if as_json {
        println!("{out}");
    } else {
        println!(
            "{} passages in {:.2}s (median of {passes}): {} passages/s, {} tokens/s; query p50 {} ms, p99 {} ms",
            texts.len(),
            median,
            out["passages_per_s"],
            out["tokens_per_s"],
            out["query_p50_ms"],
            out["query_p99_ms"]
        );
    }
    Ok(ExitCode::SUCCESS)
}
