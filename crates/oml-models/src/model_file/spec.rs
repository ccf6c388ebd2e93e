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
    /// How images become input.
    pub preprocess: PreprocessSpec,
    /// Where the weights came from.
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
    /// How images reach the input size.
    pub resize: ResizeSpec,
    /// The resize filter.
    pub filter: FilterSpec,
    /// Per-channel means, in `[0, 1]` units.
    pub mean: [f32; 3],
    /// Per-channel standard deviations, in `[0, 1]` units.
    pub std: [f32; 3],
}

/// [`ResizePolicy`] as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum ResizeSpec {
    /// See [`ResizePolicy::Resize`].
    Resize {
        /// Output width.
        width: u32,
        /// Output height.
        height: u32,
    },
    /// See [`ResizePolicy::ResizeCenterCrop`].
    ResizeCenterCrop {
        /// The shorter side after the resize.
        resize_to: u32,
        /// The side of the central square.
        crop: u32,
    },
    /// See [`ResizePolicy::LongestSidePad`].
    LongestSidePad {
        /// The output side.
        size: u32,
        /// RGB colour of the padding.
        fill: [u8; 3],
    },
}

/// [`Filter`] as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterSpec {
    /// PIL's bilinear.
    Bilinear,
    /// PIL's bicubic.
    Bicubic,
}

/// Most backbones in an ensemble model file.
pub const MAX_MEMBERS: usize = 16;
/// Most layers of a projection head in a model file.
pub const MAX_HEAD_LAYERS: usize = 16;
/// The widest layer of a projection head in a model file.
pub const MAX_HEAD_WIDTH: usize = 1 << 16;
/// The largest input side (and resize target) a model file may ask for.
pub const MAX_INPUT_SIDE: u32 = 4096;

impl ModelSpec {
    /// The architecture the spec names, if this build knows it.
    pub fn arch(&self) -> Option<Arch> {
        Arch::from_name(&self.arch)
    }

    /// Checks every size against sane limits and the head's weights against the bytes the
    /// file really holds, before a model is built: a spec is a few bytes of JSON that can ask
    /// for any amount of memory.
    pub fn check_sizes(&self, arch: Arch, file_len: usize) -> Result<(), String> {
        if !(1..=MAX_MEMBERS).contains(&self.members) {
            return Err(format!("\"members\" is {}; 1 to {MAX_MEMBERS}", self.members));
        }
        if self.head.len() > MAX_HEAD_LAYERS {
            return Err(format!(
                "\"head\" has {} layers; at most {MAX_HEAD_LAYERS}",
                self.head.len()
            ));
        }
        if let Some(w) = self.head.iter().find(|w| !(1..=MAX_HEAD_WIDTH).contains(*w)) {
            return Err(format!("\"head\" width {w} is outside 1..={MAX_HEAD_WIDTH}"));
        }
        // f32 weights and biases of each linear layer: (in + 1) x out.
        let mut inputs = arch.feat_dim() * self.members;
        let mut params = 0usize;
        for &w in &self.head {
            params = params.saturating_add((inputs + 1).saturating_mul(w));
            inputs = w;
        }
        if params.saturating_mul(4) > file_len {
            return Err(format!(
                "\"head\" {:?} needs {params} weights, more than the {file_len}-byte file holds",
                self.head
            ));
        }
        let sides: Vec<u32> = match self.preprocess.resize {
            ResizeSpec::Resize { width, height } => vec![width, height],
            ResizeSpec::ResizeCenterCrop { resize_to, crop } => vec![resize_to, crop],
            ResizeSpec::LongestSidePad { size, .. } => vec![size],
        };
        if let Some(side) = sides.iter().find(|s| **s > MAX_INPUT_SIDE) {
            return Err(format!("the input size {side} is over {MAX_INPUT_SIDE} pixels"));
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(head: Vec<usize>, resize: ResizeSpec) -> ModelSpec {
        ModelSpec {
            arch: Arch::MobileNetV2.name().to_owned(),
            members: 1,
            head,
            feat_dim: 8,
            normalise: true,
            preprocess: PreprocessSpec {
                resize,
                filter: FilterSpec::Bilinear,
                mean: [0.5; 3],
                std: [0.5; 3],
            },
            source: SourceSpec::default(),
        }
    }

    /// `head = [1e9]` or a 100000 x 100000 resize in a few bytes of JSON used to abort the
    /// tools on allocation.
    #[test]
    fn sizes_are_checked_against_limits_and_the_file() {
        let small = ResizeSpec::Resize { width: 224, height: 224 };
        let arch = Arch::MobileNetV2;
        let err = spec(vec![1_000_000_000], small).check_sizes(arch, 10 << 20).unwrap_err();
        assert!(err.contains("outside 1..=65536"), "{err}");
        let err = spec(vec![0], small).check_sizes(arch, 10 << 20).unwrap_err();
        assert!(err.contains("width 0"), "{err}");
        // 1281 x 4096 f32 = 21 MB of weights that a 10 MB file cannot hold.
        let err = spec(vec![4096], small).check_sizes(arch, 10 << 20).unwrap_err();
        assert!(err.contains("more than the 10485760-byte file holds"), "{err}");
        assert_eq!(spec(vec![4096], small).check_sizes(arch, 30 << 20), Ok(()));
        let huge = ResizeSpec::Resize { width: 100_000, height: 100_000 };
        let err = spec(vec![], huge).check_sizes(arch, 10 << 20).unwrap_err();
        assert!(err.contains("100000 is over 4096"), "{err}");
        let mut many = spec(vec![], small);
        many.members = 1000;
        assert!(many.check_sizes(arch, 10 << 20).unwrap_err().contains("members"));
    }
}
