//! Mean pooling under the attention mask, then L2 normalisation.

use candle_core::{DType, Tensor};

/// `hidden`: (batch, seq, dim); `mask`: (batch, seq) of 0/1. Returns (batch, dim) unit vectors.
pub(crate) fn mean_pool_normalize(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Vec<Vec<f32>>> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9, f32::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let rows: Vec<Vec<f32>> = mean.to_vec2()?;
    Ok(rows.into_iter().map(normalize).collect())
}

/// Scales `v` to unit length (a zero vector stays zero).
pub(crate) fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}
