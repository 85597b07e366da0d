//! The fast forward pass: the same BERT computation as candle-transformers' `BertModel`, written as
//! direct kernels over plain `f32` buffers.
//!
//! Why: candle's CPU backend allocates a fresh tensor for every op, computes GELU and softmax one value
//! at a time, and runs element-wise ops on one thread; on a 2-core machine most of the time went there
//! (see BENCHMARKS.md). Here, each sequence runs on its own with no padding at all (so no attention
//! mask), matrix products go to the `gemm` crate (the kernel candle itself uses, with runtime CPU
//! dispatch), the element-wise work is fused (bias + GELU, scale + softmax, residual + layer norm) in
//! loops compiled for AVX2+FMA when the CPU has them, and every buffer lives in a per-thread workspace
//! reused across layers, sequences and calls. Batches run one sequence per core; a single sequence uses
//! both cores inside each product, and a short one (a query) streams a half-precision copy of the weights
//! packed in column panels (`small.rs`), since it is bound by reading them; its attention is direct loops.
//!
//! Weights come from the same safetensors file through candle's `VarBuilder`, so both paths load the
//! same numbers; `tests/it` checks the two agree and match the reference vectors.

mod cpu;
mod kernels;
mod matmul;
mod small;
mod weights;

use std::cell::RefCell;

use rayon::prelude::*;

use weights::Weight;
pub(crate) use weights::{Dims, FastWeights};

use self::kernels::{add_bias, add_bias_gelu, layer_norm_residual, scaled_softmax_rows};
use self::matmul::{matmul, Mat, Par};
use self::small::matmul_few_rows;

/// `dst[t × n] = x[t × k] · w[k × n]` for a weight matrix: the register-tiled streaming kernel for short
/// sequences (queries), the general GEMM otherwise.
fn weight_product(dst: &mut [f32], x: &[f32], w: &Weight, t: usize, k: usize, n: usize, par: Par) {
    if small::available(t, n) {
        matmul_few_rows(dst, x, &w.f16, t, k, n, par == Par::All);
    } else {
        matmul(Mat::rows(dst, t, n), Mat::rows_ref(x, t, k), Mat::rows_ref(&w.f32, k, n), false, par);
    }
}

/// Reusable per-thread buffers (grown on demand, never shrunk).
#[derive(Default)]
struct Workspace {
    x: Vec<f32>,
    qkv: Vec<f32>,
    scores: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    ff: Vec<f32>,
}

fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
}

impl FastWeights {
    /// Mean-pooled, L2-normalised embeddings of token-id sequences, in input order.
    pub(crate) fn embed(&self, seqs: &[Vec<u32>]) -> Vec<Vec<f32>> {
        if seqs.len() == 1 {
            // One sequence: both cores work inside each matrix product. A short one (a query) streams the
            // packed half-precision weights, split by column panels; a long one goes to the GEMM.
            let par = Par::All;
            return vec![WORKSPACE.with(|ws| self.forward(&seqs[0], &mut ws.borrow_mut(), par))];
        }
        // Several: one sequence per core, longest first so the tail is short.
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(seqs[i].len()));
        let mut out: Vec<(usize, Vec<f32>)> = order
            .par_iter()
            .map(|&i| (i, WORKSPACE.with(|ws| self.forward(&seqs[i], &mut ws.borrow_mut(), Par::None))))
            .collect();
        out.sort_by_key(|x| x.0);
        out.into_iter().map(|x| x.1).collect()
    }

    /// Self-attention through GEMM calls per head (long sequences).
    fn attention_gemm(&self, qkv: &[f32], ctx: &mut [f32], scores: &mut [f32], t: usize, par: Par) {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        for head in 0..self.heads {
            let q = &qkv[head * d..];
            let k = &qkv[h + head * d..];
            let v = &qkv[2 * h + head * d..];
            // scores = Q · Kᵀ, then scaled softmax per row.
            matmul(
                Mat::rows(scores, t, t),
                Mat::strided_ref(q, t, d, 3 * h, 1),
                Mat::strided_ref(k, d, t, 1, 3 * h),
                false,
                par,
            );
            scaled_softmax_rows(scores, t, scale);
            // ctx[:, head] = scores · V
            matmul(
                Mat::strided(&mut ctx[head * d..], t, d, h, 1),
                Mat::rows_ref(scores, t, t),
                Mat::strided_ref(v, t, d, 3 * h, 1),
                false,
                par,
            );
        }
    }

    fn forward(&self, ids: &[u32], ws: &mut Workspace, par: Par) -> Vec<f32> {
        let t = ids.len().max(1);
        let h = self.hidden;
        let inter = self.intermediate;
        let heads = self.heads;
        let d = h / heads;
        grow(&mut ws.x, t * h);
        grow(&mut ws.qkv, t * 3 * h);
        grow(&mut ws.scores, t * t);
        grow(&mut ws.ctx, t * h);
        grow(&mut ws.tmp, t * h);
        grow(&mut ws.ff, t * inter);
        let Workspace { x, qkv, scores, ctx, tmp, ff } = ws;
        let (x, qkv, scores, ctx, tmp, ff) = (
            &mut x[..t * h],
            &mut qkv[..t * 3 * h],
            &mut scores[..t * t],
            &mut ctx[..t * h],
            &mut tmp[..t * h],
            &mut ff[..t * inter],
        );

        // Embeddings: word + (position + token type 0), then layer norm.
        for (pos, &id) in ids.iter().enumerate() {
            let id = (id as usize).min(self.vocab - 1);
            let row = &mut x[pos * h..(pos + 1) * h];
            let w = &self.word[id * h..(id + 1) * h];
            let p = &self.pos_type[pos * h..(pos + 1) * h];
            for i in 0..h {
                row[i] = w[i] + p[i];
            }
        }
        if ids.is_empty() {
            x.fill(0.0);
        }
        kernels::layer_norm_rows(x, h, &self.emb_ln_w, &self.emb_ln_b, self.eps);

        let scale = 1.0 / (d as f32).sqrt();
        for layer in &self.layers {
            // Q, K, V in one product: [t × h] · [h × 3h].
            weight_product(qkv, x, &layer.qkv_w, t, h, 3 * h, par);
            add_bias(qkv, &layer.qkv_b);
            if t <= small::MAX_ROWS {
                kernels::attention(qkv, ctx, scores, t, h, heads, scale);
            } else {
                self.attention_gemm(qkv, ctx, scores, t, par);
            }
            // Attention output, residual, layer norm.
            weight_product(tmp, ctx, &layer.o_w, t, h, h, par);
            layer_norm_residual(x, tmp, &layer.o_b, h, &layer.ln1_w, &layer.ln1_b, self.eps);
            // Feed-forward with fused bias + exact GELU.
            weight_product(ff, x, &layer.ff1_w, t, h, inter, par);
            add_bias_gelu(ff, &layer.ff1_b);
            weight_product(tmp, ff, &layer.ff2_w, t, inter, h, par);
            layer_norm_residual(x, tmp, &layer.ff2_b, h, &layer.ln2_w, &layer.ln2_b, self.eps);
        }

        // Mean pooling over the (unpadded) tokens, then L2 normalisation.
        let mut pooled = vec![0.0f32; h];
        for row in x.chunks_exact(h) {
            for (p, v) in pooled.iter_mut().zip(row) {
                *p += v;
            }
        }
        let inv = 1.0 / t as f32;
        pooled.iter_mut().for_each(|p| *p *= inv);
        crate::pooling::normalize(pooled)
    }
}
