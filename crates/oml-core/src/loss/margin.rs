use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::LossError;
use super::pairs::{PairLoss, PairMasks, check_finite, l2_normalised};
use crate::miner::MinedPairs;
use crate::pairwise::pairwise_euclidean_self;

/// Configuration of [`MarginLoss`] (pytorch-metric-learning `MarginLoss`, its defaults, with a
/// fixed β: PML's `learn_beta` is not offered).
#[derive(Config, Debug, PartialEq)]
pub struct MarginLossConfig {
    /// The margin α around the boundary. Default 0.2.
    #[config(default = 0.2)]
    pub margin: f64,
    /// The boundary β between positive and negative distances. Default 1.2.
    #[config(default = 1.2)]
    pub beta: f64,
}

/// The margin loss (Wu et al. 2017, "Sampling Matters in Deep Embedding Learning") as
/// pytorch-metric-learning 2.8.1 computes it (`losses/margin_loss.py`, its default
/// `triplets_per_anchor = "all"`, Euclidean distance `d` of the L2-normalised embeddings,
/// `DivisorReducer`): over every triplet (a, p, n),
/// `loss = Σ_t ([d_ap − β + α]₊ + [β − d_an + α]₊) / (#{t : [d_ap − β + α]₊ > 0} + #{t : [β − d_an + α]₊ > 0})`.
/// The triplets come from the pairs: each positive pair of an anchor with each of its negative
/// pairs (with a miner, its pairs), so a positive pair counts once per negative of its anchor
/// and a negative pair once per positive.
#[derive(Debug, Clone)]
pub struct MarginLoss {
    margin: f64,
    beta: f64,
}

impl MarginLossConfig {
    /// The loss; an error for a value that is not finite.
    pub fn init(&self) -> Result<MarginLoss, LossError> {
        check_finite(&[self.margin, self.beta])?;
        Ok(MarginLoss { margin: self.margin, beta: self.beta })
    }
}

impl PairLoss for MarginLoss {
    fn forward_pairs(
        &self,
        features: Tensor<2>,
        labels: &[u32],
        pairs: &MinedPairs,
    ) -> Result<Tensor<1>, LossError> {
        let masks = PairMasks::of(&features, labels, pairs)?;
        // Triplets per pair: a positive pair meets each negative pair of its anchor, and the
        // other way round.
        let per_pos = masks.neg.clone().sum_dim(1); // [B, 1]
        let per_neg = masks.pos.clone().sum_dim(1); // [B, 1]
        let d = pairwise_euclidean_self(l2_normalised(features));
        let pos = relu(d.clone().sub_scalar(self.beta - self.margin)) * masks.pos;
        let neg = relu(d.neg().add_scalar(self.beta + self.margin)) * masks.neg;
        let active = |t: &Tensor<2>, per: &Tensor<2>| {
            (t.clone().detach().greater_elem(0.0).float() * per.clone()).sum()
        };
        let divisor = active(&pos, &per_pos) + active(&neg, &per_neg);
        let total = (pos * per_pos).sum() + (neg * per_neg).sum();
        // No active triplet: 0, as PML's DivisorReducer gives for a divisor of 0.
        Ok(total / divisor.clamp_min(1.0))
    }
}
