use std::ops::Range;

use burn::tensor::Tensor;

use super::base::{MinerError, TripletMiner, Triplets, distance_matrix};

/// Which of the ranked candidates to keep: the `n` hardest, or the `from`-th to `to`-th
/// hardest (1-based, inclusive), as OML's `n_positive` / `n_negative` (an int or a range).
/// In config files: `3` or `[2, 5]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "RangeSpec", into = "RangeSpec")]
pub enum HardestRange {
    /// The `n` hardest (OML: an int).
    First(usize),
    /// The `from`-th to `to`-th hardest, 1-based inclusive (OML: a `(from, to)` pair).
    Between {
        /// The first, 1-based.
        from: usize,
        /// The last, inclusive.
        to: usize,
    },
}

/// How a [`HardestRange`] is written: `n` or `[from, to]`.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum RangeSpec {
    First(usize),
    Between([usize; 2]),
}

impl From<RangeSpec> for HardestRange {
    fn from(spec: RangeSpec) -> Self {
        match spec {
            RangeSpec::First(n) => Self::First(n),
            RangeSpec::Between([from, to]) => Self::Between { from, to },
        }
    }
}

impl From<HardestRange> for RangeSpec {
    fn from(range: HardestRange) -> Self {
        match range {
            HardestRange::First(n) => Self::First(n),
            HardestRange::Between { from, to } => Self::Between([from, to]),
        }
    }
}

impl HardestRange {
    fn slice(self) -> Result<Range<usize>, MinerError> {
        let range = match self {
            Self::First(n) => 0..n,
            Self::Between { from, to } => from.saturating_sub(1)..to,
        };
        let valid = match self {
            Self::First(n) => n >= 1,
            Self::Between { from, to } => from >= 1 && to >= from,
        };
        if valid { Ok(range) } else { Err(MinerError::BadRange(format!("{self:?}"))) }
    }
}

/// OML `NHardTripletsMiner` (`miners/inbatch_nhard_tri.py`): for every anchor, its positives
/// ranked farthest first and its negatives ranked nearest first; keeps the chosen ranks of
/// each and returns every (positive, negative) combination. `First(1)` for both is
/// [`super::HardTripletsMiner`] without the anchor as its own positive; large ranges approach
/// all triplets. Ranges past the available candidates are cut short.
///
/// Ties are ranked by batch index (OML uses an unstable `argsort`).
#[derive(Debug, Clone)]
pub struct NHardTripletsMiner {
    positive: Range<usize>,
    negative: Range<usize>,
}

impl NHardTripletsMiner {
    /// OML's defaults are `First(1)` for both.
    pub fn new(n_positive: HardestRange, n_negative: HardestRange) -> Result<Self, MinerError> {
        Ok(Self { positive: n_positive.slice()?, negative: n_negative.slice()? })
    }
}

fn take(ranked: &[usize], range: &Range<usize>) -> Vec<usize> {
    ranked
        .get(range.start.min(ranked.len())..range.end.min(ranked.len()))
        .unwrap_or_default()
        .to_vec()
}

impl NHardTripletsMiner {
    /// Mines with only rows `0..n_anchors` as anchors (the rest, e.g. a memory bank, serve as
    /// positives and negatives only: OML's `ignore_anchor_mask`). No label checks.
    pub(crate) fn sample_with_anchors(
        &self,
        features: &Tensor<2>,
        labels: &[u32],
        n_anchors: usize,
    ) -> Result<Triplets, MinerError> {
        let n = features.dims()[0];
        let dist = distance_matrix(features)?;
        let mut t = Triplets::default();
        for (a, row) in dist.chunks_exact(n).enumerate().take(n_anchors) {
            let mut positives: Vec<usize> =
                (0..n).filter(|&j| j != a && labels[j] == labels[a]).collect();
            positives.sort_by(|&x, &y| row[y].total_cmp(&row[x]).then(x.cmp(&y)));
            let mut negatives: Vec<usize> = (0..n).filter(|&j| labels[j] != labels[a]).collect();
            negatives.sort_by(|&x, &y| row[x].total_cmp(&row[y]).then(x.cmp(&y)));
            let negatives = take(&negatives, &self.negative);
            for p in take(&positives, &self.positive) {
                for &ng in &negatives {
                    t.anchor.push(a);
                    t.positive.push(p);
                    t.negative.push(ng);
                }
            }
        }
        Ok(t)
    }
}

impl TripletMiner for NHardTripletsMiner {
    fn mine_checked(&self, features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError> {
        self.sample_with_anchors(features, labels, features.dims()[0])
    }
}
