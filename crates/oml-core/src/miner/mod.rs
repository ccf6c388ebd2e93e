//! Triplet miners: which (anchor, positive, negative) rows of a batch the triplet loss uses.

mod all_triplets;
mod base;
mod config;
mod hard_cluster;
mod hard_triplets;
mod n_hard_triplets;
mod with_bank;
mod with_memory;

pub use all_triplets::AllTripletsMiner;
pub use base::{
    MinedTriplets, MinerError, TripletMiner, TripletSource, Triplets, check_domains, check_labels,
    gather_rows,
};
pub use config::{DynMiner, MinerConfig};
pub use hard_cluster::HardClusterMiner;
pub use hard_triplets::HardTripletsMiner;
pub use n_hard_triplets::{HardestRange, NHardTripletsMiner};
pub use with_bank::MinerWithBank;
pub use with_memory::TripletMinerWithMemory;
