//! Where a depthwise 3 x 3 convolution's training time goes on burn flex (CPU), for MobileNetV2's
//! layer shapes at 128 px with a batch of 64: the forward pass, forward + weight gradient, and
//! forward + both gradients; and the same layer written as nine shifted slices (slower: why the
//! trainer offers `freeze_depthwise` rather than a rewrite). Run:
//! `cargo run --release -p oml-benches --example depthwise_probe`
#![allow(clippy::expect_used)]

use std::time::Instant;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Distribution, Slice, Tensor};

const REPEATS: u32 = 3;

/// `y = Σ_ij w[:, i, j] · x_pad[:, :, i::s, j::s]`, padding 1.
fn shifted(x: Tensor<4>, w: &Tensor<4>, stride: usize) -> Tensor<4> {
    let [n, c, h, _] = x.dims();
    let out = (h - 1) / stride + 1;
    let padded = x.pad((1, 1, 1, 1), PadMode::Constant(0.0));
    let mut y: Option<Tensor<4>> = None;
    for i in 0..3 {
        for j in 0..3 {
            let rows = |o: usize| {
                Slice::new(o as isize, Some((o + (out - 1) * stride + 1) as isize), stride as isize)
            };
            let all = |k: usize| Slice::new(0, Some(k as isize), 1);
            let tap = padded.clone().slice([all(n), all(c), rows(i), rows(j)]);
            let k = w.clone().slice([0..c, 0..1, i..i + 1, j..j + 1]).reshape([1, c, 1, 1]);
            let t = tap * k;
            y = Some(match y {
                Some(y) => y + t,
                None => t,
            });
        }
    }
    y.expect("nine taps")
}

/// Mean milliseconds of `f` over [`REPEATS`] runs after one warm-up.
fn time(mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..REPEATS {
        f();
    }
    start.elapsed().as_secs_f64() * 1e3 / f64::from(REPEATS)
}

fn main() {
    let device = Device::flex().autodiff();
    for (c, hw, stride) in [(96, 64, 2), (144, 32, 1), (192, 16, 1), (576, 8, 1), (960, 4, 1)] {
        let conv: Conv2d = Conv2dConfig::new([c, c], [3, 3])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_groups(c)
            .with_bias(false)
            .init(&device);
        let x = Tensor::<4>::random([64, c, hw, hw], Distribution::Normal(0.0, 1.0), &device);
        let tracked = x.clone().require_grad();
        let forward = time(|| {
            let _ = conv.forward(x.clone()).inner().into_data();
        });
        let weight_grad = time(|| {
            let y = conv.forward(x.clone());
            let g = (y.clone() * y).sum().backward();
            let _ = conv.weight.val().grad(&g).expect("weight grad").into_data();
        });
        let both = time(|| {
            let y = conv.forward(tracked.clone());
            let g = (y.clone() * y).sum().backward();
            let _ = conv.weight.val().grad(&g).expect("weight grad").into_data();
            let _ = tracked.grad(&g).expect("input grad").into_data();
        });
        let slices = time(|| {
            let y = shifted(tracked.clone(), &conv.weight.val(), stride);
            let g = (y.clone() * y).sum().backward();
            let _ = conv.weight.val().grad(&g).expect("weight grad").into_data();
            let _ = tracked.grad(&g).expect("input grad").into_data();
        });
        println!(
            "{c} channels, {hw} x {hw}, stride {stride}: forward {forward:.1} ms, \
             + weight grad {weight_grad:.1} ms, + both grads {both:.1} ms; \
             as nine shifted slices {slices:.1} ms"
        );
    }
}
