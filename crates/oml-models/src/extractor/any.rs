use burn::module::Module;
use burn::tensor::Tensor;

use super::{EfficientNetLite, Extractor, MobileNetV2, ResNet, ViT};

/// Any of our architectures, chosen at run time (the zoo, the CLI's `--model`, model files).
#[derive(Module, Debug)]
pub enum AnyExtractor {
    MobileNetV2(MobileNetV2),
    EfficientNetLite(EfficientNetLite),
    ResNet(ResNet),
    ViT(ViT),
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
        }
    }

    /// For inference: folds BatchNorms into convolutions where the architecture has them.
    pub fn fold_batch_norms(self) -> Self {
        match self {
            Self::MobileNetV2(m) => Self::MobileNetV2(m.fold_batch_norms()),
            Self::EfficientNetLite(m) => Self::EfficientNetLite(m.fold_batch_norms()),
            Self::ResNet(m) => Self::ResNet(m.fold_batch_norms()),
            Self::ViT(m) => Self::ViT(m),
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
        }
    }

    fn extract(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::MobileNetV2(m) => m.extract(images),
            Self::EfficientNetLite(m) => m.extract(images),
            Self::ResNet(m) => m.extract(images),
            Self::ViT(m) => m.extract(images),
        }
    }
}
