//! Distances between embedding tensors, with gradients: what the losses and the miners
//! compute on (the retrieval code computes on plain slices: `retrieval::Distance`).

use burn::tensor::Tensor;

/// Squared distances below this are treated as 0: the square root gets no gradient there,
/// as `torch.cdist`'s backward gives 0 for identical vectors (instead of 0/0).
const MIN_SQUARED: f64 = 1e-30;

/// `d[i] = ‖a_i − b_i‖₂`, not squared (OML `elementwise_dist`, `utils/misc_torch.py:91`).
///
/// # Shapes
/// `a`, `b`: `[N, D]` → `[N]`.
pub fn elementwise_euclidean(a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    let squared = (a - b).square().sum_dim(1).squeeze_dim::<1>(1);
    squared.clamp_min(MIN_SQUARED).sqrt()
}

/// `d[i, j] = ‖x_i − y_j‖₂` by `sqrt(max(‖x‖² + ‖y‖² − 2 x·y, 0))` (as `torch.cdist` for more
/// than 25 rows; OML `pairwise_dist`).
///
/// # Shapes
/// `x`: `[B, D]`, `y`: `[M, D]` → `[B, M]`.
pub fn pairwise_euclidean(x: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
    let x_sq = x.clone().square().sum_dim(1); // [B, 1]
    let y_sq = y.clone().square().sum_dim(1).transpose(); // [1, M]
    let dot = x.matmul(y.transpose()); // [B, M]
    let squared = x_sq + y_sq - dot.mul_scalar(2.0);
    squared.clamp_min(MIN_SQUARED).sqrt()
}

/// [`pairwise_euclidean`] of a batch with itself, with an exact zero (and no gradient) on the
/// diagonal, where the product formula would leave rounding noise.
///
/// # Shapes
/// `x`: `[B, D]` → `[B, B]`.
pub fn pairwise_euclidean_self(x: Tensor<2>) -> Tensor<2> {
    let n = x.dims()[0];
    let device = x.device();
    let x_sq = x.clone().square().sum_dim(1);
    let dot = x.clone().matmul(x.transpose());
    let squared = x_sq.clone() + x_sq.transpose() - dot.mul_scalar(2.0);
    let diagonal = Tensor::<2>::eye(n, &device).bool();
    squared.mask_fill(diagonal.clone(), 0.0).clamp_min(MIN_SQUARED).sqrt().mask_fill(diagonal, 0.0)
}
