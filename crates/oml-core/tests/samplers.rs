//! OML's structural guarantees of every sampler, over many seeds; reproducibility; errors.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use oml_core::sampler::{
    BalanceSampler, BalanceSamplerConfig, BatchSampler, CategoryBalanceSampler,
    CategoryBalanceSamplerConfig, DistinctCategoryBalanceSampler,
    DistinctCategoryBalanceSamplerConfig, SamplerError,
};

/// 23 labels with 2..=7 rows each (so some labels have fewer rows than n_instances), rows
/// interleaved; category of label l is l % 3.
fn dataset() -> (Vec<u32>, Vec<u32>) {
    let mut labels = Vec::new();
    for round in 0..7u32 {
        for label in 0..23u32 {
            if round < 2 + label % 6 {
                labels.push(label);
            }
        }
    }
    let categories = labels.iter().map(|l| l % 3).collect();
    (labels, categories)
}

/// Groups a batch by label, checking the rows exist.
fn by_label(batch: &[usize], labels: &[u32]) -> BTreeMap<u32, Vec<usize>> {
    let mut out: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &row in batch {
        out.entry(labels[row]).or_default().push(row);
    }
    out
}

fn label_count(labels: &[u32], label: u32) -> usize {
    labels.iter().filter(|&&l| l == label).count()
}

#[test]
fn balance_sampler_guarantees() {
    let (labels, _) = dataset();
    for seed in 0..50 {
        let config = BalanceSamplerConfig { n_labels: 4, n_instances: 3, seed };
        let sampler = BalanceSampler::new(&labels, config).unwrap();
        assert_eq!(sampler.batch_size(), 12);
        assert_eq!(sampler.batches_per_epoch(), 23 / 4);
        for epoch in 0..3 {
            let batches = sampler.epoch(epoch);
            assert_eq!(batches.len(), 5);
            let mut seen = BTreeSet::new();
            for batch in &batches {
                assert_eq!(batch.len(), 12);
                let groups = by_label(batch, &labels);
                assert_eq!(groups.len(), 4, "n_labels labels per batch");
                for (label, rows) in groups {
                    assert!(seen.insert(label), "label {label} twice in one epoch");
                    assert_eq!(rows.len(), 3, "n_instances per label");
                    let distinct: BTreeSet<_> = rows.iter().collect();
                    let expected = 3.min(label_count(&labels, label));
                    assert_eq!(distinct.len(), expected, "without replacement when enough");
                }
            }
        }
    }
}

#[test]
fn a_seed_reproduces_a_run_and_epochs_differ() {
    let (labels, categories) = dataset();
    let config = BalanceSamplerConfig { n_labels: 3, n_instances: 2, seed: 7 };
    let a = BalanceSampler::new(&labels, config).unwrap();
    let b = BalanceSampler::new(&labels, config).unwrap();
    assert_eq!(a.epoch(4), b.epoch(4));
    assert_ne!(a.epoch(4), a.epoch(5));
    let other = BalanceSampler::new(&labels, BalanceSamplerConfig { seed: 8, ..config }).unwrap();
    assert_ne!(a.epoch(4), other.epoch(4));

    let config = CategoryBalanceSamplerConfig {
        n_categories: 2,
        n_labels: 2,
        n_instances: 2,
        resample_labels: false,
        weight_categories: true,
        seed: 1,
    };
    let c = CategoryBalanceSampler::new(&labels, &categories, config).unwrap();
    assert_eq!(
        c.epoch(0),
        CategoryBalanceSampler::new(&labels, &categories, config).unwrap().epoch(0)
    );
}

#[test]
fn category_balance_sampler_guarantees() {
    let (labels, categories) = dataset();
    for seed in 0..50 {
        for weight_categories in [true, false] {
            let config = CategoryBalanceSamplerConfig {
                n_categories: 2,
                n_labels: 3,
                n_instances: 4,
                resample_labels: false,
                weight_categories,
                seed,
            };
            let sampler = CategoryBalanceSampler::new(&labels, &categories, config).unwrap();
            assert_eq!(sampler.batch_size(), 24);
            let batches = sampler.epoch(seed);
            assert_eq!(batches.len(), 23usize.div_ceil(3));
            for batch in &batches {
                assert_eq!(batch.len(), 24);
                let groups = by_label(batch, &labels);
                assert_eq!(groups.len(), 6, "3 distinct labels in each of 2 categories");
                let cats: BTreeSet<u32> = groups.keys().map(|l| l % 3).collect();
                assert_eq!(cats.len(), 2, "n_categories distinct categories");
                for rows in groups.values() {
                    assert_eq!(rows.len(), 4);
                }
            }
        }
    }
}

#[test]
fn category_balance_resamples_labels_of_small_categories_when_asked() {
    // Category 9 has only 2 labels.
    let labels = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4];
    let categories = [0, 0, 0, 0, 0, 0, 9, 9, 9, 9];
    let base = CategoryBalanceSamplerConfig {
        n_categories: 2,
        n_labels: 3,
        n_instances: 2,
        resample_labels: false,
        weight_categories: true,
        seed: 0,
    };
    let err = CategoryBalanceSampler::new(&labels, &categories, base).unwrap_err();
    assert_eq!(err, SamplerError::SmallCategory { category: 9, available: 2, n_labels: 3 });
    assert!(err.to_string().contains("category 9"), "{err}");
    let sampler = CategoryBalanceSampler::new(
        &labels,
        &categories,
        CategoryBalanceSamplerConfig { resample_labels: true, ..base },
    )
    .unwrap();
    for batch in sampler.epoch(0) {
        assert_eq!(batch.len(), 12);
    }
}

#[test]
fn distinct_category_balance_sampler_uses_labels_before_reusing_them() {
    let (labels, categories) = dataset();
    for seed in 0..50 {
        let config = DistinctCategoryBalanceSamplerConfig {
            n_categories: 2,
            n_labels: 2,
            n_instances: 3,
            epoch_size: 9,
            seed,
        };
        let sampler = DistinctCategoryBalanceSampler::new(&labels, &categories, config).unwrap();
        let batches = sampler.epoch(0);
        assert_eq!(batches.len(), 9);
        // Until a category's labels are exhausted (7 or 8 labels, 2 per batch), no label repeats.
        let mut seen_per_category: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        for batch in batches.iter().take(3) {
            assert_eq!(batch.len(), 12);
            let groups = by_label(batch, &labels);
            assert_eq!(groups.len(), 4);
            for (label, rows) in groups {
                assert_eq!(rows.len(), 3);
                assert!(
                    seen_per_category.entry(label % 3).or_default().insert(label),
                    "label {label} reused too early"
                );
            }
        }
    }
}

#[test]
fn bad_parameters_are_errors_not_panics() {
    let (labels, categories) = dataset();
    let balance = |n_labels, n_instances| {
        BalanceSampler::new(&labels, BalanceSamplerConfig { n_labels, n_instances, seed: 0 })
    };
    assert_eq!(
        balance(24, 2).unwrap_err(),
        SamplerError::NotEnoughLabels { n_labels: 24, available: 23 }
    );
    assert_eq!(balance(1, 2).unwrap_err(), SamplerError::TooFewLabelsPerBatch(1));
    assert_eq!(balance(2, 1).unwrap_err(), SamplerError::TooFewInstances(1));
    let err = BalanceSampler::new(
        &[0, 0, 1, 2, 2],
        BalanceSamplerConfig { n_labels: 2, n_instances: 2, seed: 0 },
    )
    .unwrap_err();
    assert_eq!(err, SamplerError::SingletonLabel { label: 1, count: 1 });
    assert!(err.to_string().contains("label 1 has only 1 sample"), "{err}");
    assert_eq!(
        BalanceSampler::new(&[], BalanceSamplerConfig { n_labels: 2, n_instances: 2, seed: 0 })
            .unwrap_err(),
        SamplerError::Empty
    );

    let cat = CategoryBalanceSamplerConfig {
        n_categories: 4,
        n_labels: 2,
        n_instances: 2,
        resample_labels: false,
        weight_categories: true,
        seed: 0,
    };
    assert_eq!(
        CategoryBalanceSampler::new(&labels, &categories, cat).unwrap_err(),
        SamplerError::BadCategoryCount { n_categories: 4, available: 3 }
    );
    assert!(matches!(
        CategoryBalanceSampler::new(&labels, &categories[1..], cat),
        Err(SamplerError::LengthMismatch { .. })
    ));
    let distinct = DistinctCategoryBalanceSamplerConfig {
        n_categories: 1,
        n_labels: 2,
        n_instances: 2,
        epoch_size: 0,
        seed: 0,
    };
    assert_eq!(
        DistinctCategoryBalanceSampler::new(&labels, &categories, distinct).unwrap_err(),
        SamplerError::ZeroEpochSize
    );
}

#[test]
fn sampler_configs_read_from_config_files_with_defaults() {
    let c: CategoryBalanceSamplerConfig =
        serde_json::from_str(r#"{"n_categories": 2, "n_labels": 3, "n_instances": 4}"#).unwrap();
    assert_eq!(
        c,
        CategoryBalanceSamplerConfig {
            n_categories: 2,
            n_labels: 3,
            n_instances: 4,
            resample_labels: false,
            weight_categories: true,
            seed: 0
        }
    );
    let err = serde_json::from_str::<BalanceSamplerConfig>(r#"{"n_labels": 3, "n_instance": 4}"#)
        .unwrap_err();
    assert!(err.to_string().contains("n_instance"), "{err}");
}
