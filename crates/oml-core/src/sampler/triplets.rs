use std::collections::BTreeMap;

use rand::RngExt as _;
use rand::seq::SliceRandom;

use super::base::{BatchSampler, SamplerError, epoch_rng, rows_by_label};

/// Most triplets a [`TripletSampler`] takes (given, or per batch).
pub const MAX_TRIPLETS: usize = 1 << 24;

/// Where a [`TripletSampler`]'s triplets come from.
#[derive(Debug, Clone)]
enum Source {
    /// Fixed `(anchor, positive, negative)` rows, shuffled each epoch.
    Given(Vec<[usize; 3]>),
    /// Drawn from the labels each epoch.
    Drawn { labels: Vec<u32>, by_label: BTreeMap<u32, Vec<usize>> },
}

/// Batches laid out as triplets for OML's `TripletLossPlain`: rows `3t, 3t+1, 3t+2` of a batch
/// are the anchor, positive and negative of triplet `t` (OML's `get_tri_ids_in_plain`), with
/// `per_batch` triplets per batch (the last batch of an epoch may hold fewer).
///
/// The triplets are either given (a user's own supervision, e.g. judged by people; OML trains
/// `TripletLossPlain` on such a list with `TriDataset`), shuffled each epoch, or drawn from the
/// labels: each epoch, every row in random order is the anchor of one triplet with a positive
/// drawn uniformly from the other rows of its label and a negative drawn from a uniformly drawn
/// other label. Every epoch is a pure function of `(seed, epoch)`.
#[derive(Debug, Clone)]
pub struct TripletSampler {
    source: Source,
    per_batch: usize,
    seed: u64,
}

fn check_per_batch(per_batch: usize) -> Result<(), SamplerError> {
    if per_batch == 0 || per_batch > MAX_TRIPLETS {
        return Err(SamplerError::Invalid(format!(
            "triplets per batch must be between 1 and {MAX_TRIPLETS}, got {per_batch}"
        )));
    }
    Ok(())
}

impl TripletSampler {
    /// Given triplets of row indices below `n_rows`.
    pub fn given(
        triplets: Vec<[usize; 3]>,
        n_rows: usize,
        per_batch: usize,
        seed: u64,
    ) -> Result<Self, SamplerError> {
        check_per_batch(per_batch)?;
        if triplets.is_empty() {
            return Err(SamplerError::Empty);
        }
        if triplets.len() > MAX_TRIPLETS {
            return Err(SamplerError::Invalid(format!(
                "{} triplets: at most {MAX_TRIPLETS} are taken",
                triplets.len()
            )));
        }
        if let Some((t, row)) = triplets
            .iter()
            .enumerate()
            .find_map(|(t, tri)| tri.iter().find(|&&r| r >= n_rows).map(|&r| (t, r)))
        {
            return Err(SamplerError::Invalid(format!(
                "triplet {t} names row {row} of {n_rows} rows"
            )));
        }
        Ok(Self { source: Source::Given(triplets), per_batch, seed })
    }

    /// Triplets drawn from `labels` (`labels[i]` is row `i`'s): every label needs two rows,
    /// and there must be two labels.
    pub fn drawn(labels: &[u32], per_batch: usize, seed: u64) -> Result<Self, SamplerError> {
        check_per_batch(per_batch)?;
        let by_label = rows_by_label(labels)?;
        if by_label.len() < 2 {
            return Err(SamplerError::NotEnoughLabels { n_labels: 2, available: by_label.len() });
        }
        Ok(Self { source: Source::Drawn { labels: labels.to_vec(), by_label }, per_batch, seed })
    }

    fn n_triplets(&self) -> usize {
        match &self.source {
            Source::Given(t) => t.len(),
            Source::Drawn { labels, .. } => labels.len(),
        }
    }

    /// The epoch's triplets, in the order they are batched.
    pub fn triplets(&self, epoch: u64) -> Vec<[usize; 3]> {
        let mut rng = epoch_rng(self.seed, epoch);
        match &self.source {
            Source::Given(given) => {
                let mut order = given.clone();
                order.shuffle(&mut rng);
                order
            }
            Source::Drawn { labels, by_label } => {
                let keys: Vec<u32> = by_label.keys().copied().collect();
                let mut anchors: Vec<usize> = (0..labels.len()).collect();
                anchors.shuffle(&mut rng);
                anchors
                    .into_iter()
                    .map(|a| {
                        let own = &by_label[&labels[a]];
                        // Another row of the label: an index among the others, skipping `a`.
                        let at = own.iter().position(|&r| r == a).unwrap_or(0);
                        let mut p = rng.random_range(0..own.len() - 1);
                        if p >= at {
                            p += 1;
                        }
                        // Another label, the same way, then any of its rows.
                        let own_key = keys.binary_search(&labels[a]).unwrap_or(0);
                        let mut k = rng.random_range(0..keys.len() - 1);
                        if k >= own_key {
                            k += 1;
                        }
                        let rows = &by_label[&keys[k]];
                        [a, own[p], rows[rng.random_range(0..rows.len())]]
                    })
                    .collect()
            }
        }
    }
}

impl BatchSampler for TripletSampler {
    fn batch_size(&self) -> usize {
        3 * self.per_batch
    }

    fn batches_per_epoch(&self) -> usize {
        self.n_triplets().div_ceil(self.per_batch)
    }

    fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        self.triplets(epoch)
            .chunks(self.per_batch)
            .map(|chunk| chunk.iter().flatten().copied().collect())
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn drawn_triplets_have_a_positive_and_a_negative_and_repeat_per_seed() {
        let labels = [0, 0, 1, 1, 1, 2, 2];
        let s = TripletSampler::drawn(&labels, 3, 5).unwrap();
        assert_eq!((s.batch_size(), s.batches_per_epoch()), (9, 3));
        let epoch = s.epoch(1);
        assert_eq!(epoch.iter().map(Vec::len).collect::<Vec<_>>(), vec![9, 9, 3]);
        let triplets = s.triplets(1);
        let mut anchors: Vec<usize> = triplets.iter().map(|t| t[0]).collect();
        anchors.sort_unstable();
        assert_eq!(anchors, (0..7).collect::<Vec<_>>(), "every row anchors once");
        for [a, p, n] in &triplets {
            assert!(a != p && labels[*a] == labels[*p] && labels[*a] != labels[*n]);
        }
        assert_eq!(s.epoch(1), epoch);
        assert_ne!(s.epoch(2), epoch);
    }

    #[test]
    fn given_triplets_are_shuffled_and_checked() {
        let given = vec![[0, 1, 2], [3, 4, 5], [6, 7, 8]];
        let s = TripletSampler::given(given.clone(), 9, 2, 0).unwrap();
        let mut seen = s.triplets(0);
        seen.sort_unstable();
        assert_eq!(seen, given);
        assert_eq!(s.epoch(0)[0].len(), 6);
        let e = TripletSampler::given(vec![[0, 1, 9]], 9, 2, 0).unwrap_err();
        assert!(e.to_string().contains("triplet 0 names row 9 of 9 rows"), "{e}");
        assert!(TripletSampler::given(vec![], 9, 2, 0).is_err());
        assert!(TripletSampler::given(given, 9, 0, 0).is_err());
        assert!(TripletSampler::drawn(&[0, 0], 1, 0).is_err(), "one label has no negatives");
        assert!(TripletSampler::drawn(&[0, 1, 1], 1, 0).is_err(), "a label of one row");
    }
}
