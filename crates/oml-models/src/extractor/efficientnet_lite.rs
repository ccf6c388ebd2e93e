use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::base::Extractor;
use super::layers::{Activation, ConvBn, ConvBnSpec, InvertedResidual, Padding, global_avg_pool};

/// EfficientNet-Lite (Tan & Le 2019, arXiv:1905.11946; the "Lite" variants of
/// tensorflow/tpu `efficientnet/lite`: ReLU6, no squeeze-and-excitation, stem and head not
/// scaled) in the key layout of the PyTorch ports `efficientnet_pytorch` /
/// `efficientnet_lite_pytorch` (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, …, `_fc`).
/// Convolutions pad as TensorFlow's `SAME` (extra row/column bottom-right), as the weights were
/// trained. The embedding is the `1280`-d average-pooled head; the 1000-way ImageNet
/// classifier is kept when `num_classes` is set. Inputs are normalised as `(x − 127) / 128` on
/// 0..255, i.e. mean 127/255 and std 128/255 on 0..1.
#[derive(Config, Debug, PartialEq)]
pub struct EfficientNetLiteConfig {
    /// Channel multiplier: 1.0 (Lite0, 224 px), 1.0 (Lite1, 240), 1.1 (Lite2, 260),
    /// 1.2 (Lite3, 280), 1.4 (Lite4, 300). Default 1.0.
    #[config(default = 1.0)]
    pub width: f64,
    /// Depth multiplier: 1.0, 1.1, 1.2, 1.4, 1.8 for Lite0..4. Default 1.0.
    #[config(default = 1.0)]
    pub depth: f64,
    /// BatchNorm epsilon. Default 1e-3 (the TensorFlow original).
    #[config(default = 1e-3)]
    pub bn_epsilon: f64,
    /// Size of the classifier on top of the embedding (1000 for ImageNet); none by default.
    pub num_classes: Option<usize>,
}

/// See [`EfficientNetLiteConfig`].
#[derive(Module, Debug)]
pub struct EfficientNetLite {
    /// 3 x 3 stride-2 convolution.
    pub stem: ConvBn,
    /// The inverted-residual blocks.
    pub blocks: Vec<InvertedResidual>,
    /// 1 x 1 convolution to the embedding width.
    pub head: ConvBn,
    /// The ImageNet classifier, when the weights have one (not used for embeddings).
    pub classifier: Option<Linear>,
}

/// Stages: (repeats, kernel, first stride, expansion, input channels, output channels), from
/// `efficientnet_lite_builder.py`.
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];

/// `round_filters`: channels times the width multiplier, to a multiple of 8, never down by
/// more than 10%.
fn round_filters(channels: usize, width: f64) -> usize {
    let scaled = channels as f64 * width;
    let mut rounded = (((scaled + 4.0) as usize) / 8 * 8).max(8);
    if (rounded as f64) < 0.9 * scaled {
        rounded += 8;
    }
    rounded
}

impl EfficientNetLiteConfig {
    /// The model with random weights on `device`.
    pub fn init(&self, device: &Device) -> EfficientNetLite {
        let conv = |channels, kernel| {
            ConvBnSpec::new(channels, kernel).eps(self.bn_epsilon).padding(Padding::TfSame)
        };
        let stem = conv([3, 32], 3).stride(2).act(Activation::Relu6).init(device);
        let mut blocks = Vec::new();
        let mut c_in = 32;
        for (stage, &(repeats, kernel, stride, expansion, _, c_out)) in STAGES.iter().enumerate() {
            let c_out = round_filters(c_out, self.width);
            // The first and last stages keep their depth ("fix_head_stem").
            let repeats = if stage == 0 || stage == STAGES.len() - 1 {
                repeats
            } else {
                (self.depth * repeats as f64).ceil() as usize
            };
            for i in 0..repeats {
                let stride = if i == 0 { stride } else { 1 };
                blocks.push(InvertedResidual::new(
                    conv,
                    [c_in, c_out],
                    expansion,
                    kernel,
                    stride,
                    device,
                ));
                c_in = c_out;
            }
        }
        let head = conv([c_in, 1280], 1).act(Activation::Relu6).init(device);
        let classifier = self.num_classes.map(|n| LinearConfig::new(1280, n).init(device));
        EfficientNetLite { stem, blocks, head, classifier }
    }
}

impl EfficientNetLite {
    /// Folds every BatchNorm into its convolution (see [`ConvBn::fold`]); for inference only.
    pub fn fold_batch_norms(self) -> Self {
        Self {
            stem: self.stem.fold(),
            blocks: self.blocks.into_iter().map(InvertedResidual::fold).collect(),
            head: self.head.fold(),
            classifier: self.classifier,
        }
    }

    /// Class scores from the classifier, if the model has one.
    ///
    /// # Shapes
    /// `[B, 3, H, W]` → `[B, num_classes]`.
    pub fn logits(&self, images: Tensor<4>) -> Option<Tensor<2>> {
        let classifier = self.classifier.as_ref()?;
        Some(classifier.forward(self.extract(images)))
    }

    /// Loads weights in the `efficientnet_pytorch` key layout (see [`EfficientNetLiteConfig`]),
    /// from a PyTorch file or safetensors, possibly nested. `_fc` is loaded when the model has a
    /// classifier and ignored otherwise.
    #[cfg(any(feature = "pytorch", feature = "safetensors"))]
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<(), super::WeightsError> {
        let remaps: Vec<(String, String)> = [
            (r"^_conv_stem\.(.*)", "stem.conv.$1"),
            (r"^_bn0\.(.*)", "stem.bn.$1"),
            (r"^_conv_head\.(.*)", "head.conv.$1"),
            (r"^_bn1\.(.*)", "head.bn.$1"),
            (r"^_fc\.(.*)", "classifier.$1"),
            (r"^_blocks\.(\d+)\._expand_conv\.(.*)", "blocks.$1.expand.conv.$2"),
            (r"^_blocks\.(\d+)\._bn0\.(.*)", "blocks.$1.expand.bn.$2"),
            (r"^_blocks\.(\d+)\._depthwise_conv\.(.*)", "blocks.$1.depthwise.conv.$2"),
            (r"^_blocks\.(\d+)\._bn1\.(.*)", "blocks.$1.depthwise.bn.$2"),
            (r"^_blocks\.(\d+)\._project_conv\.(.*)", "blocks.$1.project.conv.$2"),
            (r"^_blocks\.(\d+)\._bn2\.(.*)", "blocks.$1.project.bn.$2"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        super::weights::load_checkpoint(self, path, "_conv_stem.weight", &remaps, &[])
    }
}

impl Extractor for EfficientNetLite {
    fn feat_dim(&self) -> usize {
        1280
    }

    fn extract(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(images);
        for block in &self.blocks {
            x = block.forward(x);
        }
        global_avg_pool(self.head.forward(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_rounding_matches_the_reference_table() {
        // efficientnet_lite_pytorch's round_filters at width 1.1 and 1.4 (Lite2, Lite4).
        assert_eq!(round_filters(16, 1.0), 16);
        assert_eq!(round_filters(24, 1.1), 24);
        assert_eq!(round_filters(40, 1.1), 48);
        assert_eq!(round_filters(112, 1.4), 160);
        assert_eq!(round_filters(320, 1.4), 448);
    }
}
