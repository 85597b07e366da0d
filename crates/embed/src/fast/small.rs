//! Products with few rows (a short query): `dst[t × n] = x[t × k] · w[k × n]` for `t ≤ 32`.
//!
//! With ten tokens the work is bound by reading the weights: each weight is used only `t` times, so a
//! query moves every weight of the encoder from memory once. A general GEMM first packs (copies) the
//! weight panel, adding to that traffic. This kernel streams a half-precision copy of the weights
//! (half the bytes; converted to f32 in registers with F16C, accumulation stays f32), a 16-column panel
//! at a time per group of up to six rows, with the 6 × 16 accumulator tile held in twelve AVX2 registers
//! (FMA), and can split the panels across cores. The copy is packed once at load ([`pack`]): each
//! 16-column panel is stored as `k` contiguous rows of 16 values, so the kernel reads memory strictly
//! sequentially (the hardware prefetcher keeps up; a row-major layout strides `2n` bytes per row and
//! crosses a page every row or two).

/// Largest row count this kernel is used for.
pub(crate) const MAX_ROWS: usize = 32;
const NR: usize = 16;

/// The half-precision panel layout the kernel reads: `w` (`k × n`, row-major f32, `n` a multiple of 16)
/// as `n / 16` panels of `k × 16` values each.
pub(crate) fn pack(w: &[f32], k: usize, n: usize) -> Vec<u16> {
    let panels = n / NR;
    let mut out = Vec::with_capacity(panels * k * NR);
    for p in 0..panels {
        for i in 0..k {
            let row = &w[i * n + p * NR..i * n + (p + 1) * NR];
            out.extend(row.iter().map(|v| half::f16::from_f32(*v).to_bits()));
        }
    }
    out
}

/// Whether the register-tiled kernel can run here (AVX2 + FMA + F16C, widths in multiples of 16).
pub(crate) fn available(t: usize, n: usize) -> bool {
    t <= MAX_ROWS && n.is_multiple_of(NR) && super::cpu::avx2_fma_f16c()
}

/// One `MR × 16` tile of `dst = x · w` at rows `r0..r0+MR`, column `c`: the accumulators are `2·MR`
/// registers (`MR` is a constant, so the loops unroll and nothing spills), each weight row of the panel
/// `wp` (`k × 16`, contiguous) is loaded once and converted from f16 in registers.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; the tile must lie inside `dst` (`t·n`) and `x` (`t·k`), and
/// `wp` must point at `k·16` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const MR: usize>(
    dst: *mut f32,
    xp: *const f32,
    wp: *const u16,
    k: usize,
    n: usize,
    r0: usize,
    c: usize,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    for i in 0..k {
        let wrow = wp.add(i * NR);
        let w0 = _mm256_cvtph_ps(_mm_loadu_si128(wrow as *const __m128i));
        let w1 = _mm256_cvtph_ps(_mm_loadu_si128(wrow.add(8) as *const __m128i));
        for (j, a) in acc.iter_mut().enumerate() {
            let xv = _mm256_broadcast_ss(&*xp.add((r0 + j) * k + i));
            a[0] = _mm256_fmadd_ps(xv, w0, a[0]);
            a[1] = _mm256_fmadd_ps(xv, w1, a[1]);
        }
    }
    for (j, a) in acc.iter().enumerate() {
        let out = dst.add((r0 + j) * n + c);
        _mm256_storeu_ps(out, a[0]);
        _mm256_storeu_ps(out.add(8), a[1]);
    }
}

/// Columns `c0..c1` (multiples of 16) of `dst = x · w` (`w` packed by [`pack`]), six rows per pass over
/// each panel.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C; `dst`, `x`, `w` must hold `t·n`, `t·k`, `k·n` values;
/// `c1 ≤ n`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
unsafe fn columns(dst: *mut f32, x: &[f32], w: &[u16], t: usize, k: usize, n: usize, c0: usize, c1: usize) {
    let (xp, wp) = (x.as_ptr(), w.as_ptr());
    let mut c = c0;
    while c < c1 {
        let wp = wp.add(c * k);
        let mut r0 = 0;
        while r0 < t {
            let rows = (t - r0).min(6);
            match rows {
                1 => tile::<1>(dst, xp, wp, k, n, r0, c),
                2 => tile::<2>(dst, xp, wp, k, n, r0, c),
                3 => tile::<3>(dst, xp, wp, k, n, r0, c),
                4 => tile::<4>(dst, xp, wp, k, n, r0, c),
                5 => tile::<5>(dst, xp, wp, k, n, r0, c),
                _ => tile::<6>(dst, xp, wp, k, n, r0, c),
            }
            r0 += rows;
        }
        c += NR;
    }
}

/// A raw pointer that may cross to a rayon worker: the two halves write disjoint columns.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to write disjoint column ranges of one buffer from two threads joined before return.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// Taking `self` whole makes closures capture the wrapper (which is `Send`), not its raw field.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Helpers for single queries: two threads (the products are split in two), sleeping between queries. `None` when no thread could be started (the
/// product then runs on the calling thread alone).
fn query_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores.clamp(1, 2))
            .thread_name(|i| format!("embed-query-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// `dst = x · w` (row-major `x: t × k`; `w: k × n` as f16 bits packed by [`pack`]); the caller checked
/// [`available`].
/// Columns are split across two cores when `parallel`.
pub(crate) fn matmul_few_rows(dst: &mut [f32], x: &[f32], w: &[u16], t: usize, k: usize, n: usize, parallel: bool) {
    assert!(available(t, n), "caller must check availability");
    assert!(dst.len() >= t * n && x.len() >= t * k && w.len() >= k * n, "buffer sizes");
    #[cfg(target_arch = "x86_64")]
    {
        let p = SendPtr(dst.as_mut_ptr());
        let tiles = n / NR;
        let pool = if parallel && tiles >= 2 { query_pool() } else { None };
        if let Some(pool) = pool {
            let mid = tiles / 2 * NR;
            // The two halves run on the query pool's two threads (the caller waits). The pool is
            // not rayon's global one: batch ingestion keeps that busy with whole sequences, and a query
            // queued behind them would wait for one to finish.
            // SAFETY: AVX2+FMA checked by `available`; sizes asserted above; the halves are disjoint.
            pool.join(
                move || unsafe { columns(p.get(), x, w, t, k, n, 0, mid) },
                move || unsafe { columns(p.get(), x, w, t, k, n, mid, n) },
            );
        } else {
            // SAFETY: as above, one thread.
            unsafe { columns(p.get(), x, w, t, k, n, 0, n) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_product_on_random_shapes() {
        if !crate::fast::cpu::avx2_fma_f16c() {
            return;
        }
        for (t, k, n) in [(1, 1, 16), (3, 5, 64), (10, 384, 1152), (32, 17, 144), (7, 1536, 384)] {
            let x: Vec<f32> = (0..t * k).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.1).collect();
            // Values exactly representable in f16, so the product is compared without rounding noise.
            let w: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) * 0.0625).collect();
            let w16 = pack(&w, k, n);
            for parallel in [false, true] {
                let mut dst = vec![f32::NAN; t * n];
                matmul_few_rows(&mut dst, &x, &w16, t, k, n, parallel);
                for r in 0..t {
                    for c in 0..n {
                        let want: f32 = (0..k).map(|i| x[r * k + i] * w[i * n + c]).sum();
                        assert!((dst[r * n + c] - want).abs() < 1e-3 * (1.0 + want.abs()), "({t},{k},{n}) [{r},{c}]");
                    }
                }
            }
        }
    }

    #[test]
    fn matches_a_naive_product_on_random_shapes_and_values() {
        if !crate::fast::cpu::avx2_fma_f16c() {
            return;
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..40 {
            let t = 1 + (next() % MAX_ROWS as u64) as usize;
            let k = 1 + (next() % 300) as usize;
            let n = NR * (1 + (next() % 12) as usize);
            let x: Vec<f32> = (0..t * k).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect();
            let w: Vec<f32> = (0..k * n).map(|_| (next() % 2001) as f32 / 1000.0 - 1.0).collect();
            // The kernel reads half precision: the reference uses the same rounded weights, in f64.
            let wr: Vec<f64> = w.iter().map(|v| half::f16::from_f32(*v).to_f64()).collect();
            let packed = pack(&w, k, n);
            let parallel = next() % 2 == 0;
            let mut dst = vec![f32::NAN; t * n];
            matmul_few_rows(&mut dst, &x, &packed, t, k, n, parallel);
            for r in 0..t {
                for c in 0..n {
                    let want: f64 = (0..k).map(|i| x[r * k + i] as f64 * wr[i * n + c]).sum();
                    let got = dst[r * n + c] as f64;
                    assert!((got - want).abs() < 1e-4 * (1.0 + want.abs()), "({t},{k},{n}) [{r},{c}] {got} vs {want}");
                }
            }
        }
    }
}
