//! Combining ranked lists: reciprocal rank fusion (the default: robust to the very different score scales
//! of BM25 and cosine) and a weighted blend of normalised scores.

use std::collections::HashMap;
use std::hash::Hash;

/// Reciprocal rank fusion: each list contributes `1 / (k + rank)` (rank from 1) to each item it holds.
/// Returns items by fused score, best first; ties keep the order of first appearance.
pub fn rrf<T: Copy + Eq + Hash>(lists: &[Vec<T>], k: f32) -> Vec<(T, f32)> {
    let mut scores: HashMap<T, (f32, usize)> = HashMap::new();
    let mut order = 0usize;
    for list in lists {
        for (i, item) in list.iter().enumerate() {
            let e = scores.entry(*item).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            e.0 += 1.0 / (k + (i + 1) as f32);
        }
    }
    sorted(scores)
}

/// Weighted blend of normalised scores (a convex combination): BM25 scores divided by the best BM25
/// score, cosine similarities min-max scaled over the vector candidates (cosines of one query crowd into
/// a narrow band, so their raw values would barely move the blend),
/// `vector_weight * cos_norm + (1 - vector_weight) * bm25_norm`; an item missing from a list gets 0 there.
pub fn weighted<T: Copy + Eq + Hash>(bm25: &[(T, f32)], vector: &[(T, f32)], vector_weight: f32) -> Vec<(T, f32)> {
    let w = vector_weight.clamp(0.0, 1.0);
    let max_bm25 = bm25.iter().map(|x| x.1).fold(0.0f32, f32::max);
    let max_cos = vector.iter().map(|x| x.1).fold(f32::MIN, f32::max);
    let min_cos = vector.iter().map(|x| x.1).fold(f32::MAX, f32::min);
    let cos_norm = |s: f32| if max_cos - min_cos > 1e-6 { (s - min_cos) / (max_cos - min_cos) } else { 1.0 };
    let mut scores: HashMap<T, (f32, usize)> = HashMap::new();
    let mut order = 0usize;
    for (item, s) in bm25 {
        let norm = if max_bm25 > 0.0 { s / max_bm25 } else { 0.0 };
        order += 1;
        scores.entry(*item).or_insert((0.0, order)).0 += (1.0 - w) * norm;
    }
    for (item, s) in vector {
        order += 1;
        scores.entry(*item).or_insert((0.0, order)).0 += w * cos_norm(*s);
    }
    sorted(scores)
}

fn sorted<T>(scores: HashMap<T, (f32, usize)>) -> Vec<(T, f32)> {
    let mut v: Vec<(T, f32, usize)> = scores.into_iter().map(|(t, (s, o))| (t, s, o)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    v.into_iter().map(|(t, s, _)| (t, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_matches_a_hand_computed_ranking() {
        // k = 1 makes the arithmetic readable: list A = [a, b, c], list B = [c, a, d].
        // a: 1/2 + 1/3 = 0.8333, c: 1/4 + 1/2 = 0.75, b: 1/3, d: 1/4.
        let out = rrf(&[vec!['a', 'b', 'c'], vec!['c', 'a', 'd']], 1.0);
        let names: Vec<char> = out.iter().map(|x| x.0).collect();
        assert_eq!(names, vec!['a', 'c', 'b', 'd']);
        assert!((out[0].1 - (0.5 + 1.0 / 3.0)).abs() < 1e-6);
        assert!((out[1].1 - 0.75).abs() < 1e-6);
    }

    #[test]
    fn weighted_blend_normalises_bm25_and_respects_the_weight() {
        let bm25 = vec![("x", 10.0), ("y", 5.0)];
        let vec = vec![("y", 0.9), ("z", 0.8), ("w", 0.7)];
        let out = weighted(&bm25, &vec, 0.5);
        // cosines scale to y 1.0, z 0.5, w 0.0; x: 0.5*1.0 = 0.5; y: 0.5*0.5 + 0.5*1.0 = 0.75; z: 0.25
        assert_eq!(out.iter().map(|x| x.0).collect::<Vec<_>>(), vec!["y", "x", "z", "w"]);
        assert!((out[0].1 - 0.75).abs() < 1e-6 && (out[2].1 - 0.25).abs() < 1e-6);
        let only_bm25 = weighted(&bm25, &vec, 0.0);
        assert_eq!(only_bm25[0].0, "x");
    }
}
