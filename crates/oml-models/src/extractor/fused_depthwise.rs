//! Depthwise convolution (one group per channel, no bias, symmetric zero padding) as a direct
//! CPU stencil with a hand-written backward pass: a burn backend extension for the flex
//! backend, used by [`super::layers::ConvBn`] on flex (feature `flex-kernels`). Same values
//! and gradients as burn's `Conv2d` with `groups = channels` (`tests/fused_depthwise.rs`).
//!
//! For `x` `[N, C, H, W]`, weight `w` `[C, 1, k, k]`, stride `s`, padding `p`:
//! `y[n,c,o,q] = Σ_ij w[c,i,j] · x[n,c,o·s+i−p, q·s+j−p]` (zero outside `x`);
//! `∂L/∂x[n,c,o·s+i−p, q·s+j−p] += w[c,i,j] · ∂L/∂y[n,c,o,q]`;
//! `∂L/∂w[c,i,j] = Σ_noq ∂L/∂y[n,c,o,q] · x[n,c,o·s+i−p, q·s+j−p]`.
//!
//! burn 0.22 runs a grouped convolution's forward and input gradient through its general
//! convolution kernels and its weight gradient as one convolution per channel
//! (`benches/examples/depthwise_probe.rs`: 96 channels at 64 × 64, forward 88 ms, + weight
//! gradient 403 ms); here each is one pass over the planes, row by row.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::tensor::{DType, Tensor, TensorData};
use multiversion::multiversion;
use rayon::prelude::*;

use super::flex_buffers::{contiguous, par_filled, slice};

/// Stride and padding (the kernel size comes from the weight).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub stride: usize,
    pub padding: usize,
}

#[backend_extension(Flex, Autodiff)]
pub(crate) trait DepthwiseOps: Backend {
    fn depthwise_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self>;
}

/// The same convolution plus a per-channel bias, for inference (BatchNorm folded into the
/// convolution): flex without autodiff only.
#[backend_extension(Flex)]
pub(crate) trait DepthwiseBiasOps: Backend {
    fn depthwise_conv_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self>;
}

/// Whether [`depthwise_conv`] can run: f32 tensors on flex.
pub(crate) fn available(x: &Tensor<4>, weight: &Tensor<4>) -> bool {
    x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// # Shapes
/// `x` `[N, C, H, W]`, `weight` `[C, 1, k, k]` → `[N, C, H', W']` with
/// `H' = (H + 2p − k) / s + 1`.
pub(crate) fn depthwise_conv(x: Tensor<4>, weight: Tensor<4>, geometry: Geometry) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as DepthwiseOps>::depthwise_conv(
        x.into_dispatch(),
        weight.into_dispatch(),
        geometry,
    ))
}

/// [`DepthwiseBiasOps`] on a tensor without autodiff.
///
/// # Shapes
/// `x` `[N, C, H, W]`, `weight` `[C, 1, k, k]`, `bias` `[C]` → `[N, C, H', W']`.
pub(crate) fn depthwise_conv_bias(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    geometry: Geometry,
) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as DepthwiseBiasOps>::depthwise_conv_bias(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        geometry,
    ))
}

impl DepthwiseOps for Flex {
    fn depthwise_conv(x: FlexTensor, weight: FlexTensor, geometry: Geometry) -> FlexTensor {
        forward(&contiguous(x), &contiguous(weight), None, geometry)
    }
}

impl DepthwiseBiasOps for Flex {
    fn depthwise_conv_bias(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        geometry: Geometry,
    ) -> FlexTensor {
        let bias = contiguous(bias);
        forward(&contiguous(x), &contiguous(weight), Some(slice(&bias)), geometry)
    }
}

impl<C: CheckpointStrategy> DepthwiseOps for Autodiff<Flex, C> {
    fn depthwise_conv(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        geometry: Geometry,
    ) -> FloatTensor<Self> {
        let prep = DepthwiseBackward.prepare::<C>([x.node(), weight.node()]).compute_bound();
        let input = contiguous(x.primitive().clone());
        let w = contiguous(weight.primitive().clone());
        let output = forward(&input, &w, None, geometry);
        match prep.stateful() {
            OpsKind::Tracked(prep) => prep.finish((input, w, geometry), output),
            OpsKind::UnTracked(prep) => prep.finish(output),
        }
    }
}

#[derive(Debug)]
struct DepthwiseBackward;

impl Backward<Flex, 2> for DepthwiseBackward {
    type State = (FlexTensor, FlexTensor, Geometry);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let dy = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, w, geometry) = ops.state;
        let shape = Shape::of(&x, &w, geometry);
        let (x_values, w_values, dy_values) = (slice(&x), slice(&w), slice(&dy));
        let (in_plane, out_plane, taps) =
            (shape.h * shape.w, shape.oh * shape.ow, shape.k * shape.k);

        if let Some(node) = node_x {
            let dx = par_filled(x_values.len(), in_plane, |plane, dx| {
                let c = plane % shape.c;
                let dy = &dy_values[plane * out_plane..(plane + 1) * out_plane];
                input_grad_plane(&shape, dy, &w_values[c * taps..(c + 1) * taps], dx);
            });
            let dims = x.layout().shape().clone();
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, dims)));
        }
        if let Some(node) = node_w {
            // Per plane, the k·k sums; then per channel, the sum over the batch.
            let partial: Vec<Vec<f32>> = dy_values
                .par_chunks(out_plane.max(1))
                .enumerate()
                .map(|(plane, dy)| {
                    weight_grad_plane(
                        &shape,
                        dy,
                        &x_values[plane * in_plane..(plane + 1) * in_plane],
                    )
                })
                .collect();
            let mut dw = vec![0.0f32; shape.c * taps];
            for (plane, sums) in partial.iter().enumerate() {
                let c = plane % shape.c;
                dw[c * taps..(c + 1) * taps].iter_mut().zip(sums).for_each(|(d, s)| *d += s);
            }
            let dims = w.layout().shape().clone();
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dw, dims)));
        }
    }
}

/// Sizes of one depthwise convolution.
#[derive(Debug, Clone, Copy)]
struct Shape {
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    oh: usize,
    ow: usize,
    stride: usize,
    padding: usize,
}

impl Shape {
    fn of(x: &FlexTensor, weight: &FlexTensor, g: Geometry) -> Self {
        let d = x.layout().shape();
        let (c, h, w) = (d[1], d[2], d[3]);
        let k = weight.layout().shape()[2];
        let out = |n: usize| (n + 2 * g.padding).saturating_sub(k) / g.stride.max(1) + 1;
        Self { c, h, w, k, oh: out(h), ow: out(w), stride: g.stride.max(1), padding: g.padding }
    }

    /// Calls `f(o, i, j, iy, q0, q1, ix0)` for every output row `o` and tap `(i, j)` whose input
    /// row `iy = o·s + i − p` exists, with `q0..q1` the output columns whose input column
    /// `q·s + j − p` exists and `ix0` the input column of `q0`.
    #[inline(always)]
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize, usize, usize, usize, usize)) {
        let (s, p) = (self.stride, self.padding);
        for o in 0..self.oh {
            for i in 0..self.k {
                let Some(iy) = (o * s + i).checked_sub(p).filter(|&iy| iy < self.h) else {
                    continue;
                };
                for j in 0..self.k {
                    // q·s + j − p ≥ 0 and ≤ w − 1.
                    let Some(last) = (self.w + p).checked_sub(j + 1) else { continue };
                    let q0 = p.saturating_sub(j).div_ceil(s);
                    let q1 = (last / s + 1).min(self.ow);
                    if q0 >= q1 {
                        continue;
                    }
                    f(o, i, j, iy, q0, q1, q0 * s + j - p);
                }
            }
        }
    }
}

/// `y = conv(x) (+ bias)`.
fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&[f32]>,
    geometry: Geometry,
) -> FlexTensor {
    let shape = Shape::of(x, weight, geometry);
    let n = x.layout().shape()[0];
    let (x_values, w_values) = (slice(x), slice(weight));
    let (in_plane, out_plane, taps) = (shape.h * shape.w, shape.oh * shape.ow, shape.k * shape.k);
    let y = par_filled(n * shape.c * out_plane, out_plane, |plane, y| {
        let c = plane % shape.c;
        if let Some(bias) = bias {
            y.fill(bias[c]);
        }
        let x = &x_values[plane * in_plane..(plane + 1) * in_plane];
        forward_plane(&shape, x, &w_values[c * taps..(c + 1) * taps], y);
    });
    FlexTensor::from_data(TensorData::new(y, [n, shape.c, shape.oh, shape.ow]))
}

// The plane kernels, compiled for AVX-512 and AVX2 besides the baseline and picked at run
// time (`multiversion`): the loops are simple enough to vectorise, and the planes of the
// early layers (tens of KB) stay in cache, so wider vectors pay.

/// `y += conv(x)` on one plane.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma"))]
fn forward_plane(shape: &Shape, x: &[f32], w: &[f32], y: &mut [f32]) {
    shape.for_each_tap(|o, i, j, iy, q0, q1, ix0| {
        let weight = w[i * shape.k + j];
        let x_row = &x[iy * shape.w..(iy + 1) * shape.w];
        let y_row = &mut y[o * shape.ow..(o + 1) * shape.ow];
        if shape.stride == 1 {
            let n = q1 - q0;
            for (y, &v) in y_row[q0..q1].iter_mut().zip(&x_row[ix0..ix0 + n]) {
                *y += weight * v;
            }
        } else {
            for (t, y) in y_row[q0..q1].iter_mut().enumerate() {
                *y += weight * x_row[ix0 + t * shape.stride];
            }
        }
    });
}

/// `dx += ∂conv/∂x · dy` on one plane.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma"))]
fn input_grad_plane(shape: &Shape, dy: &[f32], w: &[f32], dx: &mut [f32]) {
    shape.for_each_tap(|o, i, j, iy, q0, q1, ix0| {
        let weight = w[i * shape.k + j];
        let dy_row = &dy[o * shape.ow..(o + 1) * shape.ow];
        let dx_row = &mut dx[iy * shape.w..(iy + 1) * shape.w];
        if shape.stride == 1 {
            let n = q1 - q0;
            for (dx, &g) in dx_row[ix0..ix0 + n].iter_mut().zip(&dy_row[q0..q1]) {
                *dx += weight * g;
            }
        } else {
            for (t, &g) in dy_row[q0..q1].iter().enumerate() {
                dx_row[ix0 + t * shape.stride] += weight * g;
            }
        }
    });
}

/// The `k·k` sums `Σ dy · x` of one plane.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma"))]
fn weight_grad_plane(shape: &Shape, dy: &[f32], x: &[f32]) -> Vec<f32> {
    let mut sums = vec![0.0f32; shape.k * shape.k];
    shape.for_each_tap(|o, i, j, iy, q0, q1, ix0| {
        let dy_row = &dy[o * shape.ow..(o + 1) * shape.ow];
        let x_row = &x[iy * shape.w..(iy + 1) * shape.w];
        let dot = if shape.stride == 1 {
            dot(&dy_row[q0..q1], &x_row[ix0..ix0 + (q1 - q0)])
        } else {
            dy_row[q0..q1].iter().enumerate().map(|(t, &g)| g * x_row[ix0 + t * shape.stride]).sum()
        };
        sums[i * shape.k + j] += dot;
    });
    sums
}

/// `Σ a·b` in eight f32 lanes.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut ac = a.chunks_exact(8);
    let mut bc = b.chunks_exact(8);
    for (a, b) in (&mut ac).zip(&mut bc) {
        for l in 0..8 {
            lanes[l] += a[l] * b[l];
        }
    }
    lanes.iter().sum::<f32>()
        + ac.remainder().iter().zip(bc.remainder()).map(|(a, b)| a * b).sum::<f32>()
}
