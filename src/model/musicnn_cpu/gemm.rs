//! A bounds-checked wrapper around the `gemm` crate's f32 matrix product (the kernel burn-flex
//! uses), single-threaded as in the browser.

/// A read-only matrix in a slice: element `(i, j)` is `data[i * rs + j * cs]`. Strides may
/// overlap (a sliding window over one signal is a matrix with `rs = cs = 1`).
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    /// The values.
    pub(crate) data: &'a [f32],
    /// Row stride.
    pub(crate) rs: usize,
    /// Column stride.
    pub(crate) cs: usize,
}

impl View<'_> {
    /// Whether every element of a `rows` x `cols` matrix lies inside `data`.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `dst = lhs x rhs` for `lhs` `m` x `k` and `rhs` `k` x `n`; `dst` is row-major `m` x `n`.
///
/// # Panics
/// When a matrix does not fit in its slice.
pub(crate) fn matmul(dst: &mut [f32], m: usize, n: usize, k: usize, lhs: View, rhs: View) {
    product(dst, m, n, k, lhs, rhs, false);
}

/// `dst += lhs x rhs`, as [`matmul`] otherwise.
pub(super) fn matmul_add(dst: &mut [f32], m: usize, n: usize, k: usize, lhs: View, rhs: View) {
    product(dst, m, n, k, lhs, rhs, true);
}

fn product(dst: &mut [f32], m: usize, n: usize, k: usize, lhs: View, rhs: View, add: bool) {
    assert!(dst.len() >= m * n, "gemm destination too short");
    assert!(lhs.holds(m, k) && rhs.holds(k, n), "gemm operand too short");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: every element gemm reads or writes lies inside the slices (checked above); `dst`
    // is borrowed mutably, so it aliases neither operand. dst = alpha * dst + 1 * lhs * rhs,
    // where dst is read (alpha = 1) only with `add`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            add,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            if add { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_product_with_overlapping_strides() {
        let signal: Vec<f32> = (0..40).map(|i| (i as f32 * 0.7).sin()).collect();
        let weights: Vec<f32> = (0..15).map(|i| i as f32 - 7.0).collect();
        // lhs(i, p) = signal[i + p] (sliding window); rhs(p, j) = weights[j * 5 + p].
        let (m, n, k) = (30, 3, 5);
        let mut dst = vec![0.0; m * n];
        let lhs = View { data: &signal, rs: 1, cs: 1 };
        let rhs = View { data: &weights, rs: 1, cs: 5 };
        matmul(&mut dst, m, n, k, lhs, rhs);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|p| signal[i + p] * weights[j * 5 + p]).sum();
                assert!((dst[i * n + j] - want).abs() < 1e-4, "({i}, {j})");
            }
        }
    }
}
