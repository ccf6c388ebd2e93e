//! The direct depthwise convolution (flex, feature `flex-kernels`) against burn's grouped
//! `Conv2d`: outputs and the gradients with respect to the input and the weight, for 3 × 3
//! and 5 × 5 kernels, strides 1 and 2, odd and even sizes, with and without padding.
#![cfg(feature = "flex-kernels")]
#![allow(clippy::unwrap_used)]

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};
use oml_models::extractor::layers::convolution;

fn assert_close<const D: usize>(got: Tensor<D>, want: Tensor<D>, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let got = got.try_into_vec_as::<f32>().unwrap();
    let want = want.try_into_vec_as::<f32>().unwrap();
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * scale, "{what}[{i}]: {g} vs {w} (scale {scale})");
    }
}

#[test]
fn direct_depthwise_matches_burn_grouped_conv() {
    let device = Device::flex().autodiff();
    let c = 6;
    for (k, stride, padding, [h, w]) in [
        (3, 1, 1, [7, 9]),
        (3, 2, 1, [8, 8]),
        (3, 2, 1, [7, 9]),
        (5, 1, 2, [6, 11]),
        (5, 2, 2, [9, 8]),
        (3, 1, 0, [5, 5]),
        (3, 2, 0, [8, 7]),
    ] {
        let what = format!("k {k} stride {stride} padding {padding} {h}x{w}");
        let conv = Conv2dConfig::new([c, c], [k, k])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
            .with_groups(c)
            .with_bias(false)
            .init(&device);
        let x0 = Tensor::<4>::random([2, c, h, w], Distribution::Normal(0.0, 1.0), &device);

        let x = x0.clone().require_grad();
        let want = conv.forward(x.clone());
        let upstream = Tensor::<4>::random(want.dims(), Distribution::Normal(0.0, 1.0), &device);
        let want_grads = (want.clone() * upstream.clone()).sum().backward();

        let xf = x0.clone().require_grad();
        let got = convolution(&conv, xf.clone());
        let got_grads = (got.clone() * upstream).sum().backward();

        assert_close(got.detach(), want.detach(), &format!("{what} output"));
        assert_close(
            xf.grad(&got_grads).unwrap(),
            x.grad(&want_grads).unwrap(),
            &format!("{what} grad x"),
        );
        assert_close(
            conv.weight.val().grad(&got_grads).unwrap(),
            conv.weight.val().grad(&want_grads).unwrap(),
            &format!("{what} grad weight"),
        );
    }
}

#[test]
fn direct_depthwise_runs_without_autodiff() {
    let device = Device::flex();
    let conv = Conv2dConfig::new([4, 4], [3, 3])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_groups(4)
        .with_bias(false)
        .init(&device);
    let x = Tensor::<4>::random([3, 4, 9, 10], Distribution::Normal(0.0, 1.0), &device);
    assert_close(convolution(&conv, x.clone()), conv.forward(x.clone()), "inference");
    // With a bias (a folded BatchNorm), 5 x 5, stride 1.
    let conv = Conv2dConfig::new([4, 4], [5, 5])
        .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
        .with_groups(4)
        .init(&device);
    assert!(conv.bias.is_some());
    assert_close(convolution(&conv, x.clone()), conv.forward(x), "inference with bias");
}
