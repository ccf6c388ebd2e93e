use std::collections::{BTreeMap, BTreeSet};

use super::base::{BatchSampler, SamplerError, epoch_rng, sample_distinct, smart_sample};
use super::category_balance::{CategoryIndex, category_index};

/// Configuration of [`DistinctCategoryBalanceSampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistinctCategoryBalanceSamplerConfig {
    /// Categories per batch (no default), between 1 and the number of categories.
    pub n_categories: usize,
    /// Labels per category in a batch (no default). At least 2.
    pub n_labels: usize,
    /// Samples per label in a batch (no default). At least 2.
    pub n_instances: usize,
    /// Batches per epoch (no default). At least 1.
    pub epoch_size: usize,
    /// Seed of the sampler's random streams. Default 0.
    #[serde(default)]
    pub seed: u64,
}

/// OML's `DistinctCategoryBalanceSampler` (`samplers/distinct_category_balance.py`): like
/// [`super::CategoryBalanceSampler`], but labels are not reused until every label of their
/// category has been used.
///
/// Per batch: choose `n_categories` among the categories that still have unused labels (when
/// fewer than `n_categories` remain, everything is reset); per category, `n_labels` unused
/// labels, or all unused ones topped up with distinct already-used ones; `n_instances` samples
/// per label (`smart_sample`). An epoch is `epoch_size` batches.
#[derive(Debug, Clone)]
pub struct DistinctCategoryBalanceSampler {
    config: DistinctCategoryBalanceSamplerConfig,
    by_label: BTreeMap<u32, Vec<usize>>,
    labels_of_category: BTreeMap<u32, Vec<u32>>,
}

impl DistinctCategoryBalanceSampler {
    /// `labels[i]` and `categories[i]` belong to dataset row `i`.
    pub fn new(
        labels: &[u32],
        categories: &[u32],
        config: DistinctCategoryBalanceSamplerConfig,
    ) -> Result<Self, SamplerError> {
        let shape = (config.n_categories, config.n_labels, config.n_instances);
        let CategoryIndex { by_label, labels_of_category } =
            category_index(labels, categories, shape, false)?;
        if config.epoch_size == 0 {
            return Err(SamplerError::ZeroEpochSize);
        }
        Ok(Self { config, by_label, labels_of_category })
    }

    fn fresh_state(&self) -> (BTreeMap<u32, BTreeSet<u32>>, BTreeMap<u32, BTreeSet<u32>>) {
        let unused = self
            .labels_of_category
            .iter()
            .map(|(&c, l)| (c, l.iter().copied().collect()))
            .collect();
        (unused, BTreeMap::new())
    }
}

impl BatchSampler for DistinctCategoryBalanceSampler {
    fn batch_size(&self) -> usize {
        self.config.n_categories * self.config.n_labels * self.config.n_instances
    }

    fn batches_per_epoch(&self) -> usize {
        self.config.epoch_size
    }

    fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut rng = epoch_rng(self.config.seed, epoch);
        let (mut unused, mut used) = self.fresh_state();
        let n_labels = self.config.n_labels;
        (0..self.config.epoch_size)
            .map(|_| {
                if unused.len() < self.config.n_categories {
                    (unused, used) = self.fresh_state();
                }
                let available: Vec<u32> = unused.keys().copied().collect();
                let chosen = sample_distinct(&mut rng, &available, self.config.n_categories);
                let mut batch = Vec::with_capacity(self.batch_size());
                for category in chosen {
                    let fresh: Vec<u32> = unused[&category].iter().copied().collect();
                    let labels = if fresh.len() >= n_labels {
                        sample_distinct(&mut rng, &fresh, n_labels)
                    } else {
                        let old: Vec<u32> = used
                            .get(&category)
                            .map(|s: &BTreeSet<u32>| s.iter().copied().collect())
                            .unwrap_or_default();
                        let mut labels = fresh.clone();
                        labels.extend(sample_distinct(
                            &mut rng,
                            &old,
                            (n_labels - fresh.len()).min(old.len()),
                        ));
                        labels
                    };
                    for label in &labels {
                        batch.extend(smart_sample(
                            &mut rng,
                            &self.by_label[label],
                            self.config.n_instances,
                        ));
                    }
                    let left = unused.get_mut(&category).map(|set| {
                        labels.iter().for_each(|l| {
                            set.remove(l);
                        });
                        set.len()
                    });
                    used.entry(category).or_default().extend(labels);
                    if left == Some(0) {
                        unused.remove(&category);
                    }
                }
                batch
            })
            .collect()
    }
}
