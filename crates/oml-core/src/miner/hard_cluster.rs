use std::collections::BTreeMap;

use burn::tensor::{Int, Tensor, TensorData};

use super::base::{MinedTriplets, MinerError, TripletSource, check_labels};
use crate::pairwise::pairwise_euclidean_self;

/// OML `HardClusterMiner` (`miners/inbatch_hard_cluster.py`): one triplet per label of the
/// batch, made of feature vectors rather than rows: the anchor is the label's mean vector, the
/// positive its member farthest from that mean, the negative the nearest mean of another label.
/// Needs the same number of samples for every label (a P x K batch). Gradients flow through
/// the means and the chosen members.
#[derive(Debug, Clone, Copy, Default)]
pub struct HardClusterMiner;

fn readback(t: Tensor<2>) -> Result<Vec<f32>, MinerError> {
    t.detach().try_into_vec_as::<f32>().map_err(|e| MinerError::Readback(format!("{e:?}")))
}

impl TripletSource for HardClusterMiner {
    fn mine(&self, features: Tensor<2>, labels: &[u32]) -> Result<MinedTriplets, MinerError> {
        let [n, dim] = features.dims();
        check_labels(n, labels)?;
        let mut rows_of: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, &l) in labels.iter().enumerate() {
            rows_of.entry(l).or_default().push(i);
        }
        let k = rows_of.values().next().map_or(0, Vec::len);
        if let Some((&label, rows)) = rows_of.iter().find(|(_, r)| r.len() != k) {
            return Err(MinerError::Unbalanced { label, count: rows.len(), expected: k });
        }
        let n_labels = rows_of.len();
        let device = features.device();
        let index = |ids: Vec<usize>| {
            let ids: Vec<i64> =
                ids.into_iter().map(|i| i64::try_from(i).unwrap_or(i64::MAX)).collect();
            let len = ids.len();
            Tensor::<1, Int>::from_data(TensorData::new(ids, [len]), &device)
        };
        let order: Vec<usize> = rows_of.values().flatten().copied().collect();
        let grouped = features.clone().select(0, index(order.clone())).reshape([n_labels, k, dim]);
        let means = grouped.clone().mean_dim(1); // [L, 1, D]
        let intra = readback((grouped - means.clone()).square().sum_dim(2).reshape([n_labels, k]))?;
        let means = means.reshape([n_labels, dim]);
        let mut inter = readback(pairwise_euclidean_self(means.clone()))?;
        for l in 0..n_labels {
            inter[l * n_labels + l] = f32::INFINITY;
        }
        // First maximum / minimum on ties, as torch's max/min.
        let arg = |row: &[f32], better: fn(f32, f32) -> bool| {
            row.iter()
                .enumerate()
                .fold(0, |best, (j, &v)| if better(v, row[best]) { j } else { best })
        };
        let positives: Vec<usize> = intra
            .chunks_exact(k)
            .enumerate()
            .map(|(l, row)| order[l * k + arg(row, |v, b| v > b)])
            .collect();
        let negatives: Vec<usize> =
            inter.chunks_exact(n_labels).map(|row| arg(row, |v, b| v < b)).collect();
        Ok(MinedTriplets {
            anchor: means.clone(),
            positive: features.select(0, index(positives)),
            negative: means.select(0, index(negatives)),
            is_original: None,
        })
    }
}
