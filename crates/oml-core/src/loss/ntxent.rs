use burn::config::Config;
use burn::tensor::Tensor;

use super::LossError;
use super::pairs::{PairLoss, PairMasks, cosine_self, zero_loss};
use crate::miner::MinedPairs;

/// Configuration of [`NtXentLoss`] (pytorch-metric-learning `NTXentLoss`, its default).
#[derive(Config, Debug, PartialEq)]
pub struct NtXentLossConfig {
    /// Softmax temperature. Default 0.07.
    #[config(default = 0.07)]
    pub temperature: f64,
}

/// NT-Xent, the normalised temperature-scaled cross entropy (Chen et al. 2020, SimCLR; with
/// repeated labels it is the supervised contrastive loss of Khosla et al. 2020, one term per
/// positive pair), as pytorch-metric-learning 2.8.1 computes it (`losses/ntxent_loss.py`,
/// cosine similarity `s`, `MeanReducer`): for every ordered positive pair `(a, p)`,
/// `loss_ap = −log(e^{s_ap/τ} / (e^{s_ap/τ} + Σ_{n ∈ N_a} e^{s_an/τ}) + tiny)`, averaged over
/// the positive pairs; 0 when the batch has no positive or no negative pair.
#[derive(Debug, Clone)]
pub struct NtXentLoss {
    temperature: f64,
}

impl NtXentLossConfig {
    /// The loss; an error for a temperature that is not positive.
    pub fn init(&self) -> Result<NtXentLoss, LossError> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(LossError::NotPositive { name: "temperature", value: self.temperature });
        }
        Ok(NtXentLoss { temperature: self.temperature })
    }
}

impl PairLoss for NtXentLoss {
    fn forward_pairs(
        &self,
        features: Tensor<2>,
        labels: &[u32],
        pairs: &MinedPairs,
    ) -> Result<Tensor<1>, LossError> {
        let masks = PairMasks::of(&features, labels, pairs)?;
        if masks.too_few() || masks.n_pos == 0 || masks.n_neg == 0 {
            return Ok(zero_loss(features));
        }
        let z = cosine_self(features).div_scalar(self.temperature); // [B, B]
        // The anchor's largest negative, and Σ_n e^{z_an − that} (0 without negatives).
        let negatives = z.clone().mask_fill(masks.neg.clone().equal_elem(0.0), f32::MIN);
        let neg_max = negatives.clone().detach().max_dim(1); // [B, 1]
        let neg_sum = ((negatives - neg_max.clone()).exp() * masks.neg).sum_dim(1); // [B, 1]
        // Per pair (a, p): shift m = max(z_ap, neg_max_a), detached, as PML.
        let shift = z.clone().detach().max_pair(neg_max.clone().expand(z.dims()));
        let numerator = (z - shift.clone()).exp();
        let denominator = (neg_max - shift).exp() * neg_sum + numerator.clone();
        let per_pair =
            (numerator / denominator).add_scalar(f64::from(f32::MIN_POSITIVE)).log().neg();
        Ok((per_pair * masks.pos).sum().div_scalar(masks.n_pos as f64))
    }
}
