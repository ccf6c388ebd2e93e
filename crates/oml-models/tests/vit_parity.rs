//! ViT against the DINO and DINOv2 code OML ships (tests/fixtures/models/make_vit_tiny.py):
//! tiny random models, CLS embeddings at the trained grid and at resampled non-square grids, on
//! the CPU and on a wgpu adapter.
#![allow(clippy::unwrap_used)]

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::{device_name, fixture, fixture_path, floats, max_abs_diff, test_devices, usizes};
use oml_models::extractor::{Extractor, ExtractorWithMlp, ViT, ViTConfig};

fn tiny(patch: usize, img_size: usize) -> ViTConfig {
    ViTConfig::new(patch, 48, 3).with_depth(2).with_img_size(img_size)
}

fn check(model: &ViT, case: &str, device: &Device) {
    let reference = fixture("vit_tiny/outputs.json");
    let case_ref = &reference["cases"][case];
    let s = usizes(&case_ref["input_shape"]);
    let x = Tensor::<4>::from_data(
        TensorData::new(floats(&case_ref["input"]), [s[0], s[1], s[2], s[3]]),
        device,
    );
    let got = model.extract(x).try_into_vec_as::<f32>().unwrap();
    let worst = max_abs_diff(&got, &floats(&case_ref["cls"]));
    assert!(worst < 1e-4, "{}, {case}: largest difference {worst}", device_name(device));
}

#[test]
fn dino_layout_matches_at_native_and_resampled_grids() {
    for device in test_devices() {
        let mut model = tiny(8, 32).init(&device);
        model.load_weights(&fixture_path("vit_tiny/dino.pth")).unwrap();
        assert_eq!(model.feat_dim(), 48);
        check(&model, "dino_native", &device);
        check(&model, "dino_resampled", &device);
    }
}

#[test]
fn dinov2_with_registers_and_layer_scale_matches() {
    for device in test_devices() {
        let config = tiny(14, 70).with_layer_scale(true).with_num_register_tokens(4);
        let mut model = config.init(&device);
        model.load_weights(&fixture_path("vit_tiny/dinov2_reg.safetensors")).unwrap();
        check(&model, "dinov2_native", &device);
        check(&model, "dinov2_resampled", &device);
    }
}

#[test]
fn another_variant_of_the_architecture_is_refused() {
    let device = Device::flex();
    let file = fixture_path("vit_tiny/dinov2_reg.safetensors");
    // No registers, no LayerScale: the file's extra tensors have no place.
    let err = tiny(14, 70).init(&device).load_weights(&file).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("dinov2_reg.safetensors") && msg.contains("register_tokens"), "{msg}");
    // Fewer blocks.
    let err = tiny(14, 70)
        .with_depth(1)
        .with_layer_scale(true)
        .with_num_register_tokens(4)
        .init(&device)
        .load_weights(&file)
        .unwrap_err();
    assert!(err.to_string().contains("blocks.1."), "{err}");
    // Wider.
    let mut wide = ViTConfig::new(14, 64, 4).with_depth(2).with_img_size(70).init(&device);
    let err = wide.load_weights(&file).unwrap_err();
    assert!(err.to_string().contains("pos_embed"), "{err}");
}

#[test]
fn oml_extractor_with_mlp_checkpoint_matches() {
    let reference = fixture("vit_tiny/outputs.json");
    let case = &reference["cases"]["dino_native"];
    for device in test_devices() {
        let mut model = ExtractorWithMlp::new(tiny(8, 32).init(&device), &[32, 16], &device);
        model.load_weights(&fixture_path("vit_tiny/dino_mlp.ckpt")).unwrap();
        assert_eq!(model.feat_dim(), 16);
        let s = usizes(&case["input_shape"]);
        let x = Tensor::<4>::from_data(
            TensorData::new(floats(&case["input"]), [s[0], s[1], s[2], s[3]]),
            &device,
        );
        let got = model.extract(x).try_into_vec_as::<f32>().unwrap();
        let worst = max_abs_diff(&got, &floats(&case["mlp"]));
        assert!(worst < 1e-4, "{}: largest difference {worst}", device_name(&device));
    }
}
