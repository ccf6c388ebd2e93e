use burn::tensor::Tensor;

use super::LossError;
use super::triplet::{BankLogs, TripletLoss, TripletOutput};
use crate::miner::TripletSource;

/// A triplet loss that mines its own triplets (OML `TripletLossWithMiner`,
/// `losses/triplet.py:172`): the miner picks (anchor, positive, negative) rows of the batch,
/// the rows are gathered (gradients flow to all three), then [`TripletLoss`] reduces over the
/// mined triplets.
#[derive(Debug)]
pub struct TripletLossWithMiner<M> {
    /// The loss over the mined triplets.
    pub loss: TripletLoss,
    /// What picks the triplets.
    pub miner: M,
}

impl<M: TripletSource> TripletLossWithMiner<M> {
    /// `loss` over the triplets `miner` picks.
    pub fn new(loss: TripletLoss, miner: M) -> Self {
        Self { loss, miner }
    }

    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]` → loss `[1]` (or `[T]` with `Reduction::None`).
    ///
    /// With a miner that also draws from a memory bank and `need_logs`, the output's
    /// `bank_logs` split the statistics between the batch's own triplets and the bank's.
    pub fn forward(&self, features: Tensor<2>, labels: &[u32]) -> Result<TripletOutput, LossError> {
        let t = self.miner.mine(features, labels)?;
        Ok(self.reduce(t))
    }

    /// As [`Self::forward`] with cross-domain mining ([`crate::miner::TripletMiner::sample_across`]):
    /// an anchor's positive and negative are rows of another domain.
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`, `domains`: `[B]` → loss `[1]` (or `[T]`).
    pub fn forward_across(
        &self,
        features: Tensor<2>,
        labels: &[u32],
        domains: &[u32],
    ) -> Result<TripletOutput, LossError> {
        let t = self.miner.mine_across(features, labels, domains)?;
        Ok(self.reduce(t))
    }

    fn reduce(&self, t: crate::miner::MinedTriplets) -> TripletOutput {
        let bank = match (&t.is_original, self.loss.need_logs()) {
            (Some(orig), true) => Some(bank_logs(&t, orig, self.loss.margin())),
            _ => None,
        };
        let mut out = self.loss.forward(t.anchor, t.positive, t.negative);
        out.bank_logs = bank;
        out
    }
}

fn host(values: Tensor<1>) -> Vec<f32> {
    values.detach().try_into_vec_as::<f32>().unwrap_or_default()
}

/// OML's per-part logs: a triplet is active when its loss is positive (always, with the soft
/// margin); distances are Euclidean, averaged within the part.
fn bank_logs(t: &crate::miner::MinedTriplets, orig: &[bool], margin: Option<f64>) -> BankLogs {
    use crate::pairwise::elementwise_euclidean;
    let d_ap = host(elementwise_euclidean(t.anchor.clone(), t.positive.clone()));
    let d_an = host(elementwise_euclidean(t.anchor.clone(), t.negative.clone()));
    let mean = |want: bool, f: &dyn Fn(usize) -> f64| {
        let picked: Vec<f64> = (0..orig.len()).filter(|&i| orig[i] == want).map(f).collect();
        let n = picked.len() as f64;
        picked.iter().sum::<f64>() / n
    };
    let active = |i: usize| {
        let loss = f64::from(d_ap[i]) - f64::from(d_an[i]);
        match margin {
            Some(m) if loss + m <= 0.0 => 0.0,
            _ => 1.0,
        }
    };
    BankLogs {
        orig_active_tri: mean(true, &active),
        bank_active_tri: mean(false, &active),
        pos_dist_orig: mean(true, &|i| f64::from(d_ap[i])),
        neg_dist_orig: mean(true, &|i| f64::from(d_an[i])),
        pos_dist_bank: mean(false, &|i| f64::from(d_ap[i])),
        neg_dist_bank: mean(false, &|i| f64::from(d_an[i])),
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
    /// Mine across domains (not in OML): an anchor's positive and negative come from other
    /// domains than its own (the dataset's `domain` column), as in a retrieval from one
    /// domain into another. Needs `hard_triplets` or `all_triplets`. Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cross_domain: bool,
}

fn all_triplets() -> crate::miner::MinerConfig {
    crate::miner::MinerConfig::AllTriplets { max_output_triplets: None, seed: 0 }
}

impl TripletLossWithMinerConfig {
    /// `margin` (none: soft margin) and `miner`, mean reduction, with logs (the share of
    /// active triplets), within domains: what the trainer's progress bar needs.
    pub fn new(margin: Option<f64>, miner: crate::miner::MinerConfig) -> Self {
        Self {
            margin,
            reduction: super::Reduction::Mean,
            need_logs: true,
            miner,
            cross_domain: false,
        }
    }

    /// The loss with its miner; an error for a miner that cannot mine across domains when
    /// `cross_domain` is set, or a value out of range.
    pub fn init(&self) -> Result<TripletLossWithMiner<crate::miner::DynMiner>, LossError> {
        if self.cross_domain && !self.miner.mines_across_domains() {
            return Err(crate::miner::MinerError::NoCrossDomain.into());
        }
        let loss = super::TripletLossConfig::new()
            .with_margin(self.margin)
            .with_reduction(self.reduction)
            .with_need_logs(self.need_logs)
            .init()?;
        Ok(TripletLossWithMiner::new(loss, self.miner.init()?))
    }
}
