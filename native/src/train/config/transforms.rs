//! `[transforms_train]` and `[transforms_val]`: image preprocessing and augmentation.

use serde::{Deserialize, Serialize};

/// Image transforms: resize to `size` (squash, or longest side + pad), then for training
/// optionally a random resized crop, a flip and colour jitter. Mean and std are the zoo
/// model's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformsSection {
    /// Model input side in pixels.
    pub size: u32,
    /// `resize` (squash, default) or `pad` (longest side to `size`, centred on `fill`).
    #[serde(default)]
    pub resize: ResizeMode,
    /// Padding colour for `pad` and the corners `rotation` uncovers. Default white.
    #[serde(default = "white")]
    pub fill: [u8; 3],
    /// Random resized crop: area fraction `scale` and aspect `ratio` ranges.
    #[serde(default)]
    pub random_resized_crop: Option<CropSection>,
    /// Random rotation by up to this many degrees either way (torchvision's
    /// `RandomRotation`), corners filled with `fill`. Default 0 (none).
    #[serde(default)]
    pub rotation: f64,
    /// Horizontal flip probability. Default 0.
    #[serde(default)]
    pub hflip: f64,
    #[serde(default)]
    pub color_jitter: Option<JitterSection>,
    /// Probability of a grey-scale image (torchvision's `RandomGrayscale`), after the colour
    /// jitter. Default 0.
    #[serde(default)]
    pub grayscale: f64,
}

fn white() -> [u8; 3] {
    [255, 255, 255]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    #[default]
    Resize,
    Pad,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropSection {
    #[serde(default = "default_scale")]
    pub scale: [f64; 2],
    #[serde(default = "default_ratio")]
    pub ratio: [f64; 2],
}

fn default_scale() -> [f64; 2] {
    [0.08, 1.0]
}
fn default_ratio() -> [f64; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JitterSection {
    #[serde(default)]
    pub brightness: f64,
    #[serde(default)]
    pub contrast: f64,
    #[serde(default)]
    pub saturation: f64,
    #[serde(default)]
    pub hue: f64,
}
