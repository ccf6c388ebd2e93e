//! Property tests of the training config parser (part of the fuzz suite CI runs): any text
//! and any `--set` value for any key give a config that passed every check, or an error that
//! names the file or the assignment; never a panic.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use proptest::prelude::*;

use super::TrainConfig;

const BASE: &str = r#"dataset_root = "data"
max_epochs = 2
[extractor]
model = "mobilenet_v2_imagenet"
[transforms_train]
size = 32
random_resized_crop = { scale = [0.5, 1.0], ratio = [0.75, 1.33] }
color_jitter = { brightness = 0.2, contrast = 0.2, saturation = 0.2, hue = 0.1 }
[transforms_val]
size = 32
[sampler]
name = "balance"
n_labels = 4
n_instances = 2
[criterion]
margin = 0.2
miner = { name = "hard_triplets" }
[optimizer]
name = "adam"
lr = 1e-3
"#;

const KEYS: &[&str] = &[
    "max_epochs",
    "seed",
    "devices",
    "valid_period",
    "metric_for_checkpointing",
    "ema_decay",
    "precision",
    "extractor.head",
    "extractor.members",
    "transforms_train.size",
    "transforms_train.random_resized_crop.scale",
    "transforms_train.random_resized_crop.ratio",
    "transforms_train.color_jitter.hue",
    "transforms_train.rotation",
    "transforms_train.hflip",
    "sampler.n_labels",
    "sampler.n_instances",
    "optimizer.lr",
    "optimizer.momentum",
    "metric_args.cmc_top_k",
    "metric_args.fmr_vals",
    "criterion.margin",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("nan".to_owned()),
        Just("inf".to_owned()),
        Just("1e308".to_owned()),
        Just("100000000".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("[0]".to_owned()),
        Just("[1000000000]".to_owned()),
        Just("[nan, 1.0]".to_owned()),
        Just("[0.0, 0.0]".to_owned()),
        Just("[2.0]".to_owned()),
        Just("\"OVERALL/cmc/7\"".to_owned()),
        Just("{ a = 1 }".to_owned()),
        "[a-z0-9.\\[\\], \"/-]{0,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_never_panics(text in "(?s).{0,300}") {
        if let Err(e) = TrainConfig::parse(&text, Path::new("fuzz.toml"), &[]) {
            prop_assert!(e.to_string().contains("fuzz.toml"), "{}", e);
        }
    }

    #[test]
    fn any_set_never_panics(sets in proptest::collection::vec((0..KEYS.len(), value()), 1..4)) {
        let sets: Vec<String> = sets.into_iter().map(|(k, v)| format!("{}={v}", KEYS[k])).collect();
        match TrainConfig::parse(BASE, Path::new("fuzz.toml"), &sets) {
            Ok(config) => {
                // What passed is safe to build from.
                prop_assert!(config.extractor.head.iter().all(|w| (1..=65_536).contains(w)));
                prop_assert!(config.metric_args.cmc_top_k.iter().all(|&k| k >= 1));
                prop_assert!(config.metric_args.fmr_vals.iter().all(|f| (0.0..=1.0).contains(f)));
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("fuzz.toml") || msg.contains("--set"), "{}", msg);
            }
        }
    }
}

#[test]
fn the_base_config_is_valid() {
    TrainConfig::parse(BASE, Path::new("fuzz.toml"), &[]).unwrap();
}
