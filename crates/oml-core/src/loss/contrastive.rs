use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::LossError;
use super::pairs::{PairLoss, PairMasks, check_finite, l2_normalised, mean_of_non_zero, zero_loss};
use crate::miner::MinedPairs;
use crate::pairwise::pairwise_euclidean_self;

/// Configuration of [`ContrastiveLoss`] (pytorch-metric-learning `ContrastiveLoss`, its
/// defaults).
#[derive(Config, Debug, PartialEq)]
pub struct ContrastiveLossConfig {
    /// Positive pairs closer than this cost nothing. Default 0.
    #[config(default = 0.0)]
    pub pos_margin: f64,
    /// Negative pairs farther than this cost nothing. Default 1.
    #[config(default = 1.0)]
    pub neg_margin: f64,
}

/// The contrastive loss (Hadsell, Chopra & LeCun 2006) as pytorch-metric-learning 2.8.1
/// computes it (`losses/contrastive_loss.py` with its default `LpDistance` on L2-normalised
/// embeddings and `AvgNonZeroReducer`): with `d` the Euclidean distance of the normalised
/// embeddings, over every ordered pair of the batch,
/// `loss = mean_{>0}(relu(d_ap − m_pos)) + mean_{>0}(relu(m_neg − d_an))`,
/// each mean taken over the pairs whose term is above 0.
#[derive(Debug, Clone)]
pub struct ContrastiveLoss {
    pos_margin: f64,
    neg_margin: f64,
}

impl ContrastiveLossConfig {
    /// The loss; an error for a margin that is not finite.
    pub fn init(&self) -> Result<ContrastiveLoss, LossError> {
        check_finite(&[self.pos_margin, self.neg_margin])?;
        Ok(ContrastiveLoss { pos_margin: self.pos_margin, neg_margin: self.neg_margin })
    }
}

impl PairLoss for ContrastiveLoss {
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
        let d = pairwise_euclidean_self(l2_normalised(features));
        let pos = relu(d.clone().sub_scalar(self.pos_margin)) * masks.pos;
        let neg = relu(d.neg().add_scalar(self.neg_margin)) * masks.neg;
        let flat = |t: Tensor<2>| t.reshape([b * b]);
        Ok(mean_of_non_zero(flat(pos)) + mean_of_non_zero(flat(neg)))
    }
}
