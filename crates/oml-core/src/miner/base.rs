use std::collections::BTreeMap;

use burn::tensor::{Int, Tensor, TensorData};

/// Mined triplets as batch row indices; entry `t` of each list forms triplet `t`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triplets {
    /// Anchor rows.
    pub anchor: Vec<usize>,
    /// Positive rows (the anchor's label).
    pub positive: Vec<usize>,
    /// Negative rows (another label).
    pub negative: Vec<usize>,
}

impl Triplets {
    /// Number of triplets.
    pub fn len(&self) -> usize {
        self.anchor.len()
    }

    /// Whether no triplet was mined.
    pub fn is_empty(&self) -> bool {
        self.anchor.is_empty()
    }
}

/// A batch a miner cannot mine (OML asserts these in `_check_input_labels`,
/// `interfaces/miners.py:59`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MinerError {
    /// A batch of one label (the count given): no negatives.
    #[error("the batch has {0} distinct label(s); mining needs at least 2")]
    TooFewLabels(usize),
    /// A label without a positive in the batch.
    #[error("label {label} occurs once in the batch; every label needs at least 2 samples")]
    SingletonLabel {
        /// The label.
        label: u32,
    },
    /// One label per feature row was expected.
    #[error("{features} feature rows but {labels} labels")]
    LengthMismatch {
        /// Feature rows.
        features: usize,
        /// Labels.
        labels: usize,
    },
    /// The device could not give the features back (its reason).
    #[error("cannot read the features back from the device: {0}")]
    Readback(String),
    /// A hardest-range or bank size out of range (what it was).
    #[error("invalid hardest-range {0}: counts start at 1 and `to` must not be below `from`")]
    BadRange(String),
    /// A miner setting out of range (which, and why).
    #[error("invalid miner setting: {0}")]
    BadSetting(String),
    /// A memory bank fed batches of another size than its first.
    #[error("the memory bank was sized for batches of {expected} rows, got {got}")]
    BatchSizeChanged {
        /// Rows of the first batch.
        expected: usize,
        /// Rows of this one.
        got: usize,
    },
    /// A batch that is not P x K (hard-cluster mining needs it).
    #[error("label {label} has {count} samples but the batch needs {expected} for every label")]
    Unbalanced {
        /// The label.
        label: u32,
        /// Its samples in the batch.
        count: usize,
        /// The samples every label needs (the first label's).
        expected: usize,
    },
    /// The miner cannot mine across domains.
    #[error("this miner cannot mine across domains (only hard_triplets and all_triplets can)")]
    NoCrossDomain,
    /// One domain per label was expected.
    #[error("{domains} domains for {labels} labels")]
    DomainsMismatch {
        /// Domains given.
        domains: usize,
        /// Labels given.
        labels: usize,
    },
    /// No row has a positive and a negative of another domain.
    #[error(
        "no row of the batch has both a positive and a negative of another domain; a batch \
         needs every label drawn from at least two domains"
    )]
    NoTripletAcrossDomains,
}

/// Picks triplets from a batch (OML's `ITripletsMinerInBatch`). A miner writes only its own
/// part ([`Self::mine_checked`], and [`Self::mine_checked_across`] if it can mine across
/// domains); [`Self::sample`] and [`Self::sample_across`] check the batch once for all.
pub trait TripletMiner {
    /// The miner's own part of [`Self::sample`], on a batch [`check_labels`] accepted.
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]`.
    fn mine_checked(&self, features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError>;

    /// The miner's own part of [`Self::sample_across`], on a batch whose labels and domains
    /// were checked. Miners that cannot mine across domains keep this default.
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]`, `domains`: `[B]`.
    fn mine_checked_across(
        &self,
        _features: &Tensor<2>,
        _labels: &[u32],
        _domains: &[u32],
    ) -> Result<Triplets, MinerError> {
        Err(MinerError::NoCrossDomain)
    }

    /// The batch's triplets: [`check_labels`], then the miner's own part.
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]`.
    fn sample(&self, features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError> {
        check_labels(features.dims()[0], labels)?;
        self.mine_checked(features, labels)
    }

    /// Cross-domain mining: as [`Self::sample`], but an anchor's positives and negatives are
    /// only rows of another domain than its own (`domains[i]` is row i's), the triplets a
    /// retrieval from one domain into another meets: a query never competes with its own
    /// domain's drawings there. An error when the batch has no such triplet, or the miner
    /// cannot mine this way.
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]`, `domains`: `[B]`.
    fn sample_across(
        &self,
        features: &Tensor<2>,
        labels: &[u32],
        domains: &[u32],
    ) -> Result<Triplets, MinerError> {
        check_labels(features.dims()[0], labels)?;
        check_domains(labels, domains)?;
        let t = self.mine_checked_across(features, labels, domains)?;
        if t.is_empty() {
            return Err(MinerError::NoTripletAcrossDomains);
        }
        Ok(t)
    }
}

/// Mined triplets as feature rows, `[T, D]` each: what a triplet loss consumes.
#[derive(Debug, Clone)]
pub struct MinedTriplets {
    /// `[T, D]` anchors.
    pub anchor: Tensor<2>,
    /// `[T, D]` positives.
    pub positive: Tensor<2>,
    /// `[T, D]` negatives.
    pub negative: Tensor<2>,
    /// For miners that also draw from outside the batch (OML's `is_original_tri`): `true` for
    /// triplets made of batch rows only. `None` when all are.
    pub is_original: Option<Vec<bool>>,
}

/// Anything that turns a batch into triplet features: every [`TripletMiner`] (by gathering
/// its rows, so gradients flow to all three), and miners whose triplets are not batch rows
/// (e.g. [`super::HardClusterMiner`]'s label means).
pub trait TripletSource {
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]` → three `[T, D]`.
    fn mine(&self, features: Tensor<2>, labels: &[u32]) -> Result<MinedTriplets, MinerError>;

    /// Cross-domain mining ([`TripletMiner::sample_across`]).
    ///
    /// # Shapes
    /// `features`: `[B, D]`, `labels`: `[B]`, `domains`: `[B]` → three `[T, D]`.
    fn mine_across(
        &self,
        _features: Tensor<2>,
        _labels: &[u32],
        _domains: &[u32],
    ) -> Result<MinedTriplets, MinerError> {
        Err(MinerError::NoCrossDomain)
    }
}

impl<M: TripletMiner> TripletSource for M {
    fn mine(&self, features: Tensor<2>, labels: &[u32]) -> Result<MinedTriplets, MinerError> {
        let t = self.sample(&features, labels)?;
        Ok(gathered(&features, &t))
    }

    fn mine_across(
        &self,
        features: Tensor<2>,
        labels: &[u32],
        domains: &[u32],
    ) -> Result<MinedTriplets, MinerError> {
        let t = self.sample_across(&features, labels, domains)?;
        Ok(gathered(&features, &t))
    }
}

fn gathered(features: &Tensor<2>, t: &Triplets) -> MinedTriplets {
    MinedTriplets {
        anchor: gather_rows(features, &t.anchor),
        positive: gather_rows(features, &t.positive),
        negative: gather_rows(features, &t.negative),
        is_original: None,
    }
}

/// Checks `domains` against `labels` for cross-domain mining.
pub fn check_domains(labels: &[u32], domains: &[u32]) -> Result<(), MinerError> {
    if domains.len() == labels.len() {
        Ok(())
    } else {
        Err(MinerError::DomainsMismatch { domains: domains.len(), labels: labels.len() })
    }
}

/// Rows `ids` of `features`.
///
/// # Shapes
/// `features`: `[B, D]`, `ids`: `[T]` → `[T, D]`.
pub fn gather_rows(features: &Tensor<2>, ids: &[usize]) -> Tensor<2> {
    let device = features.device();
    let ids: Vec<i64> = ids.iter().map(|&i| i64::try_from(i).unwrap_or(i64::MAX)).collect();
    let len = ids.len();
    features.clone().select(0, Tensor::<1, Int>::from_data(TensorData::new(ids, [len]), &device))
}

/// ≥ 2 distinct labels and every label at least twice; also `features` rows == labels.
pub fn check_labels(n_features: usize, labels: &[u32]) -> Result<(), MinerError> {
    if n_features != labels.len() {
        return Err(MinerError::LengthMismatch { features: n_features, labels: labels.len() });
    }
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for &l in labels {
        *counts.entry(l).or_default() += 1;
    }
    if counts.len() < 2 {
        return Err(MinerError::TooFewLabels(counts.len()));
    }
    match counts.into_iter().find(|&(_, c)| c < 2) {
        Some((label, _)) => Err(MinerError::SingletonLabel { label }),
        None => Ok(()),
    }
}

/// Pairwise distances of a batch, detached and read back, row-major `[B * B]`.
pub(crate) fn distance_matrix(features: &Tensor<2>) -> Result<Vec<f32>, MinerError> {
    crate::pairwise::pairwise_euclidean_self(features.clone().detach())
        .try_into_vec_as::<f32>()
        .map_err(|e| MinerError::Readback(format!("{e:?}")))
}
