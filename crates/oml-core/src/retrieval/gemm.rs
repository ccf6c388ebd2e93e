//! The one place that calls matrixmultiply's raw-pointer GEMM, behind a safe, bounds-checked
//! wrapper.
#![allow(unsafe_code)]

/// Floats the distance tiles are computed in.
pub(crate) trait GemmScalar:
    Copy + Send + Sync + PartialOrd + Default + std::fmt::Debug + 'static
{
    /// Rounds (f32) or keeps (f64) a value.
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
    /// `max(‖q‖² + ‖g‖² − 2 dot, 0)`: the squared Euclidean distance from a dot product.
    fn euclidean_score(q_sq_norm: Self, g_sq_norm: Self, dot: Self) -> Self;
    /// `clamp(1 − dot, 0, 2)`: the cosine distance of unit vectors.
    fn cosine_score(dot: Self) -> Self;
    /// `c[m, n] = a[m, k] · b[n, k]ᵀ`, all row-major and contiguous.
    fn matmul_transposed(a: &[Self], b: &[Self], c: &mut [Self], m: usize, n: usize, k: usize);
}

macro_rules! gemm_scalar {
    ($t:ty, $gemm:path) => {
        impl GemmScalar for $t {
            #[inline]
            #[allow(trivial_numeric_casts)]
            fn from_f64(value: f64) -> Self {
                value as $t
            }

            #[inline]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }

            #[inline]
            fn euclidean_score(q_sq_norm: Self, g_sq_norm: Self, dot: Self) -> Self {
                (q_sq_norm + g_sq_norm - 2.0 * dot).max(0.0)
            }

            #[inline]
            fn cosine_score(dot: Self) -> Self {
                (1.0 - dot).clamp(0.0, 2.0)
            }

            fn matmul_transposed(
                a: &[Self],
                b: &[Self],
                c: &mut [Self],
                m: usize,
                n: usize,
                k: usize,
            ) {
                assert_eq!(a.len(), m * k, "lhs is not [m, k]");
                assert_eq!(b.len(), n * k, "rhs is not [n, k]");
                assert_eq!(c.len(), m * n, "output is not [m, n]");
                if m == 0 || n == 0 {
                    return;
                }
                let stride = |s: usize| isize::try_from(s).expect("matrix stride fits isize");
                // SAFETY: the asserts above make every index the strides can reach lie inside
                // `a` ([m, k] row-major: row stride k, column stride 1), `b` read as the
                // transpose of [n, k] (row stride 1, column stride k) and `c` ([m, n]
                // row-major). `c` is a unique borrow, so it aliases neither input.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        stride(k),
                        1,
                        b.as_ptr(),
                        1,
                        stride(k),
                        0.0,
                        c.as_mut_ptr(),
                        stride(n),
                        1,
                    );
                }
            }
        }
    };
}

gemm_scalar!(f32, matrixmultiply::sgemm);
gemm_scalar!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::GemmScalar;

    #[test]
    fn matches_naive_product() {
        let (m, n, k) = (3, 4, 5);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..n * k).map(|i| (i % 7) as f64 - 2.0).collect();
        let mut c = vec![0.0; m * n];
        f64::matmul_transposed(&a, &b, &mut c, m, n, k);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|t| a[i * k + t] * b[j * k + t]).sum();
                assert_eq!(c[i * n + j], want);
            }
        }
    }
}
