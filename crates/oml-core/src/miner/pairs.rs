//! Pair miners (pytorch-metric-learning's `MultiSimilarityMiner` and `PairMarginMiner`): which
//! positive and negative pairs of a batch a pair loss uses.

use burn::tensor::Tensor;

use super::base::MinerError;

/// A set of ordered pairs `(a, b)` of a batch: a positive set or a negative set, row-major
/// `[B * B]` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinedPairs {
    /// Batch size B.
    pub batch: usize,
    /// `pos[a * B + p]`: the pair (a, p) is a mined positive pair (same label, `a ≠ p`).
    pub pos: Vec<bool>,
    /// `neg[a * B + n]`: the pair (a, n) is a mined negative pair (labels differ).
    pub neg: Vec<bool>,
}

impl MinedPairs {
    /// Every pair of the batch (PML `get_all_pairs_indices`): what a pair loss uses without a
    /// miner.
    pub fn all(labels: &[u32]) -> Self {
        let b = labels.len();
        let mut pos = vec![false; b * b];
        let mut neg = vec![false; b * b];
        for (i, &x) in labels.iter().enumerate() {
            for (j, &y) in labels.iter().enumerate() {
                pos[i * b + j] = x == y && i != j;
                neg[i * b + j] = x != y;
            }
        }
        Self { batch: b, pos, neg }
    }

    /// Number of positive pairs.
    pub fn n_pos(&self) -> usize {
        self.pos.iter().filter(|&&p| p).count()
    }

    /// Number of negative pairs.
    pub fn n_neg(&self) -> usize {
        self.neg.iter().filter(|&&n| n).count()
    }
}

/// Picks pairs from a batch for a pair loss.
pub trait PairMiner: std::fmt::Debug + Send + Sync {
    /// The mined pairs, a subset of [`MinedPairs::all`].
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]`.
    fn mine_pairs(&self, features: &Tensor<2>, labels: &[u32]) -> Result<MinedPairs, MinerError>;
}

/// Detached features read back, rows L2-normalised (divided by `max(‖x‖, 1e-12)`), and their
/// dot products `[B * B]`: the cosine similarity matrix PML's miners compute on.
pub(crate) fn cosine_matrix(features: &Tensor<2>) -> Result<Vec<f32>, MinerError> {
    let x = features.clone().detach();
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    let x = x / norm;
    x.clone()
        .matmul(x.transpose())
        .try_into_vec_as::<f32>()
        .map_err(|e| MinerError::Readback(format!("{e:?}")))
}

/// Euclidean distances of the L2-normalised rows (PML's default `LpDistance`), `[B * B]`, from
/// their cosine similarities: `sqrt(max(2 − 2 cos, 0))`, 0 on the diagonal.
pub(crate) fn normalised_distance_matrix(features: &Tensor<2>) -> Result<Vec<f32>, MinerError> {
    let b = features.dims()[0];
    let mut d = cosine_matrix(features)?;
    for (i, v) in d.iter_mut().enumerate() {
        *v = if i / b == i % b { 0.0 } else { (2.0 - 2.0 * *v).max(0.0).sqrt() };
    }
    Ok(d)
}

/// Checks one label per feature row.
fn check_rows(features: &Tensor<2>, labels: &[u32]) -> Result<usize, MinerError> {
    let b = features.dims()[0];
    if b == labels.len() {
        Ok(b)
    } else {
        Err(MinerError::LengthMismatch { features: b, labels: labels.len() })
    }
}

/// PML's `MultiSimilarityMiner` (Wang et al. 2019, the mining step of the multi-similarity
/// loss; `miners/multi_similarity_miner.py`, cosine similarity `s`): a positive pair `(a, p)` is
/// kept when `s_ap − ε < max_n s_an` (harder than the anchor's easiest negative allows), a
/// negative pair `(a, n)` when `s_an + ε > min_p s_ap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiSimilarityMiner {
    /// The margin ε. PML's default 0.1.
    pub epsilon: f32,
}

impl PairMiner for MultiSimilarityMiner {
    fn mine_pairs(&self, features: &Tensor<2>, labels: &[u32]) -> Result<MinedPairs, MinerError> {
        let b = check_rows(features, labels)?;
        let all = MinedPairs::all(labels);
        let mut mined = MinedPairs { batch: b, pos: vec![false; b * b], neg: vec![false; b * b] };
        if all.n_pos() == 0 || all.n_neg() == 0 {
            return Ok(mined);
        }
        let s = cosine_matrix(features)?;
        for a in 0..b {
            let row = a * b..(a + 1) * b;
            let (pos, neg, sims) = (&all.pos[row.clone()], &all.neg[row.clone()], &s[row.clone()]);
            let fold = |keep: &[bool], init: f32, f: fn(f32, f32) -> f32| {
                sims.iter().zip(keep).filter(|(_, k)| **k).fold(init, |m, (&v, _)| f(m, v))
            };
            let hardest_neg = fold(neg, f32::NEG_INFINITY, f32::max);
            let hardest_pos = fold(pos, f32::INFINITY, f32::min);
            for j in 0..b {
                mined.pos[a * b + j] = pos[j] && sims[j] - self.epsilon < hardest_neg;
                mined.neg[a * b + j] = neg[j] && sims[j] + self.epsilon > hardest_pos;
            }
        }
        Ok(mined)
    }
}

/// PML's `PairMarginMiner` (`miners/pair_margin_miner.py`, Euclidean distance `d` of the
/// L2-normalised embeddings): positive pairs with `d > pos_margin` and negative pairs with
/// `d < neg_margin`, the pairs that break their margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairMarginMiner {
    /// PML's default 0.2.
    pub pos_margin: f32,
    /// PML's default 0.8.
    pub neg_margin: f32,
}

impl PairMiner for PairMarginMiner {
    fn mine_pairs(&self, features: &Tensor<2>, labels: &[u32]) -> Result<MinedPairs, MinerError> {
        check_rows(features, labels)?;
        let mut mined = MinedPairs::all(labels);
        let d = normalised_distance_matrix(features)?;
        for (i, &dist) in d.iter().enumerate() {
            mined.pos[i] &= dist > self.pos_margin;
            mined.neg[i] &= dist < self.neg_margin;
        }
        Ok(mined)
    }
}
