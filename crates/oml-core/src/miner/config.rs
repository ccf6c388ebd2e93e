use serde::{Deserialize, Serialize};

use super::all_triplets::AllTripletsMiner;
use super::base::{MinedTriplets, MinerError, TripletSource};
use super::batch_easy_hard::{BatchEasyHardMiner, Strategy};
use super::hard_cluster::HardClusterMiner;
use super::hard_triplets::HardTripletsMiner;
use super::n_hard_triplets::{HardestRange, NHardTripletsMiner};
use super::pairs::{MultiSimilarityMiner, PairMarginMiner, PairMiner};
use super::triplet_margin::{TripletMarginMiner, TripletType};
use super::with_bank::MinerWithBank;
use super::with_memory::TripletMinerWithMemory;

/// A miner chosen by name, as a config file names it (the trainer's `criterion.miner`), e.g.
/// `{ name = "n_hard_triplets", n_positive = [2, 5], n_negative = 3 }`. Fields and defaults:
/// * `all_triplets`: `max_output_triplets` (default unlimited), `seed` (default 0);
/// * `hard_triplets`, `hard_cluster`: none;
/// * `n_hard_triplets`: `n_positive`, `n_negative`: an int n (the n hardest) or `[from, to]`
///   (1-based ranks), default 1 each;
/// * `with_bank`: `bank_size_in_batches` (required), `n_positive`, `n_negative` of its N-hard
///   miner (default 1 each);
/// * `with_memory`: `bank_size_in_batches`, `tri_expand_k` (required), `seed` (default 0);
/// * `triplet_margin` (PML's `TripletMarginMiner`): `margin` (0.2), `type_of_triplets`
///   (`all`, `hard`, `semihard`, `easy`; default `all`);
/// * `batch_easy_hard` (PML's `BatchEasyHardMiner`): `pos_strategy` (`easy`), `neg_strategy`
///   (`semihard`), each `hard`, `semihard` or `easy`; `allowed_pos_range`, `allowed_neg_range`
///   (`[lo, hi]`, default none).
///
/// OML's registry names are accepted too: `miner_with_bank` for `with_bank` and
/// `triplets_with_memory` for `with_memory`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum MinerConfig {
    /// [`super::AllTripletsMiner`].
    AllTriplets {
        /// Keep at most this many triplets, drawn at random.
        #[serde(default)]
        max_output_triplets: Option<usize>,
        /// Seed of that draw.
        #[serde(default)]
        seed: u64,
    },
    /// [`super::HardTripletsMiner`].
    HardTriplets {},
    /// [`super::NHardTripletsMiner`].
    NHardTriplets {
        /// Which hardest positives.
        #[serde(default = "hardest")]
        n_positive: HardestRange,
        /// Which hardest negatives.
        #[serde(default = "hardest")]
        n_negative: HardestRange,
    },
    /// [`super::HardClusterMiner`].
    HardCluster {},
    /// [`super::MinerWithBank`]: N-hard mining with a memory bank of past batches.
    #[serde(alias = "miner_with_bank")]
    WithBank {
        /// Batches the bank keeps.
        bank_size_in_batches: usize,
        /// Which hardest positives.
        #[serde(default = "hardest")]
        n_positive: HardestRange,
        /// Which hardest negatives.
        #[serde(default = "hardest")]
        n_negative: HardestRange,
    },
    /// [`super::TripletMinerWithMemory`].
    #[serde(alias = "triplets_with_memory")]
    WithMemory {
        /// Batches the memory keeps.
        bank_size_in_batches: usize,
        /// Triplets drawn with the memory per batch triplet.
        tri_expand_k: usize,
        /// Seed of those draws.
        #[serde(default)]
        seed: u64,
    },
    /// [`super::TripletMarginMiner`].
    TripletMargin {
        /// The margin `d_an − d_ap` must not exceed.
        #[serde(default = "point_two")]
        margin: f32,
        /// Which margin-breaking triplets.
        #[serde(default)]
        type_of_triplets: TripletType,
    },
    /// [`super::BatchEasyHardMiner`].
    BatchEasyHard {
        /// How the positive is picked.
        #[serde(default = "easy")]
        pos_strategy: Strategy,
        /// How the negative is picked.
        #[serde(default = "semihard")]
        neg_strategy: Strategy,
        /// Distances a positive may have.
        #[serde(default)]
        allowed_pos_range: Option<[f32; 2]>,
        /// Distances a negative may have.
        #[serde(default)]
        allowed_neg_range: Option<[f32; 2]>,
    },
}

fn point_two() -> f32 {
    0.2
}
fn easy() -> Strategy {
    Strategy::Easy
}
fn semihard() -> Strategy {
    Strategy::Semihard
}

/// A pair miner chosen by name, as a pair criterion's `miner` names it:
/// * `multi_similarity` (PML's `MultiSimilarityMiner`): `epsilon` (0.1);
/// * `pair_margin` (PML's `PairMarginMiner`): `pos_margin` (0.2), `neg_margin` (0.8).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum PairMinerConfig {
    /// [`super::MultiSimilarityMiner`].
    MultiSimilarity {
        /// The margin ε.
        #[serde(default = "point_one")]
        epsilon: f32,
    },
    /// [`super::PairMarginMiner`].
    PairMargin {
        /// Positive pairs farther than this are kept.
        #[serde(default = "point_two")]
        pos_margin: f32,
        /// Negative pairs nearer than this are kept.
        #[serde(default = "point_eight")]
        neg_margin: f32,
    },
}

fn point_one() -> f32 {
    0.1
}
fn point_eight() -> f32 {
    0.8
}

impl PairMinerConfig {
    /// The miner; an error for a value that is not finite.
    pub fn init(&self) -> Result<Box<dyn PairMiner>, MinerError> {
        let finite = |what: &str, v: f32| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(MinerError::BadSetting(format!("{what} = {v}: must be finite")))
            }
        };
        Ok(match *self {
            Self::MultiSimilarity { epsilon } => {
                finite("epsilon", epsilon)?;
                Box::new(MultiSimilarityMiner { epsilon })
            }
            Self::PairMargin { pos_margin, neg_margin } => {
                finite("pos_margin", pos_margin)?;
                finite("neg_margin", neg_margin)?;
                Box::new(PairMarginMiner { pos_margin, neg_margin })
            }
        })
    }
}

fn hardest() -> HardestRange {
    HardestRange::First(1)
}

/// A miner behind a trait object, as [`MinerConfig::init`] makes it.
pub type DynMiner = Box<dyn TripletSource + Send + Sync>;

impl TripletSource for DynMiner {
    fn mine(
        &self,
        features: burn::tensor::Tensor<2>,
        labels: &[u32],
    ) -> Result<MinedTriplets, MinerError> {
        (**self).mine(features, labels)
    }

    fn mine_across(
        &self,
        features: burn::tensor::Tensor<2>,
        labels: &[u32],
        domains: &[u32],
    ) -> Result<MinedTriplets, MinerError> {
        (**self).mine_across(features, labels, domains)
    }
}

impl MinerConfig {
    /// Whether the miner can mine across domains ([`super::TripletMiner::sample_across`]).
    pub fn mines_across_domains(&self) -> bool {
        matches!(self, Self::AllTriplets { .. } | Self::HardTriplets {})
    }

    /// The miner; an error for a value out of range.
    pub fn init(&self) -> Result<DynMiner, MinerError> {
        Ok(match *self {
            Self::AllTriplets { max_output_triplets, seed } => {
                Box::new(AllTripletsMiner::new(max_output_triplets, seed))
            }
            Self::HardTriplets {} => Box::new(HardTripletsMiner),
            Self::NHardTriplets { n_positive, n_negative } => {
                Box::new(NHardTripletsMiner::new(n_positive, n_negative)?)
            }
            Self::HardCluster {} => Box::new(HardClusterMiner),
            Self::WithBank { bank_size_in_batches, n_positive, n_negative } => {
                Box::new(MinerWithBank::new(
                    bank_size_in_batches,
                    NHardTripletsMiner::new(n_positive, n_negative)?,
                )?)
            }
            Self::WithMemory { bank_size_in_batches, tri_expand_k, seed } => {
                Box::new(TripletMinerWithMemory::new(bank_size_in_batches, tri_expand_k, seed)?)
            }
            Self::TripletMargin { margin, type_of_triplets } => {
                if !margin.is_finite() {
                    return Err(MinerError::BadSetting(format!(
                        "margin = {margin}: must be finite"
                    )));
                }
                Box::new(TripletMarginMiner { margin, type_of_triplets })
            }
            Self::BatchEasyHard {
                pos_strategy,
                neg_strategy,
                allowed_pos_range,
                allowed_neg_range,
            } => {
                for [lo, hi] in allowed_pos_range.into_iter().chain(allowed_neg_range) {
                    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                        return Err(MinerError::BadSetting(format!(
                            "allowed range [{lo}, {hi}]: must be finite with lo <= hi"
                        )));
                    }
                }
                Box::new(BatchEasyHardMiner::new(
                    pos_strategy,
                    neg_strategy,
                    allowed_pos_range,
                    allowed_neg_range,
                )?)
            }
        })
    }
}
