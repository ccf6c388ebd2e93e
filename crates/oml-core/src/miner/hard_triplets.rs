use burn::tensor::Tensor;

use super::base::{MinerError, TripletMiner, Triplets, check_labels, distance_matrix};

/// Batch-hard mining (OML `HardTripletsMiner`, `miners/inbatch_hard_tri.py`): one triplet per
/// batch row as anchor, with its farthest positive and its nearest negative (on detached
/// Euclidean distances).
///
/// As in OML, the anchor itself counts among its positives (at distance 0), so it is chosen
/// only if every positive coincides with it; ties go to the lowest index.
#[derive(Debug, Clone, Copy, Default)]
pub struct HardTripletsMiner;

impl TripletMiner for HardTripletsMiner {
    fn sample(&self, features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError> {
        let n = features.dims()[0];
        check_labels(n, labels)?;
        let dist = distance_matrix(features)?;
        let mut t = Triplets::default();
        for (a, row) in dist.chunks_exact(n).enumerate() {
            let (mut pos, mut neg) = (None::<(usize, f32)>, None::<(usize, f32)>);
            for (j, &d) in row.iter().enumerate() {
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
