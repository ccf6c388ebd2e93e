//! Triplet miners: which (anchor, positive, negative) rows of a batch the triplet loss uses.

mod all_triplets;
mod base;
mod hard_triplets;

pub use all_triplets::AllTripletsMiner;
pub use base::{MinerError, TripletMiner, Triplets, check_labels};
pub use hard_triplets::HardTripletsMiner;
