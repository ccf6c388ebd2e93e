use image::RgbImage;

/// ImageNet channel means (torchvision, OML `const.py`).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Per-channel `(value / 255 − mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Per-channel means, in `[0, 1]` units.
    pub mean: [f32; 3],
    /// Per-channel standard deviations, in `[0, 1]` units.
    pub std: [f32; 3],
}

impl Default for Normalization {
    fn default() -> Self {
        Self { mean: IMAGENET_MEAN, std: IMAGENET_STD }
    }
}

/// The image as channel-first floats, normalised.
///
/// # Shapes
/// `[H, W, 3]` bytes → `[3, H, W]` floats (row-major), ready for a `[B, 3, H, W]` batch.
pub fn to_chw(image: &RgbImage, norm: Normalization) -> Vec<f32> {
    let (w, h) = image.dimensions();
    let plane = (w as usize) * (h as usize);
    let mut out = vec![0.0f32; 3 * plane];
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (f32::from(pixel[c]) / 255.0 - norm.mean[c]) / norm.std[c];
        }
    }
    out
}
