//! Row normalisation of embeddings.

use burn::tensor::Tensor;

/// `x / max(‖x‖₂, 1e-12)` per row (PyTorch's `F.normalize`, which OML's `normalise` calls).
///
/// # Shapes
/// `[B, D]` → `[B, D]`.
pub fn l2_normalise(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}
