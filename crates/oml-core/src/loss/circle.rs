use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::LossError;
use super::pairs::{
    PairLoss, PairMasks, cosine_self, masked_logsumexp, mean_of_non_zero, zero_loss,
};
use crate::miner::MinedPairs;

/// Configuration of [`CircleLoss`] (pytorch-metric-learning `CircleLoss`, its defaults: the
/// paper's values for fine-grained image retrieval).
#[derive(Config, Debug, PartialEq)]
pub struct CircleLossConfig {
    /// Relaxation margin. Default 0.4.
    #[config(default = 0.4)]
    pub m: f64,
    /// Scale. Default 80.
    #[config(default = 80.0)]
    pub gamma: f64,
}

/// The circle loss (Sun et al. 2020, "Circle Loss: A Unified Perspective of Pair Similarity
/// Optimization") as pytorch-metric-learning 2.8.1 computes it (`losses/circle_loss.py`, cosine
/// similarity `s`, `AvgNonZeroReducer`): per anchor `i`, with `[·]₊` detached weights,
/// `loss_i = softplus(log Σ_{p ∈ P_i} e^{−γ [1 + m − s_ip]₊ (s_ip − (1 − m))}
///                  + log Σ_{n ∈ N_i} e^{γ [s_in + m]₊ (s_in − m)})`,
/// 0 for an anchor without positives or negatives; the mean over the anchors above 0.
#[derive(Debug, Clone)]
pub struct CircleLoss {
    m: f64,
    gamma: f64,
}

impl CircleLossConfig {
    /// The loss; an error for a `gamma` that is not positive or an `m` that is not finite.
    pub fn init(&self) -> Result<CircleLoss, LossError> {
        if !(self.gamma.is_finite() && self.gamma > 0.0) {
            return Err(LossError::NotPositive { name: "gamma", value: self.gamma });
        }
        if !self.m.is_finite() {
            return Err(LossError::BadMargin(self.m));
        }
        Ok(CircleLoss { m: self.m, gamma: self.gamma })
    }
}

impl PairLoss for CircleLoss {
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
        let weight_p = relu(s.clone().detach().neg().add_scalar(1.0 + self.m));
        let weight_n = relu(s.clone().detach().add_scalar(self.m));
        let logit_p = (weight_p * s.clone().sub_scalar(1.0 - self.m)).mul_scalar(-self.gamma);
        let logit_n = (weight_n * s.sub_scalar(self.m)).mul_scalar(self.gamma);
        let lse_p = masked_logsumexp(logit_p, &masks.pos, false, 1);
        let lse_n = masked_logsumexp(logit_n, &masks.neg, false, 1);
        let has_both = masks.pos.sum_dim(1).clamp_max(1.0) * masks.neg.sum_dim(1).clamp_max(1.0);
        let per_anchor = softplus(lse_p + lse_n) * has_both;
        Ok(mean_of_non_zero(per_anchor.reshape([b])))
    }
}

/// `log(1 + e^x)` without overflow: `max(x, 0) + log1p(e^{−|x|})`.
fn softplus(x: Tensor<2>) -> Tensor<2> {
    relu(x.clone()) + x.abs().neg().exp().log1p()
}
