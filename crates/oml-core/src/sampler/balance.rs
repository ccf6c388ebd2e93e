use std::collections::BTreeMap;

use super::base::{
    BatchSampler, SamplerError, check_batch_shape, epoch_rng, rows_by_label, sample_distinct,
    smart_sample,
};

/// Configuration of [`BalanceSampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceSamplerConfig {
    /// Labels per batch (OML `n_labels`, no default). At least 2.
    pub n_labels: usize,
    /// Samples per label in a batch (OML `n_instances`, no default). At least 2.
    pub n_instances: usize,
    /// Seed of the sampler's random streams. Default 0.
    #[serde(default)]
    pub seed: u64,
}

/// OML's `BalanceSampler` (`samplers/balance.py`): every batch has `n_labels` labels with
/// `n_instances` samples each (batch size `n_labels · n_instances`), the P x K batches that
/// triplet miners need.
///
/// Per epoch: `⌊L / n_labels⌋` batches; labels are drawn without replacement across the epoch
/// (each label at most once, the remainder left out); a label's samples are drawn without
/// replacement when it has at least `n_instances`, otherwise all of them plus the rest with
/// replacement.
#[derive(Debug, Clone)]
pub struct BalanceSampler {
    config: BalanceSamplerConfig,
    by_label: BTreeMap<u32, Vec<usize>>,
}

impl BalanceSampler {
    /// `labels[i]` is the label of dataset row `i`.
    pub fn new(labels: &[u32], config: BalanceSamplerConfig) -> Result<Self, SamplerError> {
        let by_label = rows_by_label(labels)?;
        check_batch_shape(config.n_labels, config.n_instances, by_label.len())?;
        Ok(Self { config, by_label })
    }
}

impl BatchSampler for BalanceSampler {
    fn batch_size(&self) -> usize {
        self.config.n_labels * self.config.n_instances
    }

    fn batches_per_epoch(&self) -> usize {
        self.by_label.len() / self.config.n_labels
    }

    fn epoch(&self, epoch: u64) -> Vec<Vec<usize>> {
        let mut rng = epoch_rng(self.config.seed, epoch);
        let labels: Vec<u32> = self.by_label.keys().copied().collect();
        let order = sample_distinct(&mut rng, &labels, labels.len());
        order
            .chunks_exact(self.config.n_labels)
            .map(|batch_labels| {
                batch_labels
                    .iter()
                    .flat_map(|label| {
                        smart_sample(&mut rng, &self.by_label[label], self.config.n_instances)
                    })
                    .collect()
            })
            .collect()
    }
}
