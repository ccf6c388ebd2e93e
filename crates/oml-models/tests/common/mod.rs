//! Helpers shared by the extractor tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::Value;

/// A real weight file in the cache that scripts/fetch-weights.sh fills.
pub fn cached_weights(name: &str) -> PathBuf {
    let cache = std::env::var_os("OML_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME or OML_CACHE")).join(".cache/oml-rs")
    });
    let path = cache.join("weights").join(name);
    assert!(path.is_file(), "{} is missing: run scripts/fetch-weights.sh", path.display());
    path
}

/// `tests/fixtures/models/<name>` at the workspace root.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("../../tests/fixtures/models")
        .join(name)
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path(name)).unwrap()).unwrap()
}

pub fn floats(value: &Value) -> Vec<f32> {
    match value {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        v => vec![v.as_f64().unwrap() as f32],
    }
}

pub fn usizes(value: &Value) -> Vec<usize> {
    value.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect()
}

/// Largest absolute difference; panics on a length mismatch.
pub fn max_abs_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "lengths differ");
    got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max)
}

#[path = "../../../../tests/support/test_devices.rs"]
mod test_devices;
#[allow(unused_imports)]
pub use test_devices::{device_name, test_devices, test_gpu};
