use burn::config::Config;
use burn::module::Module;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::base::Extractor;
use super::layers::{Activation, ConvBn, ConvBnSpec, gem_pool, global_avg_pool};

/// ResNet (He et al. 2016, arXiv:1512.03385) in torchvision's layout and variant (v1.5: the
/// stride of a bottleneck sits on its 3x3 convolution): `conv1`, `bn1`, max pool,
/// `layer1..4`, then average pooling (or GeM, as OML's `ResnetExtractor` offers) to a
/// `512` (basic blocks) or `2048` (bottlenecks) dimensional embedding; the `fc` classifier is
/// kept only when `num_classes` is set.
#[derive(Config, Debug, PartialEq)]
pub struct ResNetConfig {
    /// Blocks per stage: `[2, 2, 2, 2]` ResNet-18, `[3, 4, 6, 3]` ResNet-34 and -50.
    pub layers: [usize; 4],
    /// Bottleneck blocks (ResNet-50 and deeper) instead of basic blocks.
    pub bottleneck: bool,
    /// Channels of the stem and the first stage; 64 in every published ResNet. Smaller values
    /// make the tiny models of the parity tests. Default 64.
    #[config(default = 64)]
    pub base_width: usize,
    /// GeM pooling power instead of average pooling (OML `gem_p`); none by default.
    pub gem_p: Option<f64>,
    /// Size of the classifier on top of the embedding; none by default.
    pub num_classes: Option<usize>,
}

impl ResNetConfig {
    /// torchvision's ResNet-18.
    pub fn resnet18() -> Self {
        Self::new([2, 2, 2, 2], false)
    }
    /// torchvision's ResNet-34.
    pub fn resnet34() -> Self {
        Self::new([3, 4, 6, 3], false)
    }
    /// torchvision's ResNet-50.
    pub fn resnet50() -> Self {
        Self::new([3, 4, 6, 3], true)
    }
    /// torchvision's ResNet-101.
    pub fn resnet101() -> Self {
        Self::new([3, 4, 23, 3], true)
    }
    /// torchvision's ResNet-152.
    pub fn resnet152() -> Self {
        Self::new([3, 8, 36, 3], true)
    }
}

/// A basic block (two 3x3 convolutions) or a bottleneck (1x1, 3x3, 1x1 at 4x the width), with
/// a projection shortcut when the shape changes. ReLU after the sum.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// First convolution (3 x 3, or 1 x 1 in a bottleneck).
    pub conv1: ConvBn,
    /// Second convolution (3 x 3).
    pub conv2: ConvBn,
    /// A bottleneck's third convolution (1 x 1).
    pub conv3: Option<ConvBn>,
    /// The shortcut projection, when the shape changes.
    pub downsample: Option<ConvBn>,
}

impl ResBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = self.conv2.forward(self.conv1.forward(x.clone()));
        if let Some(conv3) = &self.conv3 {
            y = conv3.forward(y);
        }
        let shortcut = match &self.downsample {
            Some(d) => d.forward(x),
            None => x,
        };
        relu(y + shortcut)
    }

    fn fold(self) -> Self {
        Self {
            conv1: self.conv1.fold(),
            conv2: self.conv2.fold(),
            conv3: self.conv3.map(ConvBn::fold),
            downsample: self.downsample.map(ConvBn::fold),
        }
    }
}

/// See [`ResNetConfig`].
#[derive(Module, Debug)]
pub struct ResNet {
    /// 7 x 7 stride-2 convolution (then a max pool).
    pub stem: ConvBn,
    pool: MaxPool2d,
    /// Stage 1.
    pub layer1: Vec<ResBlock>,
    /// Stage 2.
    pub layer2: Vec<ResBlock>,
    /// Stage 3.
    pub layer3: Vec<ResBlock>,
    /// Stage 4.
    pub layer4: Vec<ResBlock>,
    /// The ImageNet classifier, when the weights have one (not used for embeddings).
    pub fc: Option<Linear>,
    #[module(skip)]
    gem_p: Option<f64>,
    feat_dim: usize,
}

impl ResNetConfig {
    /// The model with random weights on `device`.
    pub fn init(&self, device: &Device) -> ResNet {
        let base = self.base_width;
        let expansion = if self.bottleneck { 4 } else { 1 };
        let stem = ConvBnSpec::new([3, base], 7).stride(2).act(Activation::Relu).init(device);
        let pool = MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init();
        let mut c_in = base;
        let mut stages: Vec<Vec<ResBlock>> = Vec::with_capacity(4);
        for (stage, &blocks) in self.layers.iter().enumerate() {
            let planes = base << stage;
            let c_out = planes * expansion;
            let mut layer = Vec::with_capacity(blocks);
            for i in 0..blocks {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                let downsample = (stride != 1 || c_in != c_out)
                    .then(|| ConvBnSpec::new([c_in, c_out], 1).stride(stride).init(device));
                let block = if self.bottleneck {
                    ResBlock {
                        conv1: ConvBnSpec::new([c_in, planes], 1)
                            .act(Activation::Relu)
                            .init(device),
                        conv2: ConvBnSpec::new([planes, planes], 3)
                            .stride(stride)
                            .act(Activation::Relu)
                            .init(device),
                        conv3: Some(ConvBnSpec::new([planes, c_out], 1).init(device)),
                        downsample,
                    }
                } else {
                    ResBlock {
                        conv1: ConvBnSpec::new([c_in, planes], 3)
                            .stride(stride)
                            .act(Activation::Relu)
                            .init(device),
                        conv2: ConvBnSpec::new([planes, planes], 3).init(device),
                        conv3: None,
                        downsample,
                    }
                };
                layer.push(block);
                c_in = c_out;
            }
            stages.push(layer);
        }
        let fc = self.num_classes.map(|n| LinearConfig::new(c_in, n).init(device));
        let mut stages = stages.into_iter();
        let mut next = || stages.next().unwrap_or_default();
        ResNet {
            stem,
            pool,
            layer1: next(),
            layer2: next(),
            layer3: next(),
            layer4: next(),
            fc,
            gem_p: self.gem_p,
            feat_dim: c_in,
        }
    }
}

impl ResNet {
    /// Folds every BatchNorm into its convolution (see [`ConvBn::fold`]); for inference only.
    pub fn fold_batch_norms(self) -> Self {
        let fold = |layer: Vec<ResBlock>| layer.into_iter().map(ResBlock::fold).collect();
        Self {
            stem: self.stem.fold(),
            pool: self.pool,
            layer1: fold(self.layer1),
            layer2: fold(self.layer2),
            layer3: fold(self.layer3),
            layer4: fold(self.layer4),
            fc: self.fc,
            gem_p: self.gem_p,
            feat_dim: self.feat_dim,
        }
    }

    /// Class scores from `fc`, if the model has it.
    ///
    /// # Shapes
    /// `[B, 3, H, W]` → `[B, num_classes]`.
    pub fn logits(&self, images: Tensor<4>) -> Option<Tensor<2>> {
        Some(self.fc.as_ref()?.forward(self.extract(images)))
    }

    /// Loads torchvision-layout weights (`conv1`, `bn1`, `layerN.M.convK`/`bnK`,
    /// `layerN.M.downsample.0/1`, `fc`) from a PyTorch file or safetensors, possibly nested
    /// (Lightning `state_dict.`, OML `model.`, DDP `module.`). `fc` is loaded when the model
    /// has a classifier and ignored otherwise.
    #[cfg(any(feature = "pytorch", feature = "safetensors"))]
    pub fn load_weights(&mut self, path: &std::path::Path) -> Result<(), super::WeightsError> {
        let remaps: Vec<(String, String)> = [
            (r"^conv1\.(.*)", "stem.conv.$1"),
            (r"^bn1\.(.*)", "stem.bn.$1"),
            (r"^(layer\d\.\d+)\.conv(\d)\.(.*)", "$1.conv$2.conv.$3"),
            (r"^(layer\d\.\d+)\.bn(\d)\.(.*)", "$1.conv$2.bn.$3"),
            (r"^(layer\d\.\d+)\.downsample\.0\.(.*)", "$1.downsample.conv.$2"),
            (r"^(layer\d\.\d+)\.downsample\.1\.(.*)", "$1.downsample.bn.$2"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        super::weights::load_checkpoint(self, path, "layer1.0.conv1.weight", &remaps, &[])
    }
}

impl Extractor for ResNet {
    fn feat_dim(&self) -> usize {
        self.feat_dim
    }

    fn extract(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = self.pool.forward(self.stem.forward(images));
        for block in self.layer1.iter().chain(&self.layer2).chain(&self.layer3).chain(&self.layer4)
        {
            x = block.forward(x);
        }
        match self.gem_p {
            Some(p) => gem_pool(x, p),
            None => global_avg_pool(x),
        }
    }
}
