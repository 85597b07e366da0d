//! [`BertEmbedder`]: the candle BERT forward pass behind [`Embedder`].

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use throughline_core::{Embedder, EmbedderError};

use crate::batch::plan_batches;
use crate::fast::{Dims, FastWeights};
use crate::pooling::mean_pool_normalize;
use crate::tokenize::WordPieces;
use crate::EmbedError;

/// Which forward-pass implementation runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Direct kernels over reusable buffers, no padding, one sequence per core (the default).
    #[default]
    Fast,
    /// candle-transformers' `BertModel` on padded, length-sorted batches (the reference).
    Candle,
}

/// Where the model lives and how to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedConfig {
    /// The forward-pass implementation. Default [`Engine::Fast`].
    pub engine: Engine,
    /// A sentence-transformers BERT folder: `config.json`, `tokenizer.json`, `model.safetensors`.
    pub model_dir: PathBuf,
    /// Word pieces per text, special tokens included; longer texts are truncated. Default 256.
    pub max_tokens: usize,
    /// Most texts per forward pass. Default 32.
    pub batch_size: usize,
}

impl EmbedConfig {
    /// Defaults for the model in `model_dir`.
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        Self { engine: Engine::Fast, model_dir: model_dir.into(), max_tokens: 256, batch_size: 32 }
    }
}

enum Runner {
    Fast(Box<FastWeights>),
    Candle(Box<BertModel>),
}

/// A BERT sentence embedder (mean pooling, L2 norm) running on the CPU.
pub struct BertEmbedder {
    engine: Runner,
    tokens: WordPieces,
    device: Device,
    dim: usize,
    model_id: String,
    batch_size: usize,
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|e| EmbedError::ModelFile { path: path.to_path_buf(), reason: e.to_string() })
}

impl BertEmbedder {
    /// Loads the model folder named by `config`.
    pub fn load(config: &EmbedConfig) -> Result<Self, EmbedError> {
        let dir = &config.model_dir;
        if !dir.is_dir() {
            return Err(EmbedError::ModelFile { path: dir.clone(), reason: "not a folder".into() });
        }
        let cfg_path = dir.join("config.json");
        let bert_cfg: Config = serde_json::from_slice(&read(&cfg_path)?)
            .map_err(|e| EmbedError::Unsupported { path: cfg_path.clone(), reason: e.to_string() })?;
        let raw_cfg: serde_json::Value = serde_json::from_slice(&read(&cfg_path)?)
            .map_err(|e| EmbedError::Unsupported { path: cfg_path.clone(), reason: e.to_string() })?;
        let num = |k: &str| raw_cfg.get(k).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
        let dim = num("hidden_size");
        let max_pos = raw_cfg.get("max_position_embeddings").and_then(|v| v.as_u64()).unwrap_or(512) as usize;
        if dim == 0 {
            return Err(EmbedError::Unsupported { path: cfg_path, reason: "no hidden_size".into() });
        }
        let tokens = WordPieces::load(&dir.join("tokenizer.json"), config.max_tokens.min(max_pos))?;
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(EmbedError::ModelFile { path: weights, reason: "missing".into() });
        }
        let device = Device::Cpu;
        let engine = match config.engine {
            Engine::Fast => {
                let dims = Dims {
                    hidden: dim,
                    intermediate: num("intermediate_size"),
                    heads: num("num_attention_heads").max(1),
                    layers: num("num_hidden_layers"),
                    eps: raw_cfg.get("layer_norm_eps").and_then(|v| v.as_f64()).unwrap_or(1e-12) as f32,
                };
                if !dims.hidden.is_multiple_of(dims.heads) || dims.intermediate == 0 || dims.layers == 0 {
                    return Err(EmbedError::Unsupported {
                        path: cfg_path,
                        reason: "inconsistent BERT dimensions".into(),
                    });
                }
                Runner::Fast(Box::new(FastWeights::load(&weights, &dims, num("vocab_size"), max_pos)?))
            }
            Engine::Candle => {
                // SAFETY: the weights file is memory-mapped read-only; we never write to it while mapped.
                let vb =
                    unsafe { VarBuilder::from_mmaped_safetensors(std::slice::from_ref(&weights), DType::F32, &device) }
                        .map_err(|e| EmbedError::ModelFile { path: weights.clone(), reason: e.to_string() })?;
                let model = BertModel::load(vb, &bert_cfg)
                    .map_err(|e| EmbedError::Unsupported { path: weights.clone(), reason: e.to_string() })?;
                Runner::Candle(Box::new(model))
            }
        };
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bert".into());
        Ok(Self {
            engine,
            tokens,
            device,
            dim,
            model_id: format!("{name}@{}", config.max_tokens.min(max_pos)),
            batch_size: config.batch_size.max(1),
        })
    }

    /// Word-piece ids of `text` as the model sees them (truncated, special tokens included).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        self.tokens.ids(text)
    }

    /// Embeds texts already tokenised, in input order.
    pub fn embed_ids(&self, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        match &self.engine {
            Runner::Fast(w) => Ok(w.embed(seqs)),
            Runner::Candle(model) => self.embed_ids_candle(model, seqs),
        }
    }

    fn embed_ids_candle(&self, model: &BertModel, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let lengths: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); seqs.len()];
        for batch in plan_batches(&lengths, self.batch_size) {
            let longest = batch.iter().map(|&i| lengths[i]).max().unwrap_or(0).max(1);
            let mut ids = Vec::with_capacity(batch.len() * longest);
            let mut mask = Vec::with_capacity(batch.len() * longest);
            for &i in &batch {
                ids.extend_from_slice(&seqs[i]);
                mask.extend(std::iter::repeat_n(1u32, seqs[i].len()));
                let pad = longest - seqs[i].len();
                ids.extend(std::iter::repeat_n(0u32, pad));
                mask.extend(std::iter::repeat_n(0u32, pad));
            }
            let shape = (batch.len(), longest);
            let ids = Tensor::from_vec(ids, shape, &self.device)?;
            let mask = Tensor::from_vec(mask, shape, &self.device)?;
            let types = ids.zeros_like()?;
            let hidden = model.forward(&ids, &types, Some(&mask))?;
            let vectors = mean_pool_normalize(&hidden, &mask)?;
            for (slot, v) in batch.into_iter().zip(vectors) {
                out[slot] = v;
            }
        }
        Ok(out)
    }
}

impl Embedder for BertEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn model_id(&self) -> String {
        self.model_id.clone()
    }

    fn max_tokens(&self) -> usize {
        self.tokens.max_tokens()
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.tokens.count(text)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedderError> {
        let seqs = texts.iter().map(|t| self.tokens.ids(t)).collect::<Result<Vec<_>, _>>()?;
        Ok(self.embed_ids(&seqs)?)
    }
}
