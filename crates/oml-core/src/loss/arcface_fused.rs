//! ArcFace's margin, softmax and cross-entropy as one CPU operation with a hand-written
//! backward pass: a burn backend extension for the flex (CPU) backend, with and without
//! autodiff. [`super::ArcFaceLoss`] takes this path on flex devices; other backends keep the
//! tensor-op formulation (same value and gradients: `tests/arcface_fused.rs`).
//!
//! With `x̂` the L2-normalised embeddings `[B, D]`, `W` the class weights `[C, D]` and
//! `ν_c = 1 / max(‖w_c‖, 1e-12)`:
//!
//! * forward: `R = x̂ Wᵀ` (one GEMM), `cos_bc = R_bc ν_c`, logits `z_bc = s·cos_bc` except
//!   `z_by = s·φ(cos_by)` with `φ(c) = c·cos m − sin(c)·sin m` if `c > −cos m`, else
//!   `c − m·sin m` (OML `losses/arcface.py`), `ℓ_b = lse(z_b) − Σ_c t_bc z_bc` with the
//!   smoothed targets `t` of [`super::cross_entropy`];
//! * backward, for upstream gradients `g_b`: `A_bc = g_b (p_bc − t_bc) s ν_c` (times
//!   `φ'(cos_by)` on the label column) is `∂L/∂R`; then `∂L/∂x̂ = A W` and
//!   `∂L/∂w_c = (Aᵀ x̂)_c − ν_c (Σ_b A_bc cos_bc) w_c` (two GEMMs and one pass over `W`).
//!
//! Against the tensor-op formulation this replaces the passes over `W` (its norms and their
//! gradient) and the dozen passes over the `[B, C]` logits (division by the norms, gather,
//! scatter, softmax, and each one's backward) by one pass over each, row by row in cache;
//! the GEMMs are flex's own `float_matmul`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, DispatchDevice, Flex, backend_extension};
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

/// Everything but the tensors: labels, margin, scale and targets.
#[derive(Debug, Clone)]
pub(crate) struct ArcFaceSpec {
    pub labels: Vec<u32>,
    pub m: f64,
    pub s: f64,
    pub epsilon: f64,
    /// Class → category, for smoothing within the sample's category.
    pub category: Option<Vec<u32>>,
}

/// The fused operation. Output `[B, 2]`: column 0 is `ℓ_b`, column 1 is 1 when the class
/// of largest cosine (before the margin) is the label, else 0 (the accuracy; no gradient).
#[backend_extension(Flex, Autodiff)]
pub(crate) trait ArcFaceOps: Backend {
    fn arcface_cross_entropy(
        x_hat: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        spec: ArcFaceSpec,
    ) -> FloatTensor<Self>;
}

/// Whether `device` runs the fused operation (flex, with or without autodiff).
pub(crate) fn available(device: &Device) -> bool {
    matches!(device.clone().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// `[B, D]`, `[C, D]` → `[B, 2]` (see [`ArcFaceOps`]); `x_hat` rows must be unit vectors.
pub(crate) fn arcface_cross_entropy(
    x_hat: Tensor<2>,
    weight: Tensor<2>,
    spec: ArcFaceSpec,
) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as ArcFaceOps>::arcface_cross_entropy(
        x_hat.into_dispatch(),
        weight.into_dispatch(),
        spec,
    ))
}

impl ArcFaceOps for Flex {
    fn arcface_cross_entropy(
        x_hat: FlexTensor,
        weight: FlexTensor,
        spec: ArcFaceSpec,
    ) -> FlexTensor {
        forward(x_hat, &weight, &spec).output
    }
}

impl<C: CheckpointStrategy> ArcFaceOps for Autodiff<Flex, C> {
    fn arcface_cross_entropy(
        x_hat: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        spec: ArcFaceSpec,
    ) -> FloatTensor<Self> {
        match ArcFaceBackward.prepare::<C>([x_hat.node(), weight.node()]).compute_bound().stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, w) = (x_hat.primitive().clone(), weight.primitive().clone());
                let f = forward(x.clone(), &w, &spec);
                let state =
                    State { x_hat: x, weight: w, cos: f.cos, grad: f.grad, inv_norm: f.inv_norm };
                prep.finish(state, f.output)
            }
            OpsKind::UnTracked(prep) => {
                let w = weight.into_primitive();
                prep.finish(forward(x_hat.into_primitive(), &w, &spec).output)
            }
        }
    }
}

#[derive(Debug)]
struct ArcFaceBackward;

/// What the backward pass needs: the inputs, `cos` `[B, C]`, `∂ℓ_b/∂R_bc` `[B, C]` and `ν`.
#[derive(Debug, Clone)]
struct State {
    x_hat: FlexTensor,
    weight: FlexTensor,
    cos: FlexTensor,
    grad: FlexTensor,
    inv_norm: Vec<f32>,
}

impl Backward<Flex, 2> for ArcFaceBackward {
    type State = State;

    fn backward(self, ops: Ops<State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let upstream = contiguous(grads.consume::<Flex>(&ops.node));
        let State { x_hat, weight, cos, grad, inv_norm } = ops.state;
        let c = inv_norm.len();
        let g: Vec<f32> = slice(&upstream).chunks_exact(2).map(|r| r[0]).collect();

        // A = g ⊙ ∂ℓ/∂R, and k_c = ν_c Σ_b A_bc cos_bc, in row blocks with partial sums.
        let mut a = contiguous(grad);
        let cos = contiguous(cos);
        let rows_per_block = g.len().div_ceil(rayon::current_num_threads().max(1) * 4).max(1);
        let k = slice_mut(&mut a)
            .par_chunks_mut(rows_per_block * c)
            .zip(slice(&cos).par_chunks(rows_per_block * c))
            .zip(g.par_chunks(rows_per_block))
            .map(|((a, cos), g)| {
                let mut k = vec![0.0f32; c];
                for ((a, cos), &g) in a.chunks_exact_mut(c).zip(cos.chunks_exact(c)).zip(g) {
                    for ((a, &cos), k) in a.iter_mut().zip(cos).zip(&mut k) {
                        *a *= g;
                        *k += *a * cos;
                    }
                }
                k
            })
            .reduce_with(|mut x, y| {
                x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
                x
            })
            .unwrap_or_else(|| vec![0.0; c]);

        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, Flex::float_matmul(a.clone(), weight.clone()));
        }
        if let Some(node) = node_w {
            let mut dw = contiguous(Flex::float_matmul(Flex::float_transpose(a), x_hat));
            let weight = contiguous(weight);
            let d = weight.layout().shape()[1];
            slice_mut(&mut dw)
                .par_chunks_mut(d)
                .zip(slice(&weight).par_chunks(d))
                .zip(k.par_iter().zip(&inv_norm))
                .for_each(|((dw, w), (&k, &nu))| {
                    let k = k * nu;
                    dw.iter_mut().zip(w).for_each(|(dw, &w)| *dw -= k * w);
                });
            grads.register::<Flex>(node.id, dw);
        }
    }
}

struct Forward {
    output: FlexTensor,
    cos: FlexTensor,
    grad: FlexTensor,
    inv_norm: Vec<f32>,
}

fn forward(x_hat: FlexTensor, weight: &FlexTensor, spec: &ArcFaceSpec) -> Forward {
    let weight_c = contiguous(weight.clone());
    let [c, d] = dims2(&weight_c);
    let inv_norm: Vec<f32> = slice(&weight_c)
        .par_chunks(d.max(1))
        .map(|w| 1.0 / w.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12))
        .collect();
    let mut cos = contiguous(Flex::float_matmul(x_hat, Flex::float_transpose(weight.clone())));
    let b = spec.labels.len();
    let mut grad = vec![0.0f32; b * c];
    let mut output = vec![0.0f32; b * 2];
    let targets = Targets::new(spec, c);
    slice_mut(&mut cos)
        .par_chunks_mut(c)
        .zip(grad.par_chunks_mut(c))
        .zip(output.par_chunks_mut(2))
        .zip(&spec.labels)
        .for_each(|(((cos, grad), out), &y)| {
            row(cos, grad, out, y as usize, &inv_norm, spec, &targets);
        });
    Forward {
        output: FlexTensor::from_data(TensorData::new(output, [b, 2])),
        cos,
        grad: FlexTensor::from_data(TensorData::new(grad, [b, c])),
        inv_norm,
    }
}

/// One sample: turns `R_b` into `cos_b` in place, writes `∂ℓ_b/∂R_b` into `grad`, and
/// `[ℓ_b, correct]` into `out`.
fn row(
    cos: &mut [f32],
    grad: &mut [f32],
    out: &mut [f32],
    y: usize,
    inv_norm: &[f32],
    spec: &ArcFaceSpec,
    targets: &Targets,
) {
    let s = spec.s as f32;
    let mut best = (f32::NEG_INFINITY, 0usize);
    for (i, (r, &nu)) in cos.iter_mut().zip(inv_norm).enumerate() {
        *r *= nu;
        if *r > best.0 {
            best = (*r, i);
        }
    }
    let (phi, dphi) = margin(f64::from(cos[y]), spec.m);
    let z_y = (spec.s * phi) as f32;
    let logit = |i: usize, cos: f32| if i == y { z_y } else { s * cos };
    let max = cos.iter().enumerate().map(|(i, &v)| logit(i, v)).fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    let mut target_dot = 0.0f64;
    let smoothing = targets.row(y);
    for (i, (&v, e)) in cos.iter().zip(grad.iter_mut()).enumerate() {
        let z = logit(i, v);
        *e = (z - max).exp();
        sum += f64::from(*e);
        target_dot += f64::from(smoothing.at(i)) * f64::from(z);
    }
    target_dot += (1.0 - spec.epsilon) * f64::from(z_y);
    let inv_sum = (1.0 / sum) as f32;
    let on_label = (1.0 - spec.epsilon) as f32;
    for (i, (e, &nu)) in grad.iter_mut().zip(inv_norm).enumerate() {
        let mut dz = *e * inv_sum - smoothing.at(i);
        if i == y {
            dz -= on_label;
            let dphi = dphi as f32;
            dz *= dphi;
        }
        *e = dz * s * nu;
    }
    let loss = (f64::from(max) + sum.ln() - target_dot) as f32;
    out[0] = loss;
    out[1] = if best.1 == y { 1.0 } else { 0.0 };
}

/// `φ(c)` and `φ'(c)`: the additive angular margin on the label's cosine, with OML's fallback
/// `c − m·sin m` where `θ + m` would pass π (`c ≤ −cos m`).
fn margin(cos: f64, m: f64) -> (f64, f64) {
    let (cos_m, sin_m) = (m.cos(), m.sin());
    if cos <= -cos_m {
        return (cos - sin_m * m, 1.0);
    }
    let sin = (1.0 - cos * cos).max(0.0).sqrt();
    // d sin / d cos = −cos / sin is unbounded at |cos| = 1, where the tensor ops (and OML)
    // give NaN; a floor on sin keeps the gradient finite (there ∂cos/∂x̂ → 0 as fast).
    (cos * cos_m - sin * sin_m, cos_m + sin_m * cos / sin.max(1e-6))
}

/// The smoothing part of the targets, without materialising `[B, C]`.
enum Targets {
    None,
    Uniform(f32),
    /// Class → category, and each category's share `ε / |k|`.
    WithinCategory {
        category: Vec<u32>,
        share: Vec<f32>,
    },
}

#[derive(Clone, Copy)]
enum RowTargets<'a> {
    Zero,
    Uniform(f32),
    Category { category: &'a [u32], own: u32, share: f32 },
}

impl RowTargets<'_> {
    #[inline]
    fn at(self, class: usize) -> f32 {
        match self {
            Self::Zero => 0.0,
            Self::Uniform(share) => share,
            Self::Category { category, own, share } => {
                if category[class] == own {
                    share
                } else {
                    0.0
                }
            }
        }
    }
}

impl Targets {
    fn new(spec: &ArcFaceSpec, c: usize) -> Self {
        if spec.epsilon <= 0.0 {
            return Self::None;
        }
        match &spec.category {
            None => Self::Uniform((spec.epsilon / c as f64) as f32),
            Some(category) => {
                let n = category.iter().max().map_or(0, |&k| k as usize + 1);
                let mut size = vec![0usize; n];
                category.iter().for_each(|&k| size[k as usize] += 1);
                let share = size.iter().map(|&s| (spec.epsilon / s.max(1) as f64) as f32).collect();
                Self::WithinCategory { category: category.clone(), share }
            }
        }
    }

    fn row(&self, label: usize) -> RowTargets<'_> {
        match self {
            Self::None => RowTargets::Zero,
            Self::Uniform(share) => RowTargets::Uniform(*share),
            Self::WithinCategory { category, share } => {
                let own = category[label];
                RowTargets::Category { category, own, share: share[own as usize] }
            }
        }
    }
}

/// `t` as a dense, row-major buffer of exactly its elements.
fn contiguous(t: FlexTensor) -> FlexTensor {
    let dense = t.is_contiguous()
        && t.layout().start_offset() == 0
        && t.bytes().len() == t.layout().num_elements() * size_of::<f32>();
    if dense { t } else { FlexTensor::from_data(t.into_data()) }
}

fn dims2(t: &FlexTensor) -> [usize; 2] {
    let shape = t.layout().shape();
    [shape[0], shape[1]]
}

/// The elements of a tensor from [`contiguous`].
fn slice(t: &FlexTensor) -> &[f32] {
    t.storage::<f32>()
}

/// Mutable elements of a tensor from [`contiguous`], copied first when the buffer is shared.
fn slice_mut(t: &mut FlexTensor) -> &mut [f32] {
    t.storage_mut::<f32>()
}
