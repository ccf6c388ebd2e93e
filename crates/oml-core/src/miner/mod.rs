//! Miners: which (anchor, positive, negative) rows of a batch the triplet loss uses, and which
//! positive and negative pairs a pair loss uses.

mod all_triplets;
mod base;
mod batch_easy_hard;
mod config;
mod hard_cluster;
mod hard_triplets;
mod n_hard_triplets;
mod pairs;
mod triplet_margin;
mod with_bank;
mod with_memory;

pub use all_triplets::AllTripletsMiner;
pub use base::{
    MinedTriplets, MinerError, TripletMiner, TripletSource, Triplets, check_domains, check_labels,
    gather_rows,
};
pub use batch_easy_hard::{BatchEasyHardMiner, Strategy};
pub use config::{DynMiner, MinerConfig, PairMinerConfig};
pub use hard_cluster::HardClusterMiner;
pub use hard_triplets::HardTripletsMiner;
pub use n_hard_triplets::{HardestRange, NHardTripletsMiner};
pub use pairs::{MinedPairs, MultiSimilarityMiner, PairMarginMiner, PairMiner};
pub use triplet_margin::{TripletMarginMiner, TripletType};
pub use with_bank::MinerWithBank;
pub use with_memory::TripletMinerWithMemory;
