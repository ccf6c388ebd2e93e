use image::RgbImage;

use super::{Filter, Normalization, ResizePolicy, resize_with, to_chw};

/// Everything between a decoded image and a model input: resize policy, filter and
/// normalisation. Each pretrained model names its own (see the zoo).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preprocess {
    /// How the image reaches the model's input size.
    pub resize: ResizePolicy,
    /// The resampling filter of that resize.
    pub filter: Filter,
    /// The normalisation of the resized pixels.
    pub norm: Normalization,
}

impl Preprocess {
    /// Input `(width, height)`.
    pub fn output_size(&self) -> (u32, u32) {
        self.resize.output_size()
    }

    /// # Shapes
    /// any `[H, W, 3]` image → `[3, H', W']` floats, row-major.
    pub fn apply(&self, image: &RgbImage) -> Vec<f32> {
        to_chw(&resize_with(image, self.resize, self.filter), self.norm)
    }
}
