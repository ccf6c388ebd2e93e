use serde::{Deserialize, Serialize};

use super::all_triplets::AllTripletsMiner;
use super::base::{MinedTriplets, MinerError, TripletSource};
use super::hard_cluster::HardClusterMiner;
use super::hard_triplets::HardTripletsMiner;
use super::n_hard_triplets::{HardestRange, NHardTripletsMiner};
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
/// * `with_memory`: `bank_size_in_batches`, `tri_expand_k` (required), `seed` (default 0).
///
/// OML's registry names are accepted too: `miner_with_bank` for `with_bank` and
/// `triplets_with_memory` for `with_memory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        })
    }
}
