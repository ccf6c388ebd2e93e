//! The fused ArcFace operation (flex, feature `flex-kernels`) against the tensor-op
//! formulation, which the OML fixtures also check (`losses_oml.rs`): loss, accuracy and both
//! gradients, with upstream gradients that differ per sample, on shapes with many classes, in
//! both branches of the margin, with and without smoothing; and without autodiff.
#![cfg(feature = "flex-kernels")]
#![allow(clippy::unwrap_used)]

use burn::module::Param;
use burn::tensor::{Device, Distribution, Tensor};
use oml_core::loss::{ArcFaceLoss, ArcFaceLossConfig, ArcFaceOutput, Reduction};

const B: usize = 48;
const D: usize = 32;
const C: usize = 300;

fn labels() -> Vec<u32> {
    (0..B as u32).map(|i| (i * 37 + 5) % C as u32).collect()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-4 * scale, "{what}[{i}]: {g} vs {w} (scale {scale})");
    }
}

struct Run {
    loss: Vec<f32>,
    accuracy: f64,
    grad_x: Vec<f32>,
    grad_w: Vec<f32>,
}

fn run(config: &ArcFaceLossConfig, x: &Tensor<2>, w: &Tensor<2>, fused: bool) -> Run {
    let x = x.clone().detach().require_grad();
    let loss: ArcFaceLoss =
        config.with_weight(Param::from_tensor(w.clone().detach().require_grad())).unwrap();
    let y = labels();
    let out: ArcFaceOutput = if fused {
        loss.forward(x.clone(), &y).unwrap()
    } else {
        loss.forward_tensor_ops(x.clone(), &y).unwrap()
    };
    // Different upstream gradients per sample when the loss is per sample.
    let n = out.loss.dims()[0];
    let weights: Vec<f32> = (0..n).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
    let weights = Tensor::<1>::from_floats(weights.as_slice(), &x.device());
    let total = (out.loss.clone() * weights).sum();
    let grads = total.backward();
    Run {
        loss: out.loss.detach().try_into_vec_as::<f32>().unwrap(),
        accuracy: out.accuracy,
        grad_x: x.grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap(),
        grad_w: loss.weight.val().grad(&grads).unwrap().try_into_vec_as::<f32>().unwrap(),
    }
}

#[test]
fn fused_arcface_matches_the_tensor_ops() {
    let device = Device::flex().autodiff();
    let x = Tensor::<2>::random([B, D], Distribution::Normal(0.0, 1.0), &device);
    let mut w = Tensor::<2>::random([C, D], Distribution::Normal(0.0, 0.2), &device);
    // Pull a third of the labels' class vectors towards their samples: large cosines (not 1,
    // where the tensor ops' gradient is NaN: d sin / d cos is unbounded there).
    let y = labels();
    let noise = Tensor::<2>::random([B, D], Distribution::Normal(0.0, 0.3), &device);
    for (i, &label) in y.iter().enumerate().step_by(3) {
        let row = (x.clone() + noise.clone()).slice([i..i + 1, 0..D]);
        w = w.slice_assign([label as usize..label as usize + 1, 0..D], row);
    }
    let categories: Vec<u32> = (0..C as u32).map(|c| c % 7).collect();
    let configs = [
        ArcFaceLossConfig::new(D, C),
        ArcFaceLossConfig::new(D, C).with_m(0.3).with_s(30.0).with_reduction(Reduction::Sum),
        // m = 2.5: most label cosines fall to the `cos ≤ −cos m` fallback.
        ArcFaceLossConfig::new(D, C).with_m(2.5).with_reduction(Reduction::None),
        ArcFaceLossConfig::new(D, C).with_smoothing_epsilon(0.1).with_reduction(Reduction::None),
        ArcFaceLossConfig::new(D, C)
            .with_smoothing_epsilon(0.2)
            .with_label2category(Some(categories))
            .with_reduction(Reduction::None),
    ];
    for (k, config) in configs.iter().enumerate() {
        let fused = run(config, &x, &w, true);
        let ops = run(config, &x, &w, false);
        assert_close(&fused.loss, &ops.loss, &format!("config {k} loss"));
        assert!((fused.accuracy - ops.accuracy).abs() < 1e-9, "config {k} accuracy");
        assert_close(&fused.grad_x, &ops.grad_x, &format!("config {k} grad x"));
        assert_close(&fused.grad_w, &ops.grad_w, &format!("config {k} grad w"));
    }
}

#[test]
fn fused_arcface_runs_without_autodiff() {
    let device = Device::flex();
    let x = Tensor::<2>::random([B, D], Distribution::Normal(0.0, 1.0), &device);
    let w = Tensor::<2>::random([C, D], Distribution::Normal(0.0, 0.2), &device);
    let loss = ArcFaceLossConfig::new(D, C)
        .with_reduction(Reduction::None)
        .with_weight(Param::from_tensor(w))
        .unwrap();
    let fused = loss.forward(x.clone(), &labels()).unwrap();
    let ops = loss.forward_tensor_ops(x, &labels()).unwrap();
    assert_close(
        &fused.loss.try_into_vec_as::<f32>().unwrap(),
        &ops.loss.try_into_vec_as::<f32>().unwrap(),
        "loss",
    );
    assert!((fused.accuracy - ops.accuracy).abs() < 1e-9);
}
