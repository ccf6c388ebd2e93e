use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Yields the batches of an epoch as lists of dataset row indices (OML's `IBatchSampler`).
///
/// Epoch `e` is a pure function of the sampler's seed and `e`: it draws from ChaCha8 stream `e`
/// of the seed. So a run is reproduced by its seed, and resuming at epoch `e` (after a crash)
/// needs nothing but `e`. (OML draws from numpy's global random state.)
pub trait BatchSampler {
    /// Rows per batch.
    fn batch_size(&self) -> usize;
    /// Batches per epoch.
    fn batches_per_epoch(&self) -> usize;
    /// All batches of epoch `epoch`.
    fn epoch(&self, epoch: u64) -> Vec<Vec<usize>>;
}

/// Parameters a sampler cannot work with, or data it cannot sample from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplerError {
    /// Fewer than 2 labels per batch (the value given): no negatives.
    #[error("n_labels must be at least 2 (a batch needs two labels for negatives), got {0}")]
    TooFewLabelsPerBatch(usize),
    /// More labels per batch than the data has.
    #[error("n_labels = {n_labels} but the data has only {available} labels")]
    NotEnoughLabels {
        /// Labels asked for per batch.
        n_labels: usize,
        /// Labels in the data.
        available: usize,
    },
    /// Fewer than 2 samples per label (the value given): no positives.
    #[error("n_instances must be at least 2 (an anchor needs a positive), got {0}")]
    TooFewInstances(usize),
    /// A label with a single sample.
    #[error("label {label} has only {count} sample; every label needs at least 2")]
    SingletonLabel {
        /// The label.
        label: u32,
        /// Its samples.
        count: usize,
    },
    /// `n_categories` is 0 or more than the data has.
    #[error("n_categories must be between 1 and the {available} categories, got {n_categories}")]
    BadCategoryCount {
        /// Categories asked for per batch.
        n_categories: usize,
        /// Categories in the data.
        available: usize,
    },
    /// A category with fewer labels than a batch takes from it.
    #[error(
        "category {category} has {available} labels, fewer than n_labels = {n_labels} (set resample_labels to sample with repetition)"
    )]
    SmallCategory {
        /// The category.
        category: u32,
        /// Its labels.
        available: usize,
        /// Labels a batch takes per category.
        n_labels: usize,
    },
    /// One category per row was expected.
    #[error("labels and categories have different lengths ({labels} and {categories})")]
    LengthMismatch {
        /// Rows with a label.
        labels: usize,
        /// Rows with a category.
        categories: usize,
    },
    /// An epoch of no batches.
    #[error("epoch_size must be at least 1")]
    ZeroEpochSize,
    /// No rows to sample from.
    #[error("there are no samples")]
    Empty,
    /// A value out of range that needs no data to see (see `SamplerConfig::check`).
    #[error("{0}")]
    Invalid(String),
}

/// Rows of each label, labels ascending; checks every label has at least 2 rows.
pub(crate) fn rows_by_label(labels: &[u32]) -> Result<BTreeMap<u32, Vec<usize>>, SamplerError> {
    if labels.is_empty() {
        return Err(SamplerError::Empty);
    }
    let mut by_label: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (row, &label) in labels.iter().enumerate() {
        by_label.entry(label).or_default().push(row);
    }
    if let Some((&label, rows)) = by_label.iter().find(|(_, rows)| rows.len() < 2) {
        return Err(SamplerError::SingletonLabel { label, count: rows.len() });
    }
    Ok(by_label)
}

pub(crate) fn check_batch_shape(
    n_labels: usize,
    n_instances: usize,
    available: usize,
) -> Result<(), SamplerError> {
    if n_labels < 2 {
        return Err(SamplerError::TooFewLabelsPerBatch(n_labels));
    }
    if n_labels > available {
        return Err(SamplerError::NotEnoughLabels { n_labels, available });
    }
    if n_instances < 2 {
        return Err(SamplerError::TooFewInstances(n_instances));
    }
    Ok(())
}

/// The random stream of one epoch.
pub(crate) fn epoch_rng(seed: u64, epoch: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    rng
}

/// `k` distinct items in random order.
pub(crate) fn sample_distinct<T: Copy>(rng: &mut ChaCha8Rng, items: &[T], k: usize) -> Vec<T> {
    rand::seq::index::sample(rng, items.len(), k).into_iter().map(|i| items[i]).collect()
}

/// OML's `smart_sample` (`utils/misc.py:117`): `k` items without repetition when there are
/// enough, otherwise all of them (shuffled) and the rest drawn with repetition.
pub(crate) fn smart_sample<T: Copy>(rng: &mut ChaCha8Rng, items: &[T], k: usize) -> Vec<T> {
    if items.len() >= k {
        return sample_distinct(rng, items, k);
    }
    let mut out = items.to_vec();
    out.shuffle(rng);
    out.extend((items.len()..k).map(|_| items[rng.random_range(0..items.len())]));
    out
}
