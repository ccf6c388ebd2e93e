//! BatchNorm with batch statistics followed by its activation, as one CPU operation with a
//! hand-written backward pass: a burn backend extension for the flex backend, used by
//! [`super::layers::ConvBn`] when training on flex (feature `flex-kernels`). Same values and
//! gradients as burn's `batch_norm_train` followed by [`Activation::apply`]
//! (`tests/fused_batch_norm.rs`).
//!
//! For `x` `[N, C, H, W]` and `M = N·H·W` values per channel (PyTorch's training-mode
//! BatchNorm, Ioffe & Szegedy 2015, arXiv:1502.03167):
//!
//! * forward: `μ_c`, `σ²_c` (biased) of channel `c`, `x̂ = (x − μ)/sqrt(σ² + ε)`,
//!   `z = γ x̂ + β`, `y = act(z)`;
//! * backward, for `∂L/∂y`: `δ = ∂L/∂y · act'(z)`, `∂L/∂β_c = Σ δ`, `∂L/∂γ_c = Σ δ x̂`,
//!   `∂L/∂x = γ / sqrt(σ² + ε) · (δ − Σδ/M − x̂ · Σ(δ x̂)/M)`.
//!
//! burn 0.22 computes the same from about ten tensor operations forward and fifteen backward
//! (each a pass over the activation, three of them transposing copies) plus the activation's
//! own; here the forward reads `x` twice and writes `y` once, and the backward reads `x` and
//! `∂L/∂y` twice and writes `∂L/∂x` once (`z` is recomputed from `x`, not stored).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, Dispatch, DispatchDevice, ExtensionType, Flex, backend_extension,
};
use burn::nn::BatchNorm;
use burn::tensor::{DType, Device, Tensor, TensorData};
use multiversion::multiversion;
use rayon::prelude::*;

use super::flex_buffers::{contiguous, par_filled, slice};

use super::activation::Activation;

/// The normalised, activated output and the batch statistics `[C]` (no gradient).
#[derive(ExtensionType)]
pub(crate) struct BatchNormActOutput<B: Backend> {
    pub output: FloatTensor<B>,
    pub mean: FloatTensor<B>,
    pub variance: FloatTensor<B>,
}

#[backend_extension(Flex, Autodiff)]
pub(crate) trait BatchNormActOps: Backend {
    fn batch_norm_act_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        act: Activation,
    ) -> BatchNormActOutput<Self>;
}

/// Whether [`batch_norm_act_train`] can run on `x`: an f32 tensor on flex.
pub(crate) fn available(x: &Tensor<4>, device: &Device) -> bool {
    x.dtype() == DType::F32
        && matches!(device.clone().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// `act(bn(x))` with batch statistics, updating `bn`'s running statistics as burn's
/// `BatchNorm::forward` does in training (momentum, biased variance).
///
/// # Shapes
/// `[N, C, H, W]` → `[N, C, H, W]`.
pub(crate) fn batch_norm_act_train(x: Tensor<4>, bn: &BatchNorm, act: Activation) -> Tensor<4> {
    let out = <Dispatch as BatchNormActOps>::batch_norm_act_train(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
        act,
    );
    let mean = Tensor::<1>::from_dispatch(out.mean);
    let variance = Tensor::<1>::from_dispatch(out.variance);
    let device = mean.device();
    let update = |running: Tensor<1>, batch: Tensor<1>| {
        running.to_device(&device).mul_scalar(1.0 - bn.momentum).add(batch.mul_scalar(bn.momentum))
    };
    bn.running_mean.update(update(bn.running_mean.value_sync(), mean).detach());
    bn.running_var.update(update(bn.running_var.value_sync(), variance).detach());
    Tensor::from_dispatch(out.output)
}

impl BatchNormActOps for Flex {
    fn batch_norm_act_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        act: Activation,
    ) -> BatchNormActOutput<Self> {
        let f = forward(&contiguous(x), &gamma, &beta, epsilon, act);
        BatchNormActOutput { output: f.output, mean: f.mean, variance: f.variance }
    }
}

impl<C: CheckpointStrategy> BatchNormActOps for Autodiff<Flex, C> {
    fn batch_norm_act_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        act: Activation,
    ) -> BatchNormActOutput<Self> {
        let prep = BatchNormActBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound();
        let input = contiguous(x.primitive().clone());
        let (g, b) = (gamma.primitive().clone(), beta.primitive().clone());
        let f = forward(&input, &g, &b, epsilon, act);
        let (mean, variance) = (f.mean.clone(), f.variance.clone());
        let output = match prep.stateful() {
            OpsKind::Tracked(prep) => {
                let state = State {
                    x: input,
                    gamma: channel_values(&g),
                    beta: channel_values(&b),
                    mean: channel_values(&f.mean),
                    variance: channel_values(&f.variance),
                    epsilon,
                    act,
                };
                prep.finish(state, f.output)
            }
            OpsKind::UnTracked(prep) => prep.finish(f.output),
        };
        BatchNormActOutput {
            output,
            mean: <FloatTensor<Self>>::new(mean),
            variance: <FloatTensor<Self>>::new(variance),
        }
    }
}

#[derive(Debug)]
struct BatchNormActBackward;

#[derive(Debug, Clone)]
struct State {
    x: FlexTensor,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    mean: Vec<f32>,
    variance: Vec<f32>,
    epsilon: f64,
    act: Activation,
}

impl Backward<Flex, 3> for BatchNormActBackward {
    type State = State;

    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let mut dy = contiguous(grads.consume::<Flex>(&ops.node));
        let s = ops.state;
        let (n, c, hw) = dims(&s.x);
        let affine = Affine::new(&s.gamma, &s.beta, &s.mean, &s.variance, s.epsilon);
        let x = slice(&s.x);

        // Per channel: Σδ and Σδ·x (then Σδ·x̂ = inv_std·(Σδ·x − μ·Σδ)).
        let sums = match s.act {
            Activation::None => delta_sums::<Identity>(x, slice(&dy), n, c, hw, &affine),
            Activation::Relu => delta_sums::<Relu>(x, slice(&dy), n, c, hw, &affine),
            Activation::Relu6 => delta_sums::<Relu6>(x, slice(&dy), n, c, hw, &affine),
        };
        let m = (n * hw).max(1) as f64;
        let xhat_dots: Vec<f64> = sums
            .iter()
            .enumerate()
            .map(|(ch, &(sum, dot))| {
                f64::from(affine.inv_std[ch]) * (dot - f64::from(s.mean[ch]) * sum)
            })
            .collect();

        if let Some(node) = node_x {
            let coefficients: Vec<InputGrad> = (0..c)
                .map(|ch| InputGrad {
                    scale: affine.scale[ch],
                    shift: affine.shift[ch],
                    mean: s.mean[ch],
                    inv_std: affine.inv_std[ch],
                    gamma_inv_std: s.gamma[ch] * affine.inv_std[ch],
                    mean_delta: (sums[ch].0 / m) as f32,
                    mean_delta_xhat: (xhat_dots[ch] / m) as f32,
                })
                .collect();
            // ∂L/∂x overwrites ∂L/∂y (copied first only if that buffer is shared).
            let dx = dy.storage_mut::<f32>();
            match s.act {
                Activation::None => input_grad::<Identity>(x, dx, c, hw, &coefficients),
                Activation::Relu => input_grad::<Relu>(x, dx, c, hw, &coefficients),
                Activation::Relu6 => input_grad::<Relu6>(x, dx, c, hw, &coefficients),
            }
            grads.register::<Flex>(node.id, dy);
        }
        if let Some(node) = node_gamma {
            let dgamma: Vec<f32> = xhat_dots.iter().map(|&d| d as f32).collect();
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dgamma, [c])));
        }
        if let Some(node) = node_beta {
            let dbeta: Vec<f32> = sums.iter().map(|&(sum, _)| sum as f32).collect();
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dbeta, [c])));
        }
    }
}

/// An activation as a type, so that each kernel is compiled (and vectorised) for one.
trait Act: Send + Sync {
    /// `act(z)`.
    fn value(z: f32) -> f32;
    /// `act'(z)` as burn's ReLU backward has it (0 at `z = 0`; ReLU6, built as
    /// `relu(z) − relu(relu(z) − 6)`, is 1 on `(0, 6]`).
    fn derivative(z: f32) -> f32;
}

struct Identity;
struct Relu;
struct Relu6;

impl Act for Identity {
    #[inline(always)]
    fn value(z: f32) -> f32 {
        z
    }
    #[inline(always)]
    fn derivative(_: f32) -> f32 {
        1.0
    }
}

impl Act for Relu {
    #[inline(always)]
    fn value(z: f32) -> f32 {
        if z > 0.0 { z } else { 0.0 }
    }
    #[inline(always)]
    fn derivative(z: f32) -> f32 {
        if z > 0.0 { 1.0 } else { 0.0 }
    }
}

impl Act for Relu6 {
    #[inline(always)]
    fn value(z: f32) -> f32 {
        let r = if z > 0.0 { z } else { 0.0 };
        if r < 6.0 { r } else { 6.0 }
    }
    #[inline(always)]
    fn derivative(z: f32) -> f32 {
        if z > 0.0 && z <= 6.0 { 1.0 } else { 0.0 }
    }
}

/// Per channel, `Σ δ` and `Σ δ·x` with `δ = ∂L/∂y · act'(scale·x + shift)`.
fn delta_sums<A: Act>(
    x: &[f32],
    dy: &[f32],
    n: usize,
    c: usize,
    hw: usize,
    affine: &Affine,
) -> Vec<(f64, f64)> {
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let (scale, shift) = (affine.scale[ch], affine.shift[ch]);
            let (mut sum, mut dot) = (0.0f64, 0.0f64);
            for i in 0..n {
                let at = (i * c + ch) * hw;
                let (s1, s2) =
                    plane_delta_sums::<A>(&x[at..at + hw], &dy[at..at + hw], scale, shift);
                sum += f64::from(s1);
                dot += f64::from(s2);
            }
            (sum, dot)
        })
        .collect()
}

/// [`delta_sums`] over one `[H·W]` plane, in eight f32 lanes.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma"))]
fn plane_delta_sums<A: Act>(x: &[f32], dy: &[f32], scale: f32, shift: f32) -> (f32, f32) {
    let mut sum = [0.0f32; 8];
    let mut dot = [0.0f32; 8];
    let mut xs = x.chunks_exact(8);
    let mut dys = dy.chunks_exact(8);
    for (x, dy) in (&mut xs).zip(&mut dys) {
        for l in 0..8 {
            let delta = dy[l] * A::derivative(x[l] * scale + shift);
            sum[l] += delta;
            dot[l] += delta * x[l];
        }
    }
    let (mut s, mut d) = (sum.iter().sum::<f32>(), dot.iter().sum::<f32>());
    for (&x, &dy) in xs.remainder().iter().zip(dys.remainder()) {
        let delta = dy * A::derivative(x * scale + shift);
        s += delta;
        d += delta * x;
    }
    (s, d)
}

/// One channel's constants of `∂L/∂x`.
struct InputGrad {
    scale: f32,
    shift: f32,
    mean: f32,
    inv_std: f32,
    gamma_inv_std: f32,
    mean_delta: f32,
    mean_delta_xhat: f32,
}

/// `∂L/∂x = γ·inv_std·(δ − mean(δ) − x̂·mean(δ·x̂))`, written over `dy` in place.
fn input_grad<A: Act>(x: &[f32], dy: &mut [f32], c: usize, hw: usize, coefficients: &[InputGrad]) {
    dy.par_chunks_mut(hw.max(1)).enumerate().for_each(|(k, dy)| {
        input_grad_plane::<A>(&x[k * hw..(k + 1) * hw], dy, &coefficients[k % c]);
    });
}

/// [`input_grad`] on one plane.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma"))]
fn input_grad_plane<A: Act>(x: &[f32], dy: &mut [f32], g: &InputGrad) {
    for (dy, &x) in dy.iter_mut().zip(x) {
        let delta = *dy * A::derivative(x * g.scale + g.shift);
        let xhat = (x - g.mean) * g.inv_std;
        *dy = g.gamma_inv_std * (delta - g.mean_delta - xhat * g.mean_delta_xhat);
    }
}

/// `y = act(scale·x + shift)` per channel.
fn normalize<A: Act>(x: &[f32], c: usize, hw: usize, affine: &Affine) -> Vec<f32> {
    par_filled(x.len(), hw, |k, y| {
        let ch = k % c;
        normalize_plane::<A>(&x[k * hw..(k + 1) * hw], y, affine.scale[ch], affine.shift[ch]);
    })
}

/// [`normalize`] on one plane.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma"))]
fn normalize_plane<A: Act>(x: &[f32], y: &mut [f32], scale: f32, shift: f32) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = A::value(x * scale + shift);
    }
}

/// `z = scale·x + shift` per channel, with `scale = γ/sqrt(σ² + ε)`, `shift = β − μ·scale`.
struct Affine {
    inv_std: Vec<f32>,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Affine {
    fn new(gamma: &[f32], beta: &[f32], mean: &[f32], variance: &[f32], epsilon: f64) -> Self {
        let inv_std: Vec<f32> =
            variance.iter().map(|&v| (1.0 / (f64::from(v) + epsilon).sqrt()) as f32).collect();
        let scale: Vec<f32> = gamma.iter().zip(&inv_std).map(|(g, s)| g * s).collect();
        let shift = beta.iter().zip(mean).zip(&scale).map(|((b, m), s)| b - m * s).collect();
        Self { inv_std, scale, shift }
    }
}

struct Forward {
    output: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
}

fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
    act: Activation,
) -> Forward {
    let (n, c, hw) = dims(x);
    let values = slice(x);
    let m = (n * hw).max(1) as f64;
    // Sums shifted by the channel's first value, against cancellation in E[x²] − E[x]².
    let stats: Vec<(f32, f32)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let pivot = values.get(ch * hw).copied().unwrap_or(0.0);
            let (mut sum, mut squares) = (0.0f64, 0.0f64);
            for i in 0..n {
                let at = (i * c + ch) * hw;
                let (s1, s2) = shifted_sums(&values[at..at + hw], pivot);
                sum += f64::from(s1);
                squares += f64::from(s2);
            }
            let mean_shift = sum / m;
            (
                ((f64::from(pivot) + mean_shift) as f32),
                ((squares / m - mean_shift * mean_shift).max(0.0) as f32),
            )
        })
        .collect();
    let mean: Vec<f32> = stats.iter().map(|s| s.0).collect();
    let variance: Vec<f32> = stats.iter().map(|s| s.1).collect();
    let affine =
        Affine::new(&channel_values(gamma), &channel_values(beta), &mean, &variance, epsilon);
    let output = match act {
        Activation::None => normalize::<Identity>(values, c, hw, &affine),
        Activation::Relu => normalize::<Relu>(values, c, hw, &affine),
        Activation::Relu6 => normalize::<Relu6>(values, c, hw, &affine),
    };
    Forward {
        output: FlexTensor::from_data(TensorData::new(output, x.layout().shape().clone())),
        mean: FlexTensor::from_data(TensorData::new(mean, [c])),
        variance: FlexTensor::from_data(TensorData::new(variance, [c])),
    }
}

/// `Σ (x − p)` and `Σ (x − p)²` over one plane, in eight f32 lanes.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2+fma"))]
fn shifted_sums(x: &[f32], pivot: f32) -> (f32, f32) {
    let mut sum = [0.0f32; 8];
    let mut squares = [0.0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for x in &mut chunks {
        for l in 0..8 {
            let d = x[l] - pivot;
            sum[l] += d;
            squares[l] += d * d;
        }
    }
    let (mut s, mut q) = (sum.iter().sum::<f32>(), squares.iter().sum::<f32>());
    for &x in chunks.remainder() {
        let d = x - pivot;
        s += d;
        q += d * d;
    }
    (s, q)
}

/// `(N, C, H·W)` of an `[N, C, ...]` tensor.
fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let shape = x.layout().shape();
    let (n, c) = (shape[0], shape[1]);
    (n, c, shape.num_elements() / (n * c).max(1))
}

fn channel_values(t: &FlexTensor) -> Vec<f32> {
    slice(&contiguous(t.clone())).to_vec()
}
