use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::base::{MinerError, TripletMiner, Triplets};
use super::pairs::normalised_distance_matrix;

/// How [`BatchEasyHardMiner`] picks an anchor's positive or negative (PML's strategies, on
/// Euclidean distances of the L2-normalised embeddings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The hardest: the farthest positive, the nearest negative.
    Hard,
    /// The hardest that is still easier than the other side's pick: the farthest positive
    /// nearer than the chosen negative, the nearest negative farther than the chosen positive.
    Semihard,
    /// The easiest: the nearest positive, the farthest negative.
    Easy,
}

/// PML's `BatchEasyHardMiner` (Xuan et al. 2020, "Improved Embeddings with Easy Positive
/// Triplet Mining"; `miners/batch_easy_hard_miner.py`): one triplet per anchor, its positive and
/// negative picked by the strategies, within the allowed distance ranges; anchors without both
/// make none. With a semihard side, the other side is picked first. (PML's `"all"` strategy,
/// which returns pairs rather than one triplet per anchor, is not offered: the `all_triplets`
/// and `triplet_margin` miners cover it.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchEasyHardMiner {
    /// PML's default [`Strategy::Easy`].
    pub pos_strategy: Strategy,
    /// PML's default [`Strategy::Semihard`].
    pub neg_strategy: Strategy,
    /// Positives farther or nearer than this `[lo, hi]` are never picked.
    pub allowed_pos_range: Option<[f32; 2]>,
    /// Negatives outside this `[lo, hi]` are never picked.
    pub allowed_neg_range: Option<[f32; 2]>,
}

impl BatchEasyHardMiner {
    /// The miner; an error when both strategies are semihard (each would wait for the other).
    pub fn new(
        pos_strategy: Strategy,
        neg_strategy: Strategy,
        allowed_pos_range: Option<[f32; 2]>,
        allowed_neg_range: Option<[f32; 2]>,
    ) -> Result<Self, MinerError> {
        if pos_strategy == Strategy::Semihard && neg_strategy == Strategy::Semihard {
            return Err(MinerError::BadSetting(
                "pos_strategy and neg_strategy cannot both be semihard".into(),
            ));
        }
        Ok(Self { pos_strategy, neg_strategy, allowed_pos_range, allowed_neg_range })
    }
}

/// The pick of one side for one anchor: `(row, distance)`, or none.
type Pick = Option<(usize, f32)>;

/// The farthest (`farthest`) or nearest candidate of `row` among `candidates`, within `range`,
/// and beyond `threshold` on the side away from the pick (`d < t` when farthest, `d > t`
/// otherwise). Ties go to the lowest index.
fn pick(
    row: &[f32],
    candidates: impl Iterator<Item = usize>,
    farthest: bool,
    range: Option<[f32; 2]>,
    threshold: Option<f32>,
) -> Pick {
    let mut best: Pick = None;
    for j in candidates {
        let d = row[j];
        if range.is_some_and(|[lo, hi]| d < lo || d > hi) {
            continue;
        }
        if threshold.is_some_and(|t| if farthest { d >= t } else { d <= t }) {
            continue;
        }
        let better = best.is_none_or(|(_, b)| if farthest { d > b } else { d < b });
        if better {
            best = Some((j, d));
        }
    }
    best
}

impl TripletMiner for BatchEasyHardMiner {
    fn mine_checked(&self, features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError> {
        let b = labels.len();
        let d = normalised_distance_matrix(features)?;
        let mut t = Triplets::default();
        for a in 0..b {
            let row = &d[a * b..(a + 1) * b];
            let positives = || (0..b).filter(move |&j| j != a && labels[j] == labels[a]);
            let negatives = || (0..b).filter(move |&j| labels[j] != labels[a]);
            // Hard positives are the farthest; hard negatives the nearest.
            let pos_far = self.pos_strategy != Strategy::Easy;
            let neg_far = self.neg_strategy == Strategy::Easy;
            let (pos, neg) = if self.pos_strategy == Strategy::Semihard {
                let neg = pick(row, negatives(), neg_far, self.allowed_neg_range, None);
                let Some((_, t_n)) = neg else { continue };
                (pick(row, positives(), pos_far, self.allowed_pos_range, Some(t_n)), neg)
            } else if self.neg_strategy == Strategy::Semihard {
                let pos = pick(row, positives(), pos_far, self.allowed_pos_range, None);
                let Some((_, t_p)) = pos else { continue };
                (pos, pick(row, negatives(), neg_far, self.allowed_neg_range, Some(t_p)))
            } else {
                (
                    pick(row, positives(), pos_far, self.allowed_pos_range, None),
                    pick(row, negatives(), neg_far, self.allowed_neg_range, None),
                )
            };
            if let (Some((p, _)), Some((n, _))) = (pos, neg) {
                t.anchor.push(a);
                t.positive.push(p);
                t.negative.push(n);
            }
        }
        Ok(t)
    }
}
