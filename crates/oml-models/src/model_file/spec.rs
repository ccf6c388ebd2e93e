//! The metadata of a model file: what a loader needs to rebuild the model and feed it, as
//! JSON in the safetensors header.

use oml_data::image::{Filter, Normalization, Preprocess, ResizePolicy};
use serde::{Deserialize, Serialize};

use crate::zoo::Arch;

/// Everything a model file says about its model besides the weights.
///
/// ```json
/// {"arch": "mobilenet_v2", "head": [], "feat_dim": 1280, "normalise": true,
///  "preprocess": {"resize": {"policy": "resize", "width": 224, "height": 224},
///                 "filter": "bilinear", "mean": [0.485, 0.456, 0.406],
///                 "std": [0.229, 0.224, 0.225]},
///  "source": {"zoo_model": "mobilenet_v2_imagenet", "training_config_sha256": null,
///             "producer": "oml-rs 0.1.0"}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The backbone, by [`Arch::name`].
    pub arch: String,
    /// Backbones of an ensemble (`AnyExtractor::Ensemble`), each of `arch`; 1 for a single
    /// model (then not written, so single-model files stay readable by older builds).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub members: usize,
    /// Sizes of the MLP projection head after the backbone (empty: none).
    #[serde(default)]
    pub head: Vec<usize>,
    /// Embedding size (the head's last size, else the backbone's).
    pub feat_dim: usize,
    /// L2-normalise embeddings.
    pub normalise: bool,
    pub preprocess: PreprocessSpec,
    pub source: SourceSpec,
}

fn one() -> usize {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_one(n: &usize) -> bool {
    *n == 1
}

/// Where the weights came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The zoo model the weights were (initialised) from.
    #[serde(default)]
    pub zoo_model: Option<String>,
    /// SHA-256 (hex) of the `oml-train` run's resolved `config.toml`, when trained by us.
    #[serde(default)]
    pub training_config_sha256: Option<String>,
    /// The writing program and its version.
    #[serde(default)]
    pub producer: String,
}

/// [`Preprocess`] as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessSpec {
    pub resize: ResizeSpec,
    pub filter: FilterSpec,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// [`ResizePolicy`] as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResizeSpec {
    Resize { width: u32, height: u32 },
    ResizeCenterCrop { resize_to: u32, crop: u32 },
    LongestSidePad { size: u32, fill: [u8; 3] },
}

/// [`Filter`] as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterSpec {
    Bilinear,
    Bicubic,
}

impl ModelSpec {
    pub fn arch(&self) -> Option<Arch> {
        Arch::from_name(&self.arch)
    }
}

impl From<&Preprocess> for PreprocessSpec {
    fn from(p: &Preprocess) -> Self {
        let resize = match p.resize {
            ResizePolicy::Resize { width, height } => ResizeSpec::Resize { width, height },
            ResizePolicy::ResizeCenterCrop { resize_to, crop } => {
                ResizeSpec::ResizeCenterCrop { resize_to, crop }
            }
            ResizePolicy::LongestSidePad { size, fill } => {
                ResizeSpec::LongestSidePad { size, fill }
            }
        };
        let filter = match p.filter {
            Filter::Bilinear => FilterSpec::Bilinear,
            Filter::Bicubic => FilterSpec::Bicubic,
        };
        Self { resize, filter, mean: p.norm.mean, std: p.norm.std }
    }
}

impl PreprocessSpec {
    /// The preprocessing, or why it is unusable (a zero size or standard deviation).
    pub fn to_preprocess(&self) -> Result<Preprocess, String> {
        let resize = match self.resize {
            ResizeSpec::Resize { width, height } => ResizePolicy::Resize { width, height },
            ResizeSpec::ResizeCenterCrop { resize_to, crop } => {
                if crop > resize_to {
                    return Err(format!("crop {crop} is larger than resize_to {resize_to}"));
                }
                ResizePolicy::ResizeCenterCrop { resize_to, crop }
            }
            ResizeSpec::LongestSidePad { size, fill } => {
                ResizePolicy::LongestSidePad { size, fill }
            }
        };
        let (w, h) = resize.output_size();
        if w == 0 || h == 0 {
            return Err(format!("input size {w}x{h} is empty"));
        }
        if self.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || self.mean.iter().any(|m| !m.is_finite())
        {
            return Err(format!("mean {:?} / std {:?} are not usable", self.mean, self.std));
        }
        let filter = match self.filter {
            FilterSpec::Bilinear => Filter::Bilinear,
            FilterSpec::Bicubic => Filter::Bicubic,
        };
        Ok(Preprocess { resize, filter, norm: Normalization { mean: self.mean, std: self.std } })
    }
}
