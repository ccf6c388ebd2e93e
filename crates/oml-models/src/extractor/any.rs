use burn::module::Module;
use burn::tensor::Tensor;

use super::{EfficientNetLite, Extractor, MobileNetV2, ResNet, ViT};
use crate::normalise::l2_normalise;

/// Any of our architectures, chosen at run time (the zoo, the CLI's `--model`, model files),
/// or an ensemble of them.
#[derive(Module, Debug)]
pub enum AnyExtractor {
    /// See [`MobileNetV2`].
    MobileNetV2(MobileNetV2),
    /// See [`EfficientNetLite`].
    EfficientNetLite(EfficientNetLite),
    /// See [`ResNet`].
    ResNet(ResNet),
    /// See [`ViT`].
    ViT(ViT),
    /// Independently trained members whose embeddings are joined: each member's embedding
    /// L2-normalised, scaled by `1/√K` and concatenated (`K` members, `D` = the sum of their
    /// sizes). The result has unit length, and its squared Euclidean distances are the mean
    /// of the members' squared distances: `‖x − y‖² = (1/K) Σₖ ‖x̂ₖ − ŷₖ‖²`, so searching
    /// with it ranks by the members' average distance (a deep ensemble, Lakshminarayanan et
    /// al. 2017, for retrieval).
    Ensemble(Vec<AnyExtractor>),
}

impl AnyExtractor {
    /// Loads weights in the architecture's checkpoint layout; see each architecture's
    /// `load_weights`.
    #[cfg(any(feature = "pytorch", feature = "safetensors"))]
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<(), super::WeightsError> {
        match self {
            Self::MobileNetV2(m) => m.load_weights(path),
            Self::EfficientNetLite(m) => m.load_weights(path),
            Self::ResNet(m) => m.load_weights(path),
            Self::ViT(m) => m.load_weights(path),
            Self::Ensemble(members) => members.iter_mut().try_for_each(|m| m.load_weights(path)),
        }
    }

    /// For inference: folds BatchNorms into convolutions where the architecture has them.
    pub fn fold_batch_norms(self) -> Self {
        match self {
            Self::MobileNetV2(m) => Self::MobileNetV2(m.fold_batch_norms()),
            Self::EfficientNetLite(m) => Self::EfficientNetLite(m.fold_batch_norms()),
            Self::ResNet(m) => Self::ResNet(m.fold_batch_norms()),
            Self::ViT(m) => Self::ViT(m),
            Self::Ensemble(members) => {
                Self::Ensemble(members.into_iter().map(Self::fold_batch_norms).collect())
            }
        }
    }
}

impl Extractor for AnyExtractor {
    fn feat_dim(&self) -> usize {
        match self {
            Self::MobileNetV2(m) => m.feat_dim(),
            Self::EfficientNetLite(m) => m.feat_dim(),
            Self::ResNet(m) => m.feat_dim(),
            Self::ViT(m) => m.feat_dim(),
            Self::Ensemble(members) => members.iter().map(Extractor::feat_dim).sum(),
        }
    }

    fn extract(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::MobileNetV2(m) => m.extract(images),
            Self::EfficientNetLite(m) => m.extract(images),
            Self::ResNet(m) => m.extract(images),
            Self::ViT(m) => m.extract(images),
            Self::Ensemble(members) => join_members(members, &images),
        }
    }
}

/// See [`AnyExtractor::Ensemble`].
///
/// # Shapes
/// `images`: `[B, 3, H, W]` → `[B, Σₖ feat_dimₖ]`.
fn join_members(members: &[AnyExtractor], images: &Tensor<4>) -> Tensor<2> {
    let scale = 1.0 / (members.len().max(1) as f64).sqrt();
    let parts: Vec<Tensor<2>> =
        members.iter().map(|m| l2_normalise(m.extract(images.clone())).mul_scalar(scale)).collect();
    Tensor::cat(parts, 1)
}
