//! `[extractor]`: the model to train.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The model: a zoo name, its pretrained weights (or random initialisation), and an optional
/// MLP head (OML's `ExtractorWithMLP`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractorSection {
    /// Zoo name (`oml embed --model help`): architecture, weights and normalisation.
    pub model: String,
    /// Start from the zoo's pretrained weights. Default true.
    #[serde(default = "yes")]
    pub pretrained: bool,
    /// A checkpoint to start from instead of the zoo's weights.
    #[serde(default)]
    pub weights: Option<PathBuf>,
    /// Sizes of an MLP projection head on top of the extractor; none by default.
    #[serde(default)]
    pub head: Vec<usize>,
    /// L2-normalise embeddings; default: as the zoo entry says.
    #[serde(default)]
    pub normalise_features: Option<bool>,
    /// Keep the BatchNorm layers' running statistics (normalise with them during training,
    /// never update them) while γ, β and everything else train: fine-tuning with small or
    /// category-skewed batches. Default false (OML trains them).
    #[serde(default)]
    pub freeze_batch_norm: bool,
    /// Keep the depthwise convolutions' weights fixed (MobileNetV2, EfficientNet-Lite; 2 % of
    /// MobileNetV2's parameters, whose gradient is the slowest part of a step on burn's CPU
    /// backend). Default false.
    #[serde(default)]
    pub freeze_depthwise: bool,
    /// Parts of the model whose weights stay pretrained, by module path: e.g.
    /// `["stem", "blocks.0", "blocks.1"]` for MobileNetV2's stem and first blocks (paths as
    /// in `oml export`'s tensor names, with or without the leading `extractor.<Arch>`). Their
    /// backward pass is skipped too. A path that names nothing is an error. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<String>,
    /// Train this many models, one after another (seeds `seed`, `seed + 1`, ...; each an
    /// ordinary run in `RUN/members/<k>`), and join them into one ensemble model whose
    /// distances are the members' mean (`AnyExtractor::Ensemble`). Default 1: one model.
    #[serde(default = "one_member", skip_serializing_if = "is_one_member")]
    pub members: usize,
}

fn one_member() -> usize {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_one_member(n: &usize) -> bool {
    *n == 1
}

fn yes() -> bool {
    true
}
