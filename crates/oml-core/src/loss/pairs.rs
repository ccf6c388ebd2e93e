//! What the pair-based losses share (pytorch-metric-learning's `GenericPairLoss` machinery):
//! the positive/negative pair masks of a batch, the cosine similarity matrix, a masked
//! log-sum-exp and PML's reducers. Masks are 0/1 float tensors `[B, B]`.

use burn::tensor::{Tensor, TensorData};

use super::LossError;
use crate::miner::MinedPairs;

/// A loss of a batch of embeddings and their labels alone (no class weights, no state): the
/// pair-based losses of pytorch-metric-learning.
pub trait PairLoss: std::fmt::Debug + Send + Sync {
    /// The loss over the given pairs of the batch (a miner's, or [`MinedPairs::all`]),
    /// reduced to one value. As PML, 0 (with zero gradients) when there is at most one positive
    /// and one negative pair.
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]`, `pairs` of a batch of B → `[1]`.
    fn forward_pairs(
        &self,
        features: Tensor<2>,
        labels: &[u32],
        pairs: &MinedPairs,
    ) -> Result<Tensor<1>, LossError>;

    /// The loss over every pair of the batch (PML without a miner).
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]` → `[1]`.
    fn forward(&self, features: Tensor<2>, labels: &[u32]) -> Result<Tensor<1>, LossError> {
        check_labels(&features, labels)?;
        self.forward_pairs(features, labels, &MinedPairs::all(labels))
    }
}

/// Pairs as 0/1 float masks `[B, B]` on the batch's device: `pos[a, p] = 1` for a positive pair
/// `(a, p)`, `neg[a, n] = 1` for a negative pair. Both directions of a pair count.
pub(crate) struct PairMasks {
    pub(crate) pos: Tensor<2>,
    pub(crate) neg: Tensor<2>,
    /// Number of positive pairs (ordered).
    pub(crate) n_pos: usize,
    /// Number of negative pairs (ordered).
    pub(crate) n_neg: usize,
}

impl PairMasks {
    /// The masks of `pairs` for `features`' batch, after checking the labels and that the
    /// pairs are of a batch of that size.
    pub(crate) fn of(
        features: &Tensor<2>,
        labels: &[u32],
        pairs: &MinedPairs,
    ) -> Result<Self, LossError> {
        let b = check_labels(features, labels)?;
        if pairs.batch != b || pairs.pos.len() != b * b || pairs.neg.len() != b * b {
            return Err(LossError::Shape {
                what: "mined pairs",
                expected: format!("pairs of a batch of {b}"),
                got: format!("pairs of a batch of {}", pairs.batch),
            });
        }
        let device = features.device();
        let tensor = |flags: &[bool]| {
            let v: Vec<f32> = flags.iter().map(|&f| f32::from(u8::from(f))).collect();
            Tensor::<2>::from_data(TensorData::new(v, [b, b]), &device)
        };
        Ok(Self {
            pos: tensor(&pairs.pos),
            neg: tensor(&pairs.neg),
            n_pos: pairs.n_pos(),
            n_neg: pairs.n_neg(),
        })
    }

    /// PML's `GenericPairLoss` gives 0 when every list of pairs has at most one entry.
    pub(crate) fn too_few(&self) -> bool {
        self.n_pos <= 1 && self.n_neg <= 1
    }
}

/// A zero loss that keeps the graph (zero gradients), as PML's `zero_losses`.
pub(crate) fn zero_loss(features: Tensor<2>) -> Tensor<1> {
    features.sum().mul_scalar(0.0)
}

/// Checks that every margin-like parameter is finite.
pub(crate) fn check_finite(values: &[f64]) -> Result<(), LossError> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(&v) => Err(LossError::BadMargin(v)),
        None => Ok(()),
    }
}

/// Checks that there is one label per row; the batch size.
pub(crate) fn check_labels(features: &Tensor<2>, labels: &[u32]) -> Result<usize, LossError> {
    let b = features.dims()[0];
    if labels.len() == b {
        Ok(b)
    } else {
        Err(LossError::Shape {
            what: "labels",
            expected: b.to_string(),
            got: labels.len().to_string(),
        })
    }
}

/// Rows scaled to unit L2 norm (`torch.nn.functional.normalize`: divided by `max(‖x‖, 1e-12)`).
///
/// # Shapes
/// `[B, D]` → `[B, D]`.
pub(crate) fn l2_normalised(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Cosine similarities of a batch with itself (PML `CosineSimilarity`: normalised rows, then
/// their dot products).
///
/// # Shapes
/// `[B, D]` → `[B, B]`.
pub(crate) fn cosine_self(x: Tensor<2>) -> Tensor<2> {
    let x = l2_normalised(x);
    x.clone().matmul(x.transpose())
}

/// `log Σ_j exp(x[i, j])` over the kept entries of each row (`dim = 1`) or column (`dim = 0`),
/// plus a zero term when `add_one` (`log(1 + Σ exp)`); 0 where nothing is kept (PML
/// `lmu.logsumexp`). Stable: the largest kept value (detached) is taken out first.
///
/// # Shapes
/// `x`, `keep`: `[B, M]` → `[B, 1]` (`dim = 1`) or `[1, M]` (`dim = 0`).
pub(crate) fn masked_logsumexp(
    x: Tensor<2>,
    keep: &Tensor<2>,
    add_one: bool,
    dim: usize,
) -> Tensor<2> {
    let dropped = keep.clone().equal_elem(0.0);
    let x = x.mask_fill(dropped, f32::MIN);
    let mut max = x.clone().detach().max_dim(dim);
    if add_one {
        max = max.clamp_min(0.0);
    }
    let mut sum = ((x - max.clone()).exp() * keep.clone()).sum_dim(dim);
    if add_one {
        sum = sum + max.clone().neg().exp();
    }
    let any = keep.clone().sum_dim(dim).clamp_max(1.0);
    // Rows with nothing kept: sum is 0 (log → -inf) unless add_one; make them log(1) first.
    let sum = sum + any.clone().neg().add_scalar(1.0);
    (max + sum.log()) * any
}

/// PML's `AvgNonZeroReducer`: the mean of the values above 0, or 0 when none is. The count is a
/// constant of the graph, as in PML.
///
/// # Shapes
/// `[N]` → `[1]`.
pub(crate) fn mean_of_non_zero(values: Tensor<1>) -> Tensor<1> {
    let count = values.clone().detach().greater_elem(0.0).float().sum().clamp_min(1.0);
    values.sum() / count
}

/// Mean cosine similarity of the positive pairs minus that of the negative pairs: how far
/// apart the batch's labels are, what training with a pair loss shows beside the loss (NaN
/// without positive or negative pairs).
pub fn similarity_gap(features: Tensor<2>, labels: &[u32]) -> f64 {
    let Ok(masks) = PairMasks::of(&features, labels, &MinedPairs::all(labels)) else {
        return f64::NAN;
    };
    if masks.n_pos == 0 || masks.n_neg == 0 {
        return f64::NAN;
    }
    let s = cosine_self(features.detach());
    let mean = |mask: Tensor<2>, n: usize| {
        let sum = (s.clone() * mask).sum().try_into_vec_as::<f32>().ok();
        sum.and_then(|v| v.first().copied()).map_or(f64::NAN, |v| f64::from(v) / n as f64)
    };
    mean(masks.pos, masks.n_pos) - mean(masks.neg, masks.n_neg)
}
