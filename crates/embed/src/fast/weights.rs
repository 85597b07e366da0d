//! Weights for the fast path, read from the same safetensors file as the candle model (any float
//! dtype, converted to f32), with linear layers stored transposed (`in × out`, row-major) so every
//! product reads its right-hand side contiguously, and Q/K/V fused into one `h × 3h` matrix.

use std::path::Path;

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device};

use crate::EmbedError;

/// A weight matrix (`k × n`) as f32 (for the general GEMM) and as f16 bits in the streaming kernel's
/// panel layout (for short sequences, where reading the weights dominates).
pub(crate) struct Weight {
    pub(crate) f32: Vec<f32>,
    pub(crate) f16: Vec<u16>,
}

impl Weight {
    fn new(f32: Vec<f32>, n: usize) -> Self {
        let k = f32.len() / n;
        let f16 = super::small::pack(&f32, k, n);
        Self { f32, f16 }
    }
}

pub(crate) struct Layer {
    pub(crate) qkv_w: Weight,
    pub(crate) qkv_b: Vec<f32>,
    pub(crate) o_w: Weight,
    pub(crate) o_b: Vec<f32>,
    pub(crate) ln1_w: Vec<f32>,
    pub(crate) ln1_b: Vec<f32>,
    pub(crate) ff1_w: Weight,
    pub(crate) ff1_b: Vec<f32>,
    pub(crate) ff2_w: Weight,
    pub(crate) ff2_b: Vec<f32>,
    pub(crate) ln2_w: Vec<f32>,
    pub(crate) ln2_b: Vec<f32>,
}

/// All weights of a BERT encoder as plain buffers.
pub(crate) struct FastWeights {
    pub(crate) hidden: usize,
    pub(crate) intermediate: usize,
    pub(crate) heads: usize,
    pub(crate) vocab: usize,
    pub(crate) eps: f32,
    pub(crate) word: Vec<f32>,
    /// Position embeddings with the token-type-0 embedding already added.
    pub(crate) pos_type: Vec<f32>,
    pub(crate) emb_ln_w: Vec<f32>,
    pub(crate) emb_ln_b: Vec<f32>,
    pub(crate) layers: Vec<Layer>,
}

/// Shape facts from `config.json`.
pub(crate) struct Dims {
    pub(crate) hidden: usize,
    pub(crate) intermediate: usize,
    pub(crate) heads: usize,
    pub(crate) layers: usize,
    pub(crate) eps: f32,
}

struct Reader<'a> {
    st: MmapedSafetensors,
    prefix: &'a str,
    path: &'a Path,
}

impl Reader<'_> {
    fn get(&self, name: &str, len: usize) -> Result<Vec<f32>, EmbedError> {
        let full = format!("{}{name}", self.prefix);
        let bad = |reason: String| EmbedError::Unsupported { path: self.path.to_path_buf(), reason };
        let t = self.st.load(&full, &Device::Cpu).map_err(|e| bad(format!("tensor {full}: {e}")))?;
        let v: Vec<f32> = t
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1())
            .map_err(|e| bad(format!("tensor {full}: {e}")))?;
        if v.len() != len {
            return Err(bad(format!("tensor {full} has {} values, expected {len}", v.len())));
        }
        Ok(v)
    }

    /// Layer-norm weights under either naming (`weight`/`bias` or the older `gamma`/`beta`).
    fn norm(&self, name: &str, len: usize) -> Result<(Vec<f32>, Vec<f32>), EmbedError> {
        match self.get(&format!("{name}.weight"), len) {
            Ok(w) => Ok((w, self.get(&format!("{name}.bias"), len)?)),
            Err(_) => Ok((self.get(&format!("{name}.gamma"), len)?, self.get(&format!("{name}.beta"), len)?)),
        }
    }

    /// A linear layer's `out × in` weight, returned transposed (`in × out`).
    fn linear_t(&self, name: &str, input: usize, output: usize) -> Result<(Vec<f32>, Vec<f32>), EmbedError> {
        let w = self.get(&format!("{name}.weight"), input * output)?;
        let mut t = vec![0.0; input * output];
        for o in 0..output {
            for i in 0..input {
                t[i * output + o] = w[o * input + i];
            }
        }
        Ok((t, self.get(&format!("{name}.bias"), output)?))
    }
}

impl FastWeights {
    pub(crate) fn load(path: &Path, dims: &Dims, vocab: usize, max_pos: usize) -> Result<Self, EmbedError> {
        // SAFETY: the file is memory-mapped read-only and not modified while mapped.
        let st = unsafe { MmapedSafetensors::new(path) }
            .map_err(|e| EmbedError::ModelFile { path: path.to_path_buf(), reason: e.to_string() })?;
        let prefix = if st.get("embeddings.word_embeddings.weight").is_ok() { "" } else { "bert." };
        let r = Reader { st, prefix, path };
        let h = dims.hidden;
        let word = r.get("embeddings.word_embeddings.weight", vocab * h)?;
        let mut pos_type = r.get("embeddings.position_embeddings.weight", max_pos * h)?;
        let types = r.get("embeddings.token_type_embeddings.weight", h).or_else(|_| {
            // Usually 2 token types; only type 0 is used for single sentences.
            r.get("embeddings.token_type_embeddings.weight", 2 * h).map(|v| v[..h].to_vec())
        })?;
        for row in pos_type.chunks_exact_mut(h) {
            for (p, t) in row.iter_mut().zip(&types) {
                *p += t;
            }
        }
        let (emb_ln_w, emb_ln_b) = r.norm("embeddings.LayerNorm", h)?;
        let mut layers = Vec::with_capacity(dims.layers);
        for l in 0..dims.layers {
            let p = format!("encoder.layer.{l}");
            let (q_w, q_b) = r.linear_t(&format!("{p}.attention.self.query"), h, h)?;
            let (k_w, k_b) = r.linear_t(&format!("{p}.attention.self.key"), h, h)?;
            let (v_w, v_b) = r.linear_t(&format!("{p}.attention.self.value"), h, h)?;
            let mut qkv_w = Vec::with_capacity(h * 3 * h);
            for i in 0..h {
                qkv_w.extend_from_slice(&q_w[i * h..(i + 1) * h]);
                qkv_w.extend_from_slice(&k_w[i * h..(i + 1) * h]);
                qkv_w.extend_from_slice(&v_w[i * h..(i + 1) * h]);
            }
            let qkv_b = [q_b, k_b, v_b].concat();
            let (o_w, o_b) = r.linear_t(&format!("{p}.attention.output.dense"), h, h)?;
            let (ln1_w, ln1_b) = r.norm(&format!("{p}.attention.output.LayerNorm"), h)?;
            let (ff1_w, ff1_b) = r.linear_t(&format!("{p}.intermediate.dense"), h, dims.intermediate)?;
            let (ff2_w, ff2_b) = r.linear_t(&format!("{p}.output.dense"), dims.intermediate, h)?;
            let (ln2_w, ln2_b) = r.norm(&format!("{p}.output.LayerNorm"), h)?;
            layers.push(Layer {
                qkv_w: Weight::new(qkv_w, 3 * h),
                qkv_b,
                o_w: Weight::new(o_w, h),
                o_b,
                ln1_w,
                ln1_b,
                ff1_w: Weight::new(ff1_w, dims.intermediate),
                ff1_b,
                ff2_w: Weight::new(ff2_w, h),
                ff2_b,
                ln2_w,
                ln2_b,
            });
        }
        Ok(Self {
            hidden: h,
            intermediate: dims.intermediate,
            heads: dims.heads,
            vocab,
            eps: dims.eps,
            word,
            pos_type,
            emb_ln_w,
            emb_ln_b,
            layers,
        })
    }
}
