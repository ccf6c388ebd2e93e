use burn::config::Config;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Tensor, TensorData};

use super::LossError;
use super::reduction::Reduction;
use crate::pairwise::pairwise_euclidean_self;

/// Configuration of [`SurrogatePrecision`] (OML `SurrogatePrecision`,
/// `losses/surrogate_precision.py`).
#[derive(Config, Debug, PartialEq)]
pub struct SurrogatePrecisionConfig {
    /// The k of precision@k (no default), at least 1.
    pub k: usize,
    /// Temperature of the outer sigmoid. Default 1.
    #[config(default = 1.0)]
    pub temperature1: f64,
    /// Temperature of the rank sigmoid. Default 0.01.
    #[config(default = 0.01)]
    pub temperature2: f64,
    /// Reduction over the batch. Default mean.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

/// A differentiable precision@k (Patel et al. 2022, "Recall@k Surrogate Loss with Large
/// Batches and Similarity Mixup", arXiv:2108.11179; OML `functional/losses.py`,
/// `surrogate_precision`). Every batch item is a query against the whole batch (itself
/// included, so k is raised by 1):
/// `rank[b, c] = Σ_a σ((d[b, c] − d[b, a]) / t2)`,
/// `precision[b] = Σ_c σ((k + 1 − rank[b, c]) / t1)·[y_b = y_c] / min(#{c : y_c = y_b}, k + 1)`,
/// loss `= 1 − reduce(precision)`.
///
/// Memory is `B³` floats (the pairwise rank comparison), as in OML.
#[derive(Debug, Clone)]
pub struct SurrogatePrecision {
    k: usize,
    temperature1: f64,
    temperature2: f64,
    reduction: Reduction,
}

impl SurrogatePrecisionConfig {
    /// The loss; an error for a value out of range (e.g. `k = 0`).
    pub fn init(&self) -> Result<SurrogatePrecision, LossError> {
        if self.k == 0 {
            return Err(LossError::ZeroK);
        }
        for (name, value) in
            [("temperature1", self.temperature1), ("temperature2", self.temperature2)]
        {
            if value.is_nan() || value <= 0.0 {
                return Err(LossError::NotPositive { name, value });
            }
        }
        Ok(SurrogatePrecision {
            k: self.k + 1,
            temperature1: self.temperature1,
            temperature2: self.temperature2,
            reduction: self.reduction,
        })
    }
}

impl SurrogatePrecision {
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]` → loss `[1]` (or `[B]`).
    pub fn forward(&self, features: Tensor<2>, labels: &[u32]) -> Result<Tensor<1>, LossError> {
        let b = features.dims()[0];
        if labels.len() != b {
            return Err(LossError::Shape {
                what: "labels",
                expected: b.to_string(),
                got: labels.len().to_string(),
            });
        }
        let device = features.device();
        let d = pairwise_euclidean_self(features); // [B, B]
        // diff[a, b, c] = d[b, c] − d[b, a]
        let diff = d.clone().unsqueeze_dim::<3>(0) - d.transpose().unsqueeze_dim::<3>(2);
        let rank = sigmoid(diff.div_scalar(self.temperature2)).sum_dim(0).squeeze_dim::<2>(0); // [B, B]
        let same: Vec<f32> = labels
            .iter()
            .flat_map(|&y| labels.iter().map(move |&l| f32::from(u8::from(l == y))))
            .collect();
        let positives: Vec<f32> =
            same.chunks_exact(b).map(|row| row.iter().sum::<f32>().min(self.k as f32)).collect();
        let same = Tensor::<2>::from_data(TensorData::new(same, [b, b]), &device);
        let positives = Tensor::<1>::from_data(TensorData::new(positives, [b]), &device);
        let soft_hits =
            sigmoid(rank.neg().add_scalar(self.k as f64).div_scalar(self.temperature1)) * same;
        let precision = soft_hits.sum_dim(1).squeeze_dim::<1>(1) / positives;
        Ok(self.reduction.apply(precision).neg().add_scalar(1.0))
    }
}
