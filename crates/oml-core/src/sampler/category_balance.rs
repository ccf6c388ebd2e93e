use std::collections::BTreeMap;

use super::base::{
    BatchSampler, SamplerError, check_batch_shape, epoch_rng, rows_by_label, smart_sample,
};

/// Configuration of [`CategoryBalanceSampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryBalanceSamplerConfig {
    /// Categories per batch (no default), between 1 and the number of categories.
    pub n_categories: usize,
    /// Labels per category in a batch (no default). At least 2.
    pub n_labels: usize,
    /// Samples per label in a batch (no default). At least 2.
    pub n_instances: usize,
    /// Draw a category's labels with repetition when it has fewer than `n_labels` (default
    /// `false`: such a category is an error).
    #[serde(default)]
    pub resample_labels: bool,
    /// Draw categories with probability proportional to their number of labels (default
    /// `true`), else uniformly.
    #[serde(default = "yes")]
    pub weight_categories: bool,
    /// Seed of the sampler's random streams. Default 0.
    #[serde(default)]
    pub seed: u64,
}

fn yes() -> bool {
    true
}

/// OML's `CategoryBalanceSampler` (`samplers/category_balance.py`): each batch takes
/// `n_categories` distinct categories, `n_labels` labels of each and `n_instances` samples of
/// each label (batch size `n_categories · n_labels · n_instances`).
///
/// An epoch has `⌈L / n_labels⌉` batches, each drawn independently (labels can repeat across
/// batches); labels and samples are drawn as `smart_sample` does (without repetition when
/// there are enough).
#[derive(Debug, Clone)]
pub struct CategoryBalanceSampler {
    config: CategoryBalanceSamplerConfig,
    by_label: BTreeMap<u32, Vec<usize>>,
    /// Category → its labels, ascending; categories ascending.
    labels_of_category: BTreeMap<u32, Vec<u32>>,
}

/// What both category samplers build and check: rows of each label, and labels of each
/// category (a label's category is that of its first row).
pub(crate) struct CategoryIndex {
    pub(crate) by_label: BTreeMap<u32, Vec<usize>>,
    pub(crate) labels_of_category: BTreeMap<u32, Vec<u32>>,
}

/// Checks OML's category-sampler conditions; `small_categories_ok` allows categories with fewer
/// than `n_labels` labels (CategoryBalanceSampler's `resample_labels`).
pub(crate) fn category_index(
    labels: &[u32],
    categories: &[u32],
    (n_categories, n_labels, n_instances): (usize, usize, usize),
    small_categories_ok: bool,
) -> Result<CategoryIndex, SamplerError> {
    if labels.len() != categories.len() {
        return Err(SamplerError::LengthMismatch {
            labels: labels.len(),
            categories: categories.len(),
        });
    }
    let by_label = rows_by_label(labels)?;
    let mut labels_of_category: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (&label, rows) in &by_label {
        labels_of_category.entry(categories[rows[0]]).or_default().push(label);
    }
    check_batch_shape(n_labels, n_instances, by_label.len())?;
    let available = labels_of_category.len();
    if n_categories < 1 || n_categories > available {
        return Err(SamplerError::BadCategoryCount { n_categories, available });
    }
    if !small_categories_ok
        && let Some((&category, labels)) =
            labels_of_category.iter().find(|(_, l)| l.len() < n_labels)
    {
        return Err(SamplerError::SmallCategory { category, available: labels.len(), n_labels });
    }
    Ok(CategoryIndex { by_label, labels_of_category })
}

impl CategoryBalanceSampler {
    /// `labels[i]` and `categories[i]` belong to dataset row `i`.
    pub fn new(
        labels: &[u32],
        categories: &[u32],
        config: CategoryBalanceSamplerConfig,
    ) -> Result<Self, SamplerError> {
        let shape = (config.n_categories, config.n_labels, config.n_instances);
        let CategoryIndex { by_label, labels_of_category } =
            category_index(labels, categories, shape, config.resample_labels)?;
        Ok(Self { config, by_label, labels_of_category })
    }
}

impl BatchSampler for CategoryBalanceSampler {
    fn batch_size(&self) -> usize {
        self.config.n_categories * self.config.n_labels * self.config.n_instances
    }

    fn batches_per_epoch(&self) -> usize {
        self.by_label.len().div_ceil(self.config.n_labels)
    }

    fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut rng = epoch_rng(self.config.seed, epoch);
        let categories: Vec<(&u32, &Vec<u32>)> = self.labels_of_category.iter().collect();
        let weight = |i: usize| {
            if self.config.weight_categories { categories[i].1.len() as f64 } else { 1.0 }
        };
        (0..self.batches_per_epoch())
            .map(|_| {
                let chosen = rand::seq::index::sample_weighted(
                    &mut rng,
                    categories.len(),
                    weight,
                    self.config.n_categories,
                )
                .map(|v| v.into_iter().collect::<Vec<_>>())
                .unwrap_or_else(|_| (0..self.config.n_categories).collect());
                let mut batch = Vec::with_capacity(self.batch_size());
                for c in chosen {
                    for label in smart_sample(&mut rng, categories[c].1, self.config.n_labels) {
                        batch.extend(smart_sample(
                            &mut rng,
                            &self.by_label[&label],
                            self.config.n_instances,
                        ));
                    }
                }
                batch
            })
            .collect()
    }
}
