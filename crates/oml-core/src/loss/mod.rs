//! Metric-learning losses on burn tensors (backend chosen at run time by the tensors' device;
//! autodiff when the device is an autodiff device).

mod arcface;
#[cfg(feature = "flex-kernels")]
mod arcface_fused;
mod arcface_with_mlp;
mod cross_entropy;
mod reduction;
mod surrogate_precision;
mod triplet;
mod triplet_with_miner;

pub use crate::pairwise::{elementwise_euclidean, pairwise_euclidean, pairwise_euclidean_self};
pub use arcface::{ArcFaceLoss, ArcFaceLossConfig, ArcFaceOutput};
pub use arcface_with_mlp::{ArcFaceLossWithMlp, ArcFaceLossWithMlpConfig};
pub use reduction::Reduction;
pub use surrogate_precision::{SurrogatePrecision, SurrogatePrecisionConfig};
pub use triplet::{
    BankLogs, TripletLogs, TripletLoss, TripletLossConfig, TripletLossPlain, TripletOutput,
};
pub use triplet_with_miner::{TripletLossWithMiner, TripletLossWithMinerConfig};

/// A loss parameter out of range, or inputs the loss cannot use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LossError {
    #[error("margin must be positive (or absent for the soft margin), got {0}")]
    BadMargin(f64),
    #[error("k must be at least 1")]
    ZeroK,
    #[error("{name} must be positive, got {value}")]
    NotPositive { name: &'static str, value: f64 },
    #[error("smoothing epsilon must be in [0, 1), got {0}")]
    BadSmoothing(f64),
    #[error("label {label} is outside 0..{num_classes}")]
    LabelOutOfRange { label: u32, num_classes: usize },
    #[error("{what}: expected {expected}, got {got}")]
    Shape { what: &'static str, expected: String, got: String },
    #[error("TripletLossPlain needs rows in threes (anchor, positive, negative), got {0} rows")]
    NotTriplets(usize),
    #[error("label2category has {got} entries for {num_classes} classes")]
    CategoryCount { got: usize, num_classes: usize },
    #[error(transparent)]
    Miner(#[from] crate::miner::MinerError),
}
