//! Principal Components Fraction (OML `calc_pcf`, `functional/metrics.py:461`, and
//! `PCA.calc_principal_axes_number`, `utils/misc_torch.py:457`).

use nalgebra::DMatrix;

use crate::retrieval::Embeddings;
use crate::retrieval::gemm::GemmScalar;

/// Rows per chunk when accumulating the covariance (bounds scratch memory and float32 error).
const CHUNK_ROWS: usize = 1024;

/// PCF of the embeddings at `rows`, one value per entry of `variance_fractions`.
///
/// Let λ₁ ≥ … ≥ λ_m be the eigenvalues of the covariance of the rows, `m = min(n, d)` (OML
/// takes them from an SVD of the centred `[n, d]` matrix, which has `min(n, d)` singular
/// values), and `c_j = Σ_{i ≤ j} λ_i / Σ λ`. For a fraction `r`, the number of components is
/// `#{j : c_j ≤ r} + 1` (`torch.searchsorted(c, r, side="right") + 1`), and PCF = that / d.
/// It measures how many directions the embeddings really use.
///
/// Computed with float32 products summed in f64 (OML uses a float32 SVD); results can differ from OML only where a cumulative
/// ratio equals `r` to within float32 rounding, e.g. `r = 1`. Fewer than 2 rows, or all rows
/// identical, give NaN (OML's SVD path yields NaN or fails for these).
///
/// # Shapes
/// `rows`: indices of embedding rows `[n]`; output `[variance_fractions.len()]`.
pub fn pcf(emb: &Embeddings<'_>, rows: &[u32], variance_fractions: &[f64]) -> Vec<f64> {
    let (n, d) = (rows.len(), emb.dim());
    let nan = vec![f64::NAN; variance_fractions.len()];
    if n < 2 {
        return nan;
    }
    let mut mean = vec![0.0f64; d];
    for &r in rows {
        for (m, &v) in mean.iter_mut().zip(emb.row(r as usize)) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);

    // Covariance (unnormalised; the ratio ignores the scale): Σ over row chunks of Xcᵀ Xc, each
    // chunk one float32 GEMM (relative error ~1e-5, far below what moves a PCF step), summed
    // in f64.
    let chunk_covariance = |chunk: &[u32]| -> Vec<f64> {
        let mut transposed = vec![0.0f32; d * chunk.len()];
        for (i, &r) in chunk.iter().enumerate() {
            for (j, (&v, m)) in emb.row(r as usize).iter().zip(&mean).enumerate() {
                let centred = (f64::from(v) - m) as f32;
                transposed[j * chunk.len() + i] = centred;
            }
        }
        let mut part = vec![0.0f32; d * d];
        f32::matmul_transposed(&transposed, &transposed, &mut part, d, d, chunk.len());
        part.into_iter().map(f64::from).collect()
    };
    let add = |mut a: Vec<f64>, b: Vec<f64>| {
        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
        a
    };
    #[cfg(feature = "parallel")]
    let cov = {
        use rayon::prelude::*;
        rows.par_chunks(CHUNK_ROWS).map(chunk_covariance).reduce(|| vec![0.0; d * d], add)
    };
    #[cfg(not(feature = "parallel"))]
    let cov = rows.chunks(CHUNK_ROWS).map(chunk_covariance).fold(vec![0.0; d * d], add);
    let mut eigenvalues: Vec<f64> = DMatrix::from_row_slice(d, d, &cov)
        .symmetric_eigenvalues()
        .iter()
        .map(|&v| v.max(0.0))
        .collect();
    eigenvalues.sort_unstable_by(|a, b| b.total_cmp(a));
    eigenvalues.truncate(n.min(d));
    let total: f64 = eigenvalues.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return nan;
    }
    let mut cumulative = Vec::with_capacity(eigenvalues.len());
    let mut running = 0.0;
    for v in &eigenvalues {
        running += v / total;
        cumulative.push(running);
    }
    variance_fractions
        .iter()
        .map(|&r| (cumulative.partition_point(|&c| c <= r) + 1) as f64 / d as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oml_docstring_example() {
        // torch.eye(4, 10) (OML docstring): centred, 3 equal eigenvalues, so 50% needs 2 of
        // 10 components and 99% needs 3.
        let mut data = vec![0.0f32; 40];
        for i in 0..4 {
            data[i * 10 + i] = 1.0;
        }
        let emb = Embeddings::new(&data, 4, 10).unwrap();
        let got = pcf(&emb, &[0, 1, 2, 3], &[0.5, 0.99]);
        assert_eq!(got, vec![0.2, 0.3]);
    }

    #[test]
    fn degenerate_inputs_give_nan() {
        let data = vec![1.0f32; 6];
        let emb = Embeddings::new(&data, 3, 2).unwrap();
        assert!(pcf(&emb, &[0], &[0.5])[0].is_nan());
        assert!(pcf(&emb, &[0, 1, 2], &[0.5])[0].is_nan());
    }
}
