use burn::config::Config;
use burn::tensor::Tensor;

use super::LossError;
use super::pairs::{PairLoss, PairMasks, cosine_self, masked_logsumexp, zero_loss};
use crate::miner::MinedPairs;

/// Configuration of [`MultiSimilarityLoss`] (pytorch-metric-learning `MultiSimilarityLoss`,
/// its defaults).
#[derive(Config, Debug, PartialEq)]
pub struct MultiSimilarityLossConfig {
    /// Weight of the positive pairs' exponent. Default 2.
    #[config(default = 2.0)]
    pub alpha: f64,
    /// Weight of the negative pairs' exponent. Default 50.
    #[config(default = 50.0)]
    pub beta: f64,
    /// The similarity both exponents are measured from. Default 0.5.
    #[config(default = 0.5)]
    pub base: f64,
}

/// The multi-similarity loss (Wang et al. 2019, "Multi-Similarity Loss with General Pair
/// Weighting for Deep Metric Learning") as pytorch-metric-learning 2.8.1 computes it
/// (`losses/multi_similarity_loss.py`, cosine similarity `s`, `MeanReducer`), over all pairs:
/// `loss_i = (1/α) log(1 + Σ_{p ∈ P_i} e^{−α (s_ip − λ)}) + (1/β) log(1 + Σ_{n ∈ N_i} e^{β (s_in − λ)})`,
/// averaged over the batch (`λ` = `base`; a row without positives or negatives adds 0 for
/// that term).
#[derive(Debug, Clone)]
pub struct MultiSimilarityLoss {
    alpha: f64,
    beta: f64,
    base: f64,
}

impl MultiSimilarityLossConfig {
    /// The loss; an error for an `alpha` or `beta` that is not positive, or a `base` that is
    /// not finite.
    pub fn init(&self) -> Result<MultiSimilarityLoss, LossError> {
        for (name, value) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(LossError::NotPositive { name, value });
            }
        }
        if !self.base.is_finite() {
            return Err(LossError::BadMargin(self.base));
        }
        Ok(MultiSimilarityLoss { alpha: self.alpha, beta: self.beta, base: self.base })
    }
}

impl PairLoss for MultiSimilarityLoss {
    fn forward_pairs(
        &self,
        features: Tensor<2>,
        labels: &[u32],
        pairs: &MinedPairs,
    ) -> Result<Tensor<1>, LossError> {
        let b = labels.len();
        let masks = PairMasks::of(&features, labels, pairs)?;
        if masks.too_few() {
            return Ok(zero_loss(features));
        }
        let s = cosine_self(features);
        let pos_exp = s.clone().neg().add_scalar(self.base).mul_scalar(self.alpha);
        let neg_exp = s.sub_scalar(self.base).mul_scalar(self.beta);
        let pos = masked_logsumexp(pos_exp, &masks.pos, true, 1).div_scalar(self.alpha);
        let neg = masked_logsumexp(neg_exp, &masks.neg, true, 1).div_scalar(self.beta);
        Ok((pos + neg).reshape([b]).mean())
    }
}
