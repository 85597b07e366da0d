//! Fused element-wise kernels: bias + exact GELU (with a vectorisable erf accurate to 2e-7), scaled
//! softmax, residual + bias + layer norm. Each is written as straight-line loops the compiler
//! vectorises, compiled twice: for AVX2+FMA (chosen at run time when the CPU has them) and for the
//! baseline target.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;

/// `e^x` for f32 without a libm call: range reduction to `r ∈ [-ln2/2, ln2/2]`, a degree-7 polynomial,
/// and the power of two assembled in the exponent bits. Relative error under 2e-7.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let k = (x * LOG2E + 0.5).floor();
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let bits = ((k as i32 + 127) as u32) << 23;
    p * f32::from_bits(bits)
}

/// The error function (Abramowitz & Stegun 7.1.26, absolute error under 2e-7), branch-free.
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// Exact GELU: `x/2 · (1 + erf(x/√2))`.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
fn sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[inline(always)]
fn max(v: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] = acc[i].max(c[i]);
        }
    }
    acc.iter().chain(rest).fold(f32::NEG_INFINITY, |a, b| a.max(*b))
}

#[inline(always)]
fn add_bias_impl(m: &mut [f32], bias: &[f32]) {
    for row in m.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x += b;
        }
    }
}

#[inline(always)]
fn add_bias_gelu_impl(m: &mut [f32], bias: &[f32]) {
    for row in m.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x = gelu(*x + b);
        }
    }
}

#[inline(always)]
fn scaled_softmax_rows_impl(s: &mut [f32], cols: usize, scale: f32) {
    for row in s.chunks_exact_mut(cols) {
        let m = max(row);
        for x in row.iter_mut() {
            *x = exp((*x - m) * scale);
        }
        let inv = 1.0 / sum(row);
        for x in row.iter_mut() {
            *x *= inv;
        }
    }
}

#[inline(always)]
fn normalize_row(row: &mut [f32], w: &[f32], b: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    for x in row.iter_mut() {
        *x -= mean;
    }
    let mut acc = [0.0f32; 8];
    for c in row.chunks_exact(8) {
        for i in 0..8 {
            acc[i] += c[i] * c[i];
        }
    }
    let var = (acc.iter().sum::<f32>() + row.chunks_exact(8).remainder().iter().map(|x| x * x).sum::<f32>()) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((x, w), b) in row.iter_mut().zip(w).zip(b) {
        *x = *x * inv * w + b;
    }
}

#[inline(always)]
fn layer_norm_rows_impl(x: &mut [f32], cols: usize, w: &[f32], b: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(cols) {
        normalize_row(row, w, b, eps);
    }
}

#[inline(always)]
fn layer_norm_residual_impl(x: &mut [f32], y: &[f32], bias: &[f32], cols: usize, w: &[f32], b: &[f32], eps: f32) {
    for (row, add) in x.chunks_exact_mut(cols).zip(y.chunks_exact(cols)) {
        for ((v, a), c) in row.iter_mut().zip(add).zip(bias) {
            *v += a + c;
        }
        normalize_row(row, w, b, eps);
    }
}

/// Dot product with eight independent accumulators (vectorises to one FMA chain per lane).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Self-attention of a short sequence, every head: `qkv` holds `t` rows of `[Q | K | V]` (`3h` values
/// each, heads side by side), `ctx` receives `t × h`, `scores` is scratch of `t × t`. Direct loops: at
/// query lengths the products are a few thousand multiply-adds per head, less than a GEMM call's setup.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn attention_impl(qkv: &[f32], ctx: &mut [f32], scores: &mut [f32], t: usize, h: usize, heads: usize, scale: f32) {
    let d = h / heads;
    let stride = 3 * h;
    for head in 0..heads {
        let (qo, ko, vo) = (head * d, h + head * d, 2 * h + head * d);
        for i in 0..t {
            let q = &qkv[i * stride + qo..i * stride + qo + d];
            for j in 0..t {
                scores[i * t + j] = dot(q, &qkv[j * stride + ko..j * stride + ko + d]);
            }
        }
        scaled_softmax_rows_impl(&mut scores[..t * t], t, scale);
        for i in 0..t {
            let out = &mut ctx[i * h + head * d..i * h + head * d + d];
            out.fill(0.0);
            for j in 0..t {
                let p = scores[i * t + j];
                for (o, v) in out.iter_mut().zip(&qkv[j * stride + vo..j * stride + vo + d]) {
                    *o += p * v;
                }
            }
        }
    }
}

/// Declares a kernel dispatching to an AVX2+FMA build of `$impl` when the CPU has it.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident, $avx:ident, $impl:ident, ($($arg:ident : $ty:ty),*)) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx($($arg: $ty),*) {
            $impl($($arg),*)
        }

        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if super::cpu::avx2_fma() {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                return unsafe { $avx($($arg),*) };
            }
            $impl($($arg),*)
        }
    };
}

dispatch!(
    /// Adds `bias` to every row of `m` (rows of `bias.len()`).
    add_bias, add_bias_avx2, add_bias_impl, (m: &mut [f32], bias: &[f32])
);
dispatch!(
    /// `m = gelu(m + bias)` row by row.
    add_bias_gelu, add_bias_gelu_avx2, add_bias_gelu_impl, (m: &mut [f32], bias: &[f32])
);
dispatch!(
    /// Softmax of `scale · row` for each row of `cols` values.
    scaled_softmax_rows, scaled_softmax_rows_avx2, scaled_softmax_rows_impl, (s: &mut [f32], cols: usize, scale: f32)
);
dispatch!(
    /// Self-attention of a short sequence over every head (see `attention_impl`).
    attention, attention_avx2, attention_impl,
    (qkv: &[f32], ctx: &mut [f32], scores: &mut [f32], t: usize, h: usize, heads: usize, scale: f32)
);
dispatch!(
    /// Layer norm of each row of `cols` values.
    layer_norm_rows, layer_norm_rows_avx2, layer_norm_rows_impl, (x: &mut [f32], cols: usize, w: &[f32], b: &[f32], eps: f32)
);
dispatch!(
    /// `x = layer_norm(x + y + bias)` row by row.
    layer_norm_residual, layer_norm_residual_avx2, layer_norm_residual_impl,
    (x: &mut [f32], y: &[f32], bias: &[f32], cols: usize, w: &[f32], b: &[f32], eps: f32)
);

#[cfg(test)]
mod tests {
    use super::*;

    /// erf in f64: its Taylor series up to |x| = 3 (exact to ~1e-12 there), the asymptotic expansion of
    /// erfc beyond (absolute error under 1e-8): the straightforward reference.
    fn erf64(x: f64) -> f64 {
        if x.abs() > 3.0 {
            let a = x.abs();
            let z = 1.0 / (2.0 * a * a);
            let series = 1.0 - z + 3.0 * z * z - 15.0 * z.powi(3) + 105.0 * z.powi(4) - 945.0 * z.powi(5);
            let erfc = (-a * a).exp() / (a * std::f64::consts::PI.sqrt()) * series;
            return x.signum() * (1.0 - erfc);
        }
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    /// Deterministic pseudo-random floats in [-r, r].
    fn randoms(n: usize, r: f32, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * r
            })
            .collect()
    }

    #[test]
    fn exp_erf_and_gelu_match_f64_references() {
        for x in randoms(20_000, 12.0, 1) {
            let e = exp(x) as f64;
            let want = (x as f64).exp();
            assert!(((e - want) / want).abs() < 3e-7, "exp({x}) = {e}, want {want}");
            let er = erf(x) as f64;
            assert!((er - erf64(x as f64)).abs() < 1e-6, "erf({x}) = {er}");
            let g = gelu(x) as f64;
            let gw = 0.5 * x as f64 * (1.0 + erf64(x as f64 / 2f64.sqrt()));
            assert!((g - gw).abs() < 1e-6 * (1.0 + gw.abs()), "gelu({x}) = {g}, want {gw}");
        }
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn fused_kernels_match_straightforward_loops_on_random_shapes() {
        for (seed, (rows, cols)) in
            [(1usize, 1usize), (3, 7), (5, 32), (17, 384), (2, 1536), (9, 9)].into_iter().enumerate()
        {
            let data = randoms(rows * cols, 4.0, seed as u64 + 10);
            let bias = randoms(cols, 1.0, seed as u64 + 20);
            let w = randoms(cols, 1.0, seed as u64 + 30);
            // softmax
            let mut s = data.clone();
            scaled_softmax_rows(&mut s, cols, 0.17);
            for (row, orig) in s.chunks(cols).zip(data.chunks(cols)) {
                let m = orig.iter().cloned().fold(f64::NEG_INFINITY, |a, b| a.max(b as f64));
                let z: f64 = orig.iter().map(|v| ((*v as f64 - m) * 0.17).exp()).sum();
                for (got, v) in row.iter().zip(orig) {
                    let want = ((*v as f64 - m) * 0.17).exp() / z;
                    assert!((*got as f64 - want).abs() < 1e-6, "softmax {got} vs {want}");
                }
            }
            // bias + gelu
            let mut g = data.clone();
            add_bias_gelu(&mut g, &bias);
            for (i, got) in g.iter().enumerate() {
                let x = data[i] as f64 + bias[i % cols] as f64;
                let want = 0.5 * x * (1.0 + erf64(x / 2f64.sqrt()));
                assert!((*got as f64 - want).abs() < 2e-6 * (1.0 + want.abs()));
            }
            // residual + bias + layer norm
            let mut x = data.clone();
            let y = randoms(rows * cols, 2.0, seed as u64 + 40);
            layer_norm_residual(&mut x, &y, &bias, cols, &w, &bias, 1e-12);
            for r in 0..rows {
                let v: Vec<f64> =
                    (0..cols).map(|c| data[r * cols + c] as f64 + y[r * cols + c] as f64 + bias[c] as f64).collect();
                let mean = v.iter().sum::<f64>() / cols as f64;
                let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / cols as f64;
                for c in 0..cols {
                    let want = (v[c] - mean) / (var + 1e-12).sqrt() * w[c] as f64 + bias[c] as f64;
                    assert!(
                        (x[r * cols + c] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
                        "ln {} vs {want}",
                        x[r * cols + c]
                    );
                }
            }
        }
    }

    #[test]
    fn short_sequence_attention_matches_a_straightforward_f64_loop() {
        // Fixed corner cases, then random shapes.
        let mut shapes = vec![(1usize, 1usize, 8usize), (3, 2, 5), (10, 12, 32), (7, 3, 17)];
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            shapes.push((1 + (s % 32) as usize, 1 + (s >> 8) as usize % 12, 1 + (s >> 16) as usize % 40));
        }
        for (seed, (t, heads, d)) in shapes.into_iter().enumerate() {
            let h = heads * d;
            let qkv = randoms(t * 3 * h, 2.0, seed as u64 + 50);
            let scale = 1.0 / (d as f32).sqrt();
            let mut ctx = vec![f32::NAN; t * h];
            let mut scores = vec![0.0; t * t];
            attention(&qkv, &mut ctx, &mut scores, t, h, heads, scale);
            for head in 0..heads {
                for i in 0..t {
                    let at = |r: usize, part: usize, c: usize| qkv[r * 3 * h + part * h + head * d + c] as f64;
                    let logits: Vec<f64> =
                        (0..t).map(|j| (0..d).map(|c| at(i, 0, c) * at(j, 1, c)).sum::<f64>() * scale as f64).collect();
                    let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = logits.iter().map(|l| (l - m).exp()).sum();
                    for c in 0..d {
                        let want: f64 = (0..t).map(|j| (logits[j] - m).exp() / z * at(j, 2, c)).sum();
                        let got = ctx[i * h + head * d + c] as f64;
                        assert!(
                            (got - want).abs() < 1e-5 * (1.0 + want.abs()),
                            "t={t} head {head} [{i},{c}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
