//! Metric-learning losses on burn tensors (backend chosen at run time by the tensors' device;
//! autodiff when the device is an autodiff device).

mod arcface;
#[cfg(feature = "flex-kernels")]
mod arcface_fused;
mod arcface_with_mlp;
mod circle;
mod contrastive;
mod cross_entropy;
mod margin;
mod multi_similarity;
mod ntxent;
mod pairs;
mod proxy_anchor;
mod reduction;
mod surrogate_precision;
mod triplet;
mod triplet_with_miner;

pub use crate::pairwise::{elementwise_euclidean, pairwise_euclidean, pairwise_euclidean_self};
pub use arcface::{ArcFaceLoss, ArcFaceLossConfig, ArcFaceOutput};
pub use arcface_with_mlp::{ArcFaceLossWithMlp, ArcFaceLossWithMlpConfig};
pub use circle::{CircleLoss, CircleLossConfig};
pub use contrastive::{ContrastiveLoss, ContrastiveLossConfig};
pub use margin::{MarginLoss, MarginLossConfig};
pub use multi_similarity::{MultiSimilarityLoss, MultiSimilarityLossConfig};
pub use ntxent::{NtXentLoss, NtXentLossConfig};
pub use pairs::{PairLoss, similarity_gap};
pub use proxy_anchor::{ProxyAnchorLoss, ProxyAnchorLossConfig};
pub use reduction::Reduction;
pub use surrogate_precision::{SurrogatePrecision, SurrogatePrecisionConfig};
pub use triplet::{
    BankLogs, TripletLogs, TripletLoss, TripletLossConfig, TripletLossPlain, TripletOutput,
};
pub use triplet_with_miner::{TripletLossWithMiner, TripletLossWithMinerConfig};

/// A loss parameter out of range, or inputs the loss cannot use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LossError {
    /// A margin that is not positive and finite (the value).
    #[error("margin must be positive (or absent for the soft margin), got {0}")]
    BadMargin(f64),
    /// `k = 0`.
    #[error("k must be at least 1")]
    ZeroK,
    /// A parameter that must be positive.
    #[error("{name} must be positive, got {value}")]
    NotPositive {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// Label smoothing outside `[0, 1)` (the value).
    #[error("smoothing epsilon must be in [0, 1), got {0}")]
    BadSmoothing(f64),
    /// A class id without a class weight.
    #[error("label {label} is outside 0..{num_classes}")]
    LabelOutOfRange {
        /// The class id.
        label: u32,
        /// Classes the loss has.
        num_classes: usize,
    },
    /// A tensor or list of the wrong shape.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The shape needed.
        expected: String,
        /// The shape given.
        got: String,
    },
    /// A plain triplet batch whose rows are not a multiple of 3 (the rows).
    #[error("TripletLossPlain needs rows in threes (anchor, positive, negative), got {0} rows")]
    NotTriplets(usize),
    /// A class-to-category map of the wrong length.
    #[error("label2category has {got} entries for {num_classes} classes")]
    CategoryCount {
        /// Entries given.
        got: usize,
        /// Classes the loss has.
        num_classes: usize,
    },
    /// The miner's error.
    #[error(transparent)]
    Miner(#[from] crate::miner::MinerError),
}
