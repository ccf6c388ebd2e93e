//! Batch samplers: which dataset rows form each batch of an epoch. Indices only, no tensors.

mod balance;
mod base;
mod category_balance;
mod config;
mod distinct_category_balance;
mod triplets;

pub use balance::{BalanceSampler, BalanceSamplerConfig};
pub use base::{BatchSampler, SamplerError};
pub use category_balance::{CategoryBalanceSampler, CategoryBalanceSamplerConfig};
pub use config::{DynSampler, MAX_BATCH, MAX_EPOCH_SIZE, SamplerConfig};
pub use distinct_category_balance::{
    DistinctCategoryBalanceSampler, DistinctCategoryBalanceSamplerConfig,
};
pub use triplets::{MAX_TRIPLETS, TripletSampler};
