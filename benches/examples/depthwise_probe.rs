//! Probe: depthwise 3x3 convolution forward + backward, burn's conv2d (groups = C) against a
//! sum of nine shifted slices.
use std::time::Instant;

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};

fn shifted(x: Tensor<4>, w: Tensor<4>, stride: usize) -> Tensor<4> {
    let [n, c, h, wd] = x.dims();
    let ho = (h + 2 - 3) / stride + 1;
    let wo = (wd + 2 - 3) / stride + 1;
    let xp = x.pad((1, 1, 1, 1), burn::tensor::ops::PadMode::Constant(0.0));
    let mut y: Option<Tensor<4>> = None;
    for i in 0..3 {
        for j in 0..3 {
            let st = stride as isize;
            let s = xp.clone().slice([
                burn::tensor::Slice::new(0, Some(n as isize), 1),
                burn::tensor::Slice::new(0, Some(c as isize), 1),
                burn::tensor::Slice::new(
                    i as isize,
                    Some((i + (ho - 1) * stride + 1) as isize),
                    st,
                ),
                burn::tensor::Slice::new(
                    j as isize,
                    Some((j + (wo - 1) * stride + 1) as isize),
                    st,
                ),
            ]);
            let k = w.clone().slice([0..c, 0..1, i..i + 1, j..j + 1]).reshape([1, c, 1, 1]);
            let t = s * k;
            y = Some(match y {
                Some(y) => y + t,
                None => t,
            });
        }
    }
    y.unwrap()
}

fn main() {
    let device = Device::flex().autodiff();
    for (c, hw, stride) in
        [(96usize, 64usize, 2usize), (144, 32, 1), (192, 16, 1), (576, 8, 1), (960, 4, 1)]
    {
        let conv = Conv2dConfig::new([c, c], [3, 3])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_groups(c)
            .with_bias(false)
            .init(&device);
        let x = Tensor::<4>::random([64, c, hw, hw], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let mut ta = 0.0;
        let mut tb = 0.0;
        for rep in 0..4 {
            let t = Instant::now();
            let y = conv.forward(x.clone());
            let g = (y.clone() * y).sum().backward();
            let _ = conv.weight.val().grad(&g).unwrap().into_data();
            let _ = x.grad(&g).unwrap().into_data();
            if rep > 0 {
                ta += t.elapsed().as_secs_f64();
            }
            let t = Instant::now();
            let w: Param<Tensor<4>> = conv.weight.clone();
            let y = shifted(x.clone(), w.val(), stride);
            let g = (y.clone() * y).sum().backward();
            let _ = w.val().grad(&g).unwrap().into_data();
            let _ = x.grad(&g).unwrap().into_data();
            if rep > 0 {
                tb += t.elapsed().as_secs_f64();
            }
        }
        let xd = x.clone().detach();
        let mut tf = 0.0;
        let mut tw = 0.0;
        for rep in 0..4 {
            let t = Instant::now();
            let y = conv.forward(xd.clone());
            let _ = y.clone().inner().into_data();
            if rep > 0 {
                tf += t.elapsed().as_secs_f64();
            }
            let t = Instant::now();
            let y = conv.forward(xd.clone());
            let g = (y.clone() * y).sum().backward();
            let _ = conv.weight.val().grad(&g).unwrap().into_data();
            if rep > 0 {
                tw += t.elapsed().as_secs_f64();
            }
        }
        println!(
            "C {c} {hw}x{hw} s{stride}: conv2d {:.1} ms (forward {:.1}, fwd + weight grad only {:.1}), shifted {:.1} ms",
            ta / 3.0 * 1e3,
            tf / 3.0 * 1e3,
            tw / 3.0 * 1e3,
            tb / 3.0 * 1e3
        );
    }
}
