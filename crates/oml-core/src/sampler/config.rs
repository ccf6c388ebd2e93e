//! A sampler chosen by name, as a config file names it (the trainer's `[sampler]`).

use serde::{Deserialize, Serialize};

use super::balance::{BalanceSampler, BalanceSamplerConfig};
use super::base::{BatchSampler, SamplerError};
use super::category_balance::{CategoryBalanceSampler, CategoryBalanceSamplerConfig};
use super::distinct_category_balance::{
    DistinctCategoryBalanceSampler, DistinctCategoryBalanceSamplerConfig,
};

/// Largest batch a sampler may draw (`n_categories x n_labels x n_instances`): a config with
/// more is refused before any data is read.
pub const MAX_BATCH: usize = 1 << 16;
/// Most batches in an epoch of the distinct-category sampler.
pub const MAX_EPOCH_SIZE: usize = 1 << 24;

/// A sampler by name, e.g. `{ name = "balance", n_labels = 8, n_instances = 4 }`; the seed is
/// the run's, given to [`SamplerConfig::init`]. The fields are those of the sampler's own
/// config ([`BalanceSamplerConfig`], [`CategoryBalanceSamplerConfig`],
/// [`DistinctCategoryBalanceSamplerConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum SamplerConfig {
    /// `n_labels × n_instances` batches (OML `BalanceSampler`).
    Balance {
        /// Labels per batch.
        n_labels: usize,
        /// Samples per label.
        n_instances: usize,
    },
    /// Batches from `n_categories` categories (OML `CategoryBalanceSampler`).
    CategoryBalance {
        /// Categories per batch.
        n_categories: usize,
        /// Labels per category.
        n_labels: usize,
        /// Samples per label.
        n_instances: usize,
        /// Draw labels with repetition in categories with too few. Default false.
        #[serde(default)]
        resample_labels: bool,
        /// Draw categories in proportion to their labels. Default false.
        #[serde(default)]
        weight_categories: bool,
    },
    /// Batches from distinct categories, `epoch_size` batches (OML
    /// `DistinctCategoryBalanceSampler`).
    DistinctCategoryBalance {
        /// Categories per batch.
        n_categories: usize,
        /// Labels per category.
        n_labels: usize,
        /// Samples per label.
        n_instances: usize,
        /// Batches per epoch.
        epoch_size: usize,
    },
}

/// A sampler behind a trait object, as [`SamplerConfig::init`] makes it.
pub type DynSampler = Box<dyn BatchSampler + Send + Sync>;

impl SamplerConfig {
    /// Whether the sampler draws by category (every row then needs one).
    pub fn needs_categories(&self) -> bool {
        !matches!(self, Self::Balance { .. })
    }

    /// `(n_categories, n_labels, n_instances)`: the batch is their product.
    pub fn batch_shape(&self) -> (usize, usize, usize) {
        match *self {
            Self::Balance { n_labels, n_instances } => (1, n_labels, n_instances),
            Self::CategoryBalance { n_categories, n_labels, n_instances, .. }
            | Self::DistinctCategoryBalance { n_categories, n_labels, n_instances, .. } => {
                (n_categories, n_labels, n_instances)
            }
        }
    }

    /// The checks that need no data, one message per problem (keys as a config writes them,
    /// under `sampler.`): counts at least 1, the batch at most [`MAX_BATCH`], the epoch at most
    /// [`MAX_EPOCH_SIZE`]. The data-dependent checks come with [`SamplerConfig::init`].
    pub fn check(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Self::DistinctCategoryBalance { epoch_size, .. } = *self
            && !(1..=MAX_EPOCH_SIZE).contains(&epoch_size)
        {
            errors.push(format!(
                "sampler.epoch_size must be 1 to {MAX_EPOCH_SIZE}, got {epoch_size}"
            ));
        }
        let (n_categories, n_labels, n_instances) = self.batch_shape();
        for (key, n) in
            [("n_categories", n_categories), ("n_labels", n_labels), ("n_instances", n_instances)]
        {
            if n == 0 {
                errors.push(format!("sampler.{key} must be at least 1"));
            }
        }
        match n_categories.checked_mul(n_labels).and_then(|n| n.checked_mul(n_instances)) {
            Some(batch) if batch <= MAX_BATCH => {}
            _ => errors.push(format!(
                "sampler: a batch of {n_categories} x {n_labels} x {n_instances} images is over \
                 the limit of {MAX_BATCH}"
            )),
        }
        errors
    }

    /// The sampler over rows with `labels` (and `categories`, which the category samplers
    /// need: [`SamplerError::LengthMismatch`] when they are missing or of another length).
    pub fn init(
        &self,
        labels: &[u32],
        categories: Option<&[u32]>,
        seed: u64,
    ) -> Result<DynSampler, SamplerError> {
        if let Err(message) = self.check().into_iter().next().map_or(Ok(()), Err) {
            return Err(SamplerError::Invalid(message));
        }
        let categories = || {
            categories.ok_or(SamplerError::LengthMismatch { labels: labels.len(), categories: 0 })
        };
        Ok(match *self {
            Self::Balance { n_labels, n_instances } => Box::new(BalanceSampler::new(
                labels,
                BalanceSamplerConfig { n_labels, n_instances, seed },
            )?),
            Self::CategoryBalance {
                n_categories,
                n_labels,
                n_instances,
                resample_labels,
                weight_categories,
            } => Box::new(CategoryBalanceSampler::new(
                labels,
                categories()?,
                CategoryBalanceSamplerConfig {
                    n_categories,
                    n_labels,
                    n_instances,
                    resample_labels,
                    weight_categories,
                    seed,
                },
            )?),
            Self::DistinctCategoryBalance { n_categories, n_labels, n_instances, epoch_size } => {
                Box::new(DistinctCategoryBalanceSampler::new(
                    labels,
                    categories()?,
                    DistinctCategoryBalanceSamplerConfig {
                        n_categories,
                        n_labels,
                        n_instances,
                        epoch_size,
                        seed,
                    },
                )?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_batch_over_the_limit_is_refused_before_any_data() {
        let c = SamplerConfig::Balance { n_labels: 1 << 9, n_instances: 1 << 9 };
        assert!(c.check()[0].contains("over the limit"), "{:?}", c.check());
        let err = c.init(&[0, 0, 1, 1], None, 0).err().unwrap();
        assert!(matches!(err, SamplerError::Invalid(_)), "{err}");
        let c = SamplerConfig::CategoryBalance {
            n_categories: usize::MAX,
            n_labels: 2,
            n_instances: 2,
            resample_labels: false,
            weight_categories: false,
        };
        assert_eq!(c.check().len(), 1, "an overflowing product is one error");
    }

    #[test]
    fn the_category_samplers_need_categories_and_balance_does_not() {
        let labels = [0, 0, 1, 1, 2, 2, 3, 3];
        let balance = SamplerConfig::Balance { n_labels: 2, n_instances: 2 };
        assert_eq!(balance.init(&labels, None, 3).unwrap().batch_size(), 4);
        let by_category = SamplerConfig::DistinctCategoryBalance {
            n_categories: 1,
            n_labels: 2,
            n_instances: 2,
            epoch_size: 3,
        };
        assert!(by_category.needs_categories() && !balance.needs_categories());
        assert!(by_category.init(&labels, None, 3).is_err());
        let s = by_category.init(&labels, Some(&[0, 0, 0, 0, 1, 1, 1, 1]), 3).unwrap();
        assert_eq!(s.batches_per_epoch(), 3);
    }
}
