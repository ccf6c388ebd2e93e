//! The fused BatchNorm + activation (flex, feature `flex-kernels`) against burn's
//! `BatchNorm::forward` followed by the activation: outputs, running statistics, and the
//! gradients with respect to the input, gamma and beta, for every activation.
#![cfg(feature = "flex-kernels")]
#![allow(clippy::unwrap_used)]

use burn::module::Param;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Device, Distribution, Tensor};
use oml_models::extractor::layers::{Activation, batch_norm_act};

fn assert_close(got: &Tensor<1>, want: &Tensor<1>, what: &str) {
    let got = got.clone().try_into_vec_as::<f32>().unwrap();
    let want = want.clone().try_into_vec_as::<f32>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 2e-5 * scale, "{what}[{i}]: {g} vs {w} (scale {scale})");
    }
}

fn batch_norm(c: usize, device: &Device) -> BatchNorm {
    let mut bn = BatchNormConfig::new(c).init(device);
    bn.gamma = Param::from_tensor(Tensor::random([c], Distribution::Uniform(0.5, 2.0), device));
    bn.beta = Param::from_tensor(Tensor::random([c], Distribution::Uniform(-1.0, 1.0), device));
    bn
}

fn flat<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    t.reshape([n])
}

#[test]
fn fused_batch_norm_matches_burn() {
    let device = Device::flex().autodiff();
    // 7 x 5 planes: not a multiple of the kernels' eight lanes; values that cross 0 and 6.
    let [n, c, h, w] = [3, 5, 7, 5];
    for act in [Activation::None, Activation::Relu, Activation::Relu6] {
        let x0 = Tensor::<4>::random([n, c, h, w], Distribution::Normal(3.0, 4.0), &device);
        let upstream = Tensor::<4>::random([n, c, h, w], Distribution::Normal(0.0, 1.0), &device);
        let reference = batch_norm(c, &device);
        let fused = reference.clone();

        let x = x0.clone().require_grad();
        let want = act.apply(reference.forward(x.clone()));
        let want_grads = (want.clone() * upstream.clone()).sum().backward();

        let xf = x0.clone().require_grad();
        let got = batch_norm_act(&fused, xf.clone(), act);
        let got_grads = (got.clone() * upstream.clone()).sum().backward();

        let what = |s: &str| format!("{act:?} {s}");
        assert_close(&flat(got.detach()), &flat(want.detach()), &what("output"));
        assert_close(
            &fused.running_mean.value(),
            &reference.running_mean.value(),
            &what("running mean"),
        );
        assert_close(
            &fused.running_var.value(),
            &reference.running_var.value(),
            &what("running var"),
        );
        assert_close(
            &flat(xf.grad(&got_grads).unwrap()),
            &flat(x.grad(&want_grads).unwrap()),
            &what("grad x"),
        );
        for (name, a, b) in [
            ("grad gamma", &fused.gamma, &reference.gamma),
            ("grad beta", &fused.beta, &reference.beta),
        ] {
            assert_close(
                &a.val().grad(&got_grads).unwrap(),
                &b.val().grad(&want_grads).unwrap(),
                &what(name),
            );
        }
    }
}

#[test]
fn frozen_statistics_and_inference_keep_burn_batch_norm() {
    // Without autodiff the fused path is not taken: the output is the running-statistics
    // BatchNorm of inference.
    let device = Device::flex();
    let bn = batch_norm(4, &device);
    let x = Tensor::<4>::random([2, 4, 3, 3], Distribution::Normal(0.0, 1.0), &device);
    let got = batch_norm_act(&bn, x.clone(), Activation::Relu6);
    let want = Activation::Relu6.apply(bn.forward(x));
    assert_close(&flat(got), &flat(want), "inference");
}
