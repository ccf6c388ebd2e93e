//! ResNet against torchvision's own classes at reduced width and random weights
//! (tests/fixtures/models/make_resnet_tiny.py), loaded from the checkpoint shapes users have:
//! a plain zip state dict, a nested legacy pickle, safetensors; on the CPU and on a wgpu adapter.
#![allow(clippy::unwrap_used)]

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::{device_name, fixture, fixture_path, floats, max_abs_diff, test_devices, usizes};
use oml_models::extractor::{Extractor, ResNetConfig, WeightsError};

fn input(device: &Device) -> Tensor<4> {
    let reference = fixture("resnet_tiny/outputs.json");
    let shape = usizes(&reference["input_shape"]);
    Tensor::from_data(
        TensorData::new(floats(&reference["input"]), [shape[0], shape[1], shape[2], shape[3]]),
        device,
    )
}

fn basic() -> ResNetConfig {
    ResNetConfig::resnet18().with_base_width(4)
}

fn bottleneck() -> ResNetConfig {
    ResNetConfig::resnet50().with_base_width(4)
}

fn assert_close(got: Tensor<2>, want: &serde_json::Value, what: &str) {
    let on = device_name(&got.device());
    let worst = max_abs_diff(&got.try_into_vec_as::<f32>().unwrap(), &floats(want));
    assert!(worst < 1e-4, "{on}, {what}: largest difference {worst}");
}

#[test]
fn basic_blocks_match_torchvision_from_a_zip_state_dict() {
    let reference = fixture("resnet_tiny/outputs.json");
    for device in test_devices() {
        let mut model = basic().with_num_classes(Some(10)).init(&device);
        model.load_weights(&fixture_path("resnet_tiny/basic.pth")).unwrap();
        assert_eq!(model.feat_dim(), 32);
        assert_close(model.extract(input(&device)), &reference["basic"], "embedding");
        let logits = model.logits(input(&device)).unwrap();
        assert_close(logits, &reference["basic_logits"], "logits");
        let folded = model.fold_batch_norms();
        assert_close(folded.extract(input(&device)), &reference["basic"], "folded embedding");
    }
}

#[test]
fn bottlenecks_match_torchvision_from_nested_legacy_and_safetensors() {
    let reference = fixture("resnet_tiny/outputs.json");
    let runs = test_devices().into_iter().flat_map(|d| {
        ["bottleneck_legacy.pth", "bottleneck.safetensors"].map(move |file| (d.clone(), file))
    });
    for (device, file) in runs {
        let mut model = bottleneck().init(&device);
        model.load_weights(&fixture_path(&format!("resnet_tiny/{file}"))).unwrap();
        assert_eq!(model.feat_dim(), 128);
        assert_close(model.extract(input(&device)), &reference["bottleneck"], file);
        let mut gem = bottleneck().with_gem_p(Some(3.0)).init(&device);
        gem.load_weights(&fixture_path(&format!("resnet_tiny/{file}"))).unwrap();
        assert_close(gem.extract(input(&device)), &reference["bottleneck_gem3"], file);
    }
}

#[test]
fn wrong_checkpoints_are_errors_naming_the_tensor() {
    let device = Device::flex();
    let mut model = basic().init(&device);
    let err = model.load_weights(&fixture_path("resnet_tiny/bad_shape.pth")).unwrap_err();
    assert!(matches!(err, WeightsError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("layer2.0.conv1"), "{err}");
    // A bottleneck checkpoint lacks the basic blocks' second-stage tensors' shapes and names.
    let err = model.load_weights(&fixture_path("resnet_tiny/bottleneck.safetensors")).unwrap_err();
    assert!(err.to_string().contains("bottleneck.safetensors"), "{err}");
    // The full-width model refuses the narrow checkpoint.
    let mut wide = ResNetConfig::resnet18().init(&device);
    let err = wide.load_weights(&fixture_path("resnet_tiny/basic.pth")).unwrap_err();
    assert!(matches!(err, WeightsError::Mismatch { .. }), "{err}");
}
