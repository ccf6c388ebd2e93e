//! The [`Extractor`] trait and the architectures.

mod activation;
mod any;
mod base;
mod efficientnet_lite;
#[cfg(feature = "flex-kernels")]
mod flex_buffers;
mod frozen_batch_norm;
mod frozen_depthwise;
mod frozen_paths;
#[cfg(feature = "flex-kernels")]
mod fused_batch_norm;
#[cfg(feature = "flex-kernels")]
mod fused_depthwise;
mod head;
pub mod layers;
mod mobilenet_v2;
mod resnet;
mod vit;
#[cfg(any(feature = "pytorch", feature = "safetensors"))]
pub mod weights;

pub use any::AnyExtractor;
pub use base::{Extractor, WeightsError};
pub use efficientnet_lite::{EfficientNetLite, EfficientNetLiteConfig};
pub use frozen_batch_norm::{freeze_batch_norm_statistics, frozen_batch_norms};
pub use frozen_depthwise::freeze_depthwise_weights;
pub use frozen_paths::{freeze_paths, path_matches};
pub use head::{ExtractorWithMlp, MlpHead};
pub use mobilenet_v2::{MobileNetV2, MobileNetV2Config};
pub use resnet::{ResBlock, ResNet, ResNetConfig};
pub use vit::{ViT, ViTConfig};
