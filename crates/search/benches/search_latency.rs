//! Search latency at scale: builds a synthetic knowledge base of N chunks (Zipf-distributed vocabulary;
//! 384-dimensional unit vectors drawn around 512 topic centres, as sentence embeddings cluster by topic
//! rather than spreading uniformly), then times bm25, vector and hybrid queries (index only: query
//! vectors are given, as the caller embeds them). Prints p50/p99 per mode as JSON.
//!
//! Run: `cargo bench -p throughline-search --bench search_latency -- 10000 100000`

use std::time::Instant;

use throughline_core::{
    ChunkId, DocId, IndexBatch, IndexedChunk, KnowledgeIndex, PageType, SearchConfig, SearchMode, SearchRequest,
    SourceId,
};
use throughline_search::{HybridIndex, IndexConfig};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 11) as f32 / (1u64 << 53) as f32
    }
}

fn word(i: usize) -> String {
    const SYL: [&str; 16] =
        ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "sa", "do", "fu", "gi", "ho", "ju", "be"];
    let mut s = String::new();
    let mut n = i + 16;
    while n > 0 {
        s.push_str(SYL[n % 16]);
        n /= 16;
    }
    s
}

fn zipf(rng: &mut Rng, vocab: usize) -> usize {
    // Inverse-CDF sampling of a 1/rank law via a log-uniform draw.
    let u = rng.unit().max(1e-9);
    ((vocab as f32).powf(u) as usize).saturating_sub(1).min(vocab - 1)
}

fn random_unit(rng: &mut Rng, dim: usize) -> Vec<f32> {
    let v: Vec<f32> = (0..dim).map(|_| rng.unit() - 0.5).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// A unit vector near a random topic centre (cosine to the centre about 0.8).
fn vector(rng: &mut Rng, centres: &[Vec<f32>]) -> Vec<f32> {
    let c = &centres[(rng.next() % centres.len() as u64) as usize];
    let noise = random_unit(rng, c.len());
    let v: Vec<f32> = c.iter().zip(&noise).map(|(a, b)| a + 0.75 * b).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![10_000, 100_000] } else { sizes };
    let dim = 384;
    let vocab = 30_000;
    for n in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let idx = HybridIndex::open(dir.path(), IndexConfig { dim, search: SearchConfig::default() }).expect("open");
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let centres: Vec<Vec<f32>> = (0..512).map(|_| random_unit(&mut rng, dim)).collect();
        let build = Instant::now();
        for (batch, start) in (0..n).step_by(5_000).enumerate() {
            let upserts: Vec<IndexedChunk> = (start..(start + 5_000).min(n))
                .map(|i| {
                    let text: Vec<String> = (0..120).map(|_| word(zipf(&mut rng, vocab))).collect();
                    IndexedChunk {
                        id: ChunkId::from_raw(i as u64 + 1),
                        doc_id: DocId::from_raw(i as u64 / 8 + 1),
                        source_id: SourceId::from_raw(1),
                        path: format!("doc{}.md", i / 8),
                        url: None,
                        title: format!("{} {}", word(zipf(&mut rng, vocab)), word(zipf(&mut rng, vocab))),
                        heading_path: vec![word(zipf(&mut rng, vocab))],
                        text: text.join(" "),
                        page_type: PageType::ALL[i % 8],
                        ordinal: (i % 8) as u32,
                        vector: vector(&mut rng, &centres),
                    }
                })
                .collect();
            idx.apply(IndexBatch { seq: batch as u64 + 1, upserts, ..Default::default() }).expect("apply");
        }
        let build_s = build.elapsed().as_secs_f64();
        let queries: Vec<(String, Vec<f32>)> = (0..300)
            .map(|_| {
                let q: Vec<String> = (0..4).map(|_| word(zipf(&mut rng, 3_000))).collect();
                (q.join(" "), vector(&mut rng, &centres))
            })
            .collect();
        let mut report = serde_json::Map::new();
        report.insert("chunks".into(), n.into());
        report.insert("build_s".into(), serde_json::json!((build_s * 10.0).round() / 10.0));
        for mode in SearchMode::ALL {
            let mut lat = Vec::new();
            for (i, (q, v)) in queries.iter().enumerate() {
                let req = SearchRequest { mode, ..SearchRequest::new(q.clone()) };
                let t = Instant::now();
                let hits = idx.search(&req, Some(v)).expect("search");
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if i >= 20 {
                    lat.push(ms); // the first queries warm caches
                }
                std::hint::black_box(hits);
            }
            lat.sort_by(f64::total_cmp);
            let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
            report.insert(
                mode.as_str().into(),
                serde_json::json!({"p50_ms": (p(0.5) * 100.0).round() / 100.0, "p99_ms": (p(0.99) * 100.0).round() / 100.0}),
            );
        }
        println!("{}", serde_json::Value::Object(report));
    }
}
