//! Principal Components Fraction (OML `calc_pcf`, `functional/metrics.py:461`, and
//! `PCA.calc_principal_axes_number`, `utils/misc_torch.py:457`).

use nalgebra::DMatrix;

use crate::retrieval::Embeddings;

/// Rows per chunk when accumulating the covariance (bounds the f64 scratch memory).
const CHUNK_ROWS: usize = 1024;

/// PCF of the embeddings at `rows`, one value per entry of `variance_fractions`.
///
/// Let λ₁ ≥ … ≥ λ_m be the eigenvalues of the covariance of the rows, `m = min(n, d)` (OML
/// takes them from an SVD of the centred `[n, d]` matrix, which has `min(n, d)` singular
/// values), and `c_j = Σ_{i ≤ j} λ_i / Σ λ`. For a fraction `r`, the number of components is
/// `#{j : c_j ≤ r} + 1` (`torch.searchsorted(c, r, side="right") + 1`), and PCF = that / d.
/// It measures how many directions the embeddings really use.
///
/// Computed in f64 (OML uses float32); results can differ from OML only where a cumulative
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

    // Covariance (unnormalised; the ratio ignores the scale): Σ over chunks of Xcᵀ Xc.
    let mut cov = vec![0.0f64; d * d];
    let mut part = vec![0.0f64; d * d];
    let mut transposed = Vec::with_capacity(d * CHUNK_ROWS);
    for chunk in rows.chunks(CHUNK_ROWS) {
        transposed.clear();
        transposed.resize(d * chunk.len(), 0.0);
        for (i, &r) in chunk.iter().enumerate() {
            for (j, (&v, m)) in emb.row(r as usize).iter().zip(&mean).enumerate() {
                transposed[j * chunk.len() + i] = f64::from(v) - m;
            }
        }
        crate::retrieval::gemm_f64(&transposed, &transposed, &mut part, d, d, chunk.len());
        for (c, p) in cov.iter_mut().zip(&part) {
            *c += p;
        }
    }
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
