//! Half precision on a wgpu adapter (a GPU, or lavapipe in CI): the zoo's architectures with
//! their weights cast to f16 and bf16 against PyTorch's f32 outputs (the same fixtures as the
//! f32 parity tests), each embedding within a relative L2 distance `‖half − f32‖ / ‖f32‖` of
//! 5e-2 for f16 (11-bit mantissa) and 1e-1 for bf16 (8-bit): lavapipe sums in the element
//! type, and MobileNetV2's 1x1 convolutions over up to 960 channels in f16 measured 3.5e-2. A precision the adapter does not
//! compute in (bf16 on WGSL) is skipped: the tools refuse it with an error.
#![allow(clippy::unwrap_used)]

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::{cached_weights, fixture, fixture_path, floats, test_gpu, usizes};
use oml_models::extractor::{Extractor, MobileNetV2Config, ResNetConfig, ViTConfig};
use oml_models::precision::{Precision, cast_module};

const HALVES: [(Precision, f32); 2] = [(Precision::F16, 5e-2), (Precision::Bf16, 1e-1)];

fn input(case: &serde_json::Value, device: &Device) -> Tensor<4> {
    let s = usizes(&case["input_shape"]);
    Tensor::from_data(TensorData::new(floats(&case["input"]), [s[0], s[1], s[2], s[3]]), device)
}

/// `model` in `precision` on `x`, read back as f32, against `want`.
fn check<M: Extractor + burn::module::Module>(
    model: &M,
    x: &Tensor<4>,
    want: &serde_json::Value,
    what: &str,
) {
    let want = floats(want);
    let device = x.device();
    for (precision, tolerance) in HALVES {
        if !device.supports_dtype(precision.dtype()) {
            eprintln!("{what}: the adapter has no {precision}; skipped");
            continue;
        }
        let half = cast_module(model.clone(), precision);
        let out = half.extract(precision.cast(x.clone()));
        let got = out.cast(burn::tensor::FloatDType::F32).try_into_vec_as::<f32>().unwrap();
        let dim = got.len() / x.dims()[0];
        for (row, (g, w)) in got.chunks(dim).zip(want.chunks(dim)).enumerate() {
            let norm = |v: &mut dyn Iterator<Item = f32>| v.map(|a| a * a).sum::<f32>().sqrt();
            let error =
                norm(&mut g.iter().zip(w).map(|(a, b)| a - b)) / norm(&mut w.iter().copied());
            eprintln!("{what} in {precision}, row {row}: relative error {error:.2e}");
            assert!(error <= tolerance, "{what} in {precision}, row {row}: relative error {error}");
        }
    }
}

#[test]
fn mobilenet_v2_real_weights_in_half_precision() {
    let Some(device) = test_gpu() else { return };
    let reference = fixture("mobilenet_v2_imagenet.json");
    let mut model = MobileNetV2Config::new().init(&device);
    model.load_weights(&cached_weights("mobilenet_v2_imagenet.pt")).unwrap();
    check(
        &model.fold_batch_norms(),
        &input(&reference, &device),
        &reference["features"],
        "MobileNetV2",
    );
}

#[test]
fn resnet_and_vit_in_half_precision() {
    let Some(device) = test_gpu() else { return };
    let resnet = fixture("resnet_tiny/outputs.json");
    let mut bottleneck = ResNetConfig::resnet50().with_base_width(4).init(&device);
    bottleneck.load_weights(&fixture_path("resnet_tiny/bottleneck.safetensors")).unwrap();
    check(&bottleneck, &input(&resnet, &device), &resnet["bottleneck"], "ResNet-50 (tiny)");

    let vit = fixture("vit_tiny/outputs.json");
    let case = &vit["cases"]["dino_native"];
    let mut dino = ViTConfig::new(8, 48, 3).with_depth(2).with_img_size(32).init(&device);
    dino.load_weights(&fixture_path("vit_tiny/dino.pth")).unwrap();
    check(&dino, &input(case, &device), &case["cls"], "ViT (DINO, tiny)");
}
