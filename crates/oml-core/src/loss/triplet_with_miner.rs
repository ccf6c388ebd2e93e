use burn::tensor::Tensor;

use super::LossError;
use super::triplet::{TripletLoss, TripletOutput};
use crate::miner::TripletSource;

/// A triplet loss that mines its own triplets (OML `TripletLossWithMiner`,
/// `losses/triplet.py:172`): the miner picks (anchor, positive, negative) rows of the batch,
/// the rows are gathered (gradients flow to all three), then [`TripletLoss`] reduces over the
/// mined triplets.
#[derive(Debug)]
pub struct TripletLossWithMiner<M> {
    pub loss: TripletLoss,
    pub miner: M,
}

impl<M: TripletSource> TripletLossWithMiner<M> {
    pub fn new(loss: TripletLoss, miner: M) -> Self {
        Self { loss, miner }
    }

    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]` → loss `[1]` (or `[T]` with `Reduction::None`).
    pub fn forward(&self, features: Tensor<2>, labels: &[u32]) -> Result<TripletOutput, LossError> {
        let t = self.miner.mine(features, labels)?;
        Ok(self.loss.forward(t.anchor, t.positive, t.negative))
    }
}
