use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::LossError;
use super::reduction::Reduction;
use crate::miner::gather_rows;
use crate::pairwise::elementwise_euclidean;

/// Configuration of [`TripletLoss`] (OML `TripletLoss`, `losses/triplet.py:17`).
#[derive(Config, Debug, PartialEq)]
pub struct TripletLossConfig {
    /// Margin of the hinge; `None` (the default here; OML has no default and its README uses
    /// 0.1) selects the soft margin `log1p(exp(d_ap − d_an))`.
    pub margin: Option<f64>,
    /// Reduction over triplets. Default mean.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
    /// Also compute [`TripletLogs`] (reads values back from the device). Default false.
    #[config(default = false)]
    pub need_logs: bool,
}

/// The triplet loss:
/// `loss_t = max(0, margin + d(a_t, p_t) − d(a_t, n_t))`, or with the soft margin
/// `loss_t = log(1 + exp(d(a_t, p_t) − d(a_t, n_t)))`, where `d` is the (non-squared)
/// Euclidean distance; then reduced over triplets.
#[derive(Debug, Clone)]
pub struct TripletLoss {
    margin: Option<f64>,
    reduction: Reduction,
    need_logs: bool,
}

/// Statistics of the last batch (OML `last_logs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripletLogs {
    /// Share of triplets with a positive loss.
    pub active_tri: f64,
    /// Mean anchor-positive distance.
    pub pos_dist: f64,
    /// Mean anchor-negative distance.
    pub neg_dist: f64,
}

/// Logs split between a batch's own triplets and those drawn with a memory bank (OML's
/// `orig_active_tri`, `bank_active_tri`, `pos_dist_orig`, … of `TripletLossWithMiner`). NaN
/// for a part without triplets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BankLogs {
    /// Share of the batch's own triplets with a positive loss.
    pub orig_active_tri: f64,
    /// Share of the triplets drawn with the bank with a positive loss.
    pub bank_active_tri: f64,
    /// Mean anchor-positive distance of the batch's own triplets.
    pub pos_dist_orig: f64,
    /// Mean anchor-negative distance of the batch's own triplets.
    pub neg_dist_orig: f64,
    /// Mean anchor-positive distance of the bank's triplets.
    pub pos_dist_bank: f64,
    /// Mean anchor-negative distance of the bank's triplets.
    pub neg_dist_bank: f64,
}

/// A loss and, when asked for, its logs.
#[derive(Debug, Clone)]
pub struct TripletOutput {
    /// `[1]` for mean/sum, `[T]` for none.
    pub loss: Tensor<1>,
    /// With `need_logs`: OML's logs (active triplets, distances).
    pub logs: Option<TripletLogs>,
    /// With a memory-bank miner and `need_logs`: the logs of each part.
    pub bank_logs: Option<BankLogs>,
}

impl TripletLossConfig {
    /// The loss; an error for a margin that is not positive and finite.
    pub fn init(&self) -> Result<TripletLoss, LossError> {
        if let Some(m) = self.margin
            && !(m.is_finite() && m > 0.0)
        {
            return Err(LossError::BadMargin(m));
        }
        Ok(TripletLoss {
            margin: self.margin,
            reduction: self.reduction,
            need_logs: self.need_logs,
        })
    }
}

fn mean_of(values: Tensor<1>) -> f64 {
    values
        .mean()
        .try_into_vec_as::<f32>()
        .ok()
        .and_then(|v| v.first().copied())
        .map_or(f64::NAN, f64::from)
}

impl TripletLoss {
    /// Whether logs are computed.
    pub fn need_logs(&self) -> bool {
        self.need_logs
    }

    /// The margin, `None` for the soft margin.
    pub fn margin(&self) -> Option<f64> {
        self.margin
    }

    /// # Shapes
    /// `anchor`, `positive`, `negative`: `[T, D]` → loss `[1]` (or `[T]` for `Reduction::None`).
    pub fn forward(
        &self,
        anchor: Tensor<2>,
        positive: Tensor<2>,
        negative: Tensor<2>,
    ) -> TripletOutput {
        let d_ap = elementwise_euclidean(anchor.clone(), positive);
        let d_an = elementwise_euclidean(anchor, negative);
        let diff = d_ap.clone() - d_an.clone();
        let per_triplet = match self.margin {
            Some(m) => relu(diff.add_scalar(m)),
            None => diff.exp().log1p(),
        };
        let logs = self.need_logs.then(|| TripletLogs {
            active_tri: mean_of(per_triplet.clone().detach().greater_elem(0.0).float()),
            pos_dist: mean_of(d_ap.detach()),
            neg_dist: mean_of(d_an.detach()),
        });
        TripletOutput { loss: self.reduction.apply(per_triplet), logs, bank_logs: None }
    }

    /// The loss on rows `anchor[t], positive[t], negative[t]` of `features`.
    ///
    /// # Shapes
    /// `features`: `[B, D]`, index lists `[T]` → as [`Self::forward`].
    pub fn forward_indices(
        &self,
        features: Tensor<2>,
        anchor: &[usize],
        positive: &[usize],
        negative: &[usize],
    ) -> TripletOutput {
        self.forward(
            gather_rows(&features, anchor),
            gather_rows(&features, positive),
            gather_rows(&features, negative),
        )
    }
}

/// OML `TripletLossPlain` (`losses/triplet.py:117`): rows `3t, 3t+1, 3t+2` of the batch are
/// anchor, positive and negative of triplet `t`.
#[derive(Debug, Clone)]
pub struct TripletLossPlain {
    /// The triplet loss applied to each row triple.
    pub loss: TripletLoss,
}

impl TripletLossPlain {
    /// # Shapes
    /// `features`: `[3T, D]` → as [`TripletLoss::forward`].
    pub fn forward(&self, features: Tensor<2>) -> Result<TripletOutput, LossError> {
        let n = features.dims()[0];
        if !n.is_multiple_of(3) {
            return Err(LossError::NotTriplets(n));
        }
        let ids = |offset: usize| (offset..n).step_by(3).collect::<Vec<_>>();
        Ok(self.loss.forward_indices(features, &ids(0), &ids(1), &ids(2)))
    }
}
