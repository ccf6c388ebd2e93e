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

/// Configuration of a [`TripletLossWithMiner`] (what a config file's `criterion` names):
/// the triplet loss's fields and the miner.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TripletLossWithMinerConfig {
    /// See [`super::TripletLossConfig::margin`]; absent = soft margin.
    #[serde(default)]
    pub margin: Option<f64>,
    /// Default mean.
    #[serde(default)]
    pub reduction: super::Reduction,
    /// Default false.
    #[serde(default)]
    pub need_logs: bool,
    /// Default all triplets (OML's default miner).
    #[serde(default = "all_triplets")]
    pub miner: crate::miner::MinerConfig,
}

fn all_triplets() -> crate::miner::MinerConfig {
    crate::miner::MinerConfig::AllTriplets { max_output_triplets: None, seed: 0 }
}

impl TripletLossWithMinerConfig {
    pub fn init(&self) -> Result<TripletLossWithMiner<crate::miner::DynMiner>, LossError> {
        let loss = super::TripletLossConfig::new()
            .with_margin(self.margin)
            .with_reduction(self.reduction)
            .with_need_logs(self.need_logs)
            .init()?;
        Ok(TripletLossWithMiner::new(loss, self.miner.init()?))
    }
}
