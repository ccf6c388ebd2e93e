use burn::tensor::Tensor;

use super::base::{MinerError, TripletMiner, Triplets, distance_matrix};

/// Batch-hard mining (OML `HardTripletsMiner`, `miners/inbatch_hard_tri.py`): one triplet per
/// batch row as anchor, with its farthest positive and its nearest negative (on detached
/// Euclidean distances).
///
/// As in OML, the anchor itself counts among its positives (at distance 0), so it is chosen
/// only if every positive coincides with it; ties go to the lowest index.
#[derive(Debug, Clone, Copy, Default)]
pub struct HardTripletsMiner;

impl HardTripletsMiner {
    /// For each anchor, its farthest positive and nearest negative among the rows `pairs`
    /// allows; anchors without both make no triplet.
    fn hardest(
        features: &Tensor<2>,
        labels: &[u32],
        pairs: impl Fn(usize, usize) -> bool,
    ) -> Result<Triplets, MinerError> {
        let n = features.dims()[0];
        let dist = distance_matrix(features)?;
        let mut t = Triplets::default();
        for (a, row) in dist.chunks_exact(n).enumerate() {
            let (mut pos, mut neg) = (None::<(usize, f32)>, None::<(usize, f32)>);
            for (j, &d) in row.iter().enumerate() {
                if !pairs(a, j) {
                    continue;
                }
                if labels[j] == labels[a] {
                    if pos.is_none_or(|(_, best)| d > best) {
                        pos = Some((j, d));
                    }
                } else if neg.is_none_or(|(_, best)| d < best) {
                    neg = Some((j, d));
                }
            }
            if let (Some((p, _)), Some((ng, _))) = (pos, neg) {
                t.anchor.push(a);
                t.positive.push(p);
                t.negative.push(ng);
            }
        }
        Ok(t)
    }
}

impl TripletMiner for HardTripletsMiner {
    fn mine_checked(&self, features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError> {
        Self::hardest(features, labels, |_, _| true)
    }

    /// The hardest positive and negative among the rows of other domains than the anchor's.
    fn mine_checked_across(
        &self,
        features: &Tensor<2>,
        labels: &[u32],
        domains: &[u32],
    ) -> Result<Triplets, MinerError> {
        Self::hardest(features, labels, |a, j| domains[j] != domains[a])
    }
}
