use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::base::{MinerError, TripletMiner, Triplets};
use super::pairs::normalised_distance_matrix;

/// Which margin-breaking triplets [`TripletMarginMiner`] keeps (PML's `type_of_triplets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TripletType {
    /// Every triplet with `d_an − d_ap ≤ margin` (PML's default).
    #[default]
    All,
    /// Those of `All` whose negative is not farther than the positive: `d_an − d_ap ≤ 0`.
    Hard,
    /// Those of `All` whose negative is farther than the positive: `0 < d_an − d_ap ≤ margin`.
    Semihard,
    /// The triplets `All` leaves out: `d_an − d_ap > margin`.
    Easy,
}

/// PML's `TripletMarginMiner` (`miners/triplet_margin_miner.py`): of every triplet of the batch
/// (anchor, a positive other than itself, a negative), those whose margin
/// `d_an − d_ap` (Euclidean distances of the L2-normalised embeddings, PML's default
/// distance) is at most `margin`, narrowed by [`TripletType`]. Triplets come in PML's order:
/// by anchor, then positive, then negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripletMarginMiner {
    /// PML's default 0.2.
    pub margin: f32,
    /// PML's default [`TripletType::All`].
    pub type_of_triplets: TripletType,
}

impl TripletMiner for TripletMarginMiner {
    fn mine_checked(&self, features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError> {
        let b = labels.len();
        let d = normalised_distance_matrix(features)?;
        let mut t = Triplets::default();
        for a in 0..b {
            for p in (0..b).filter(|&p| p != a && labels[p] == labels[a]) {
                for n in (0..b).filter(|&n| labels[n] != labels[a]) {
                    let margin = d[a * b + n] - d[a * b + p];
                    let keep = match self.type_of_triplets {
                        TripletType::All => margin <= self.margin,
                        TripletType::Hard => margin <= self.margin && margin <= 0.0,
                        TripletType::Semihard => margin <= self.margin && margin > 0.0,
                        TripletType::Easy => margin > self.margin,
                    };
                    if keep {
                        t.anchor.push(a);
                        t.positive.push(p);
                        t.negative.push(n);
                    }
                }
            }
        }
        Ok(t)
    }
}
