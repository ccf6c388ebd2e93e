//! Property tests of the model-file reader (part of the fuzz suite CI runs): arbitrary bytes
//! and safetensors files whose spec asks for any sizes are refused with a clear error or
//! accepted within the limits, before any model is built.
#![allow(clippy::unwrap_used)]

use oml_models::model_file::{FORMAT, FORMAT_VERSION, read_spec};
use proptest::prelude::*;

/// A safetensors file holding one small tensor and `spec` as the model metadata.
fn file_with_spec(spec: &str, padding: usize) -> Vec<u8> {
    let header = serde_json::json!({
        "__metadata__": {
            "oml.format": FORMAT,
            "oml.format_version": FORMAT_VERSION.to_string(),
            "oml.model": spec,
        },
        "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
    })
    .to_string();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend(std::iter::repeat_n(0u8, padding));
    bytes
}

fn spec_json(head: &[u64], members: u64, side: u64, resize_to: u64) -> String {
    serde_json::json!({
        "arch": "mobilenet_v2",
        "members": members,
        "head": head,
        "feat_dim": head.last().copied().unwrap_or(1280),
        "normalise": true,
        "preprocess": {
            "resize": {"policy": "resize_center_crop", "resize_to": resize_to, "crop": side},
            "filter": "bilinear",
            "mean": [0.5, 0.5, 0.5],
            "std": [0.5, 0.5, 0.5],
        },
        "source": {"producer": "fuzz"},
    })
    .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_spec(&bytes);
    }

    /// Any head, ensemble size and input size: accepted only within the limits and only when
    /// the file is big enough to hold the head's weights.
    #[test]
    fn any_sizes_are_bounded(
        head in proptest::collection::vec(prop_oneof![0u64..4, 1u64..5000, Just(1 << 40), Just(u64::MAX)], 0..20),
        members in prop_oneof![0u64..3, Just(1000u64), Just(u64::MAX)],
        side in prop_oneof![1u64..300, Just(100_000u64), Just(u64::from(u32::MAX) + 1)],
        padding in prop_oneof![Just(0usize), Just(1 << 20)],
    ) {
        let bytes = file_with_spec(&spec_json(&head, members, side, side), padding);
        if let Ok(spec) = read_spec(&bytes) {
            prop_assert!((1..=16).contains(&spec.members));
            prop_assert!(spec.head.len() <= 16);
            prop_assert!(spec.head.iter().all(|w| (1..=65_536).contains(w)));
            let params: usize = spec.head.iter().fold((1280 * spec.members + 1, 0usize), |(inputs, n), &w| {
                (w + 1, n + inputs * w)
            }).1;
            prop_assert!(params * 4 <= bytes.len());
        }
    }
}
