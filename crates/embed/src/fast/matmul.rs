//! Matrix products through the `gemm` crate (runtime-dispatched AVX2/FMA or AVX-512 microkernels) on
//! strided views, so transposed weights and per-head slices need no copies.

use gemm::Parallelism;

/// How a product may use threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Par {
    /// One thread (the caller already runs one sequence per core).
    None,
    /// Every core of the rayon pool.
    All,
}

/// A matrix view: `rows × cols` with a row stride and a column stride, in elements.
pub(crate) struct Mat<P> {
    ptr: P,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    len: usize,
}

impl<'a> Mat<&'a mut [f32]> {
    /// Row-major, contiguous.
    pub(crate) fn rows(s: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::strided(s, rows, cols, cols, 1)
    }
    /// Arbitrary strides.
    pub(crate) fn strided(s: &'a mut [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let len = s.len();
        Mat { ptr: s, rows, cols, rs: rs as isize, cs: cs as isize, len }
    }
}

impl<'a> Mat<&'a [f32]> {
    /// Row-major, contiguous.
    pub(crate) fn rows_ref(s: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided_ref(s, rows, cols, cols, 1)
    }
    /// Arbitrary strides.
    pub(crate) fn strided_ref(s: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        Mat { ptr: s, rows, cols, rs: rs as isize, cs: cs as isize, len: s.len() }
    }
}

fn last_index<P>(m: &Mat<P>) -> usize {
    if m.rows == 0 || m.cols == 0 {
        return 0;
    }
    (m.rows - 1) * m.rs as usize + (m.cols - 1) * m.cs as usize
}

/// `dst = a · b` (or `dst += a · b` when `accumulate`).
pub(crate) fn matmul(dst: Mat<&mut [f32]>, a: Mat<&[f32]>, b: Mat<&[f32]>, accumulate: bool, par: Par) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    assert_eq!((dst.rows, dst.cols), (a.rows, b.cols), "output shape");
    // The views must stay inside their slices: this is what makes the raw-pointer call below sound.
    assert!(last_index(&dst) < dst.len.max(1) && last_index(&a) < a.len.max(1) && last_index(&b) < b.len.max(1));
    if dst.rows == 0 || dst.cols == 0 {
        return;
    }
    let parallelism = match par {
        // Threads only pay off on products big enough to split.
        Par::All if dst.rows * dst.cols * a.cols >= 1 << 16 => Parallelism::Rayon(0),
        _ => Parallelism::None,
    };
    // SAFETY: all three views were checked to lie within their slices; `dst` is borrowed mutably and
    // cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            a.cols,
            dst.ptr.as_mut_ptr(),
            dst.cs,
            dst.rs,
            accumulate,
            a.ptr.as_ptr(),
            a.cs,
            a.rs,
            b.ptr.as_ptr(),
            b.cs,
            b.rs,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_products_match_a_naive_loop() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        // b stored transposed: b[r][c] at bt[c * k + r].
        let bt: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut dst = vec![0.0; m * n];
        matmul(Mat::rows(&mut dst, m, n), Mat::rows_ref(&a, m, k), Mat::strided_ref(&bt, k, n, 1, k), false, Par::All);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|r| a[i * k + r] * bt[j * k + r]).sum();
                assert!((dst[i * n + j] - want).abs() < 1e-5);
            }
        }
    }
}
