use image::RgbImage;
use image::imageops;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::image::{Filter, ResizePolicy, resize_with};

/// torchvision's `RandomResizedCrop`: a crop with an area fraction drawn from `scale` and an
/// aspect ratio drawn log-uniformly from `ratio` (10 tries, then the central crop with the
/// ratio clamped), resized to `width × height`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomResizedCrop {
    pub width: u32,
    pub height: u32,
    /// Area fraction range; torchvision's default (0.08, 1.0).
    pub scale: (f64, f64),
    /// Aspect ratio (w / h) range; torchvision's default (3/4, 4/3).
    pub ratio: (f64, f64),
}

impl RandomResizedCrop {
    /// torchvision's defaults at the given output size.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, scale: (0.08, 1.0), ratio: (3.0 / 4.0, 4.0 / 3.0) }
    }

    /// The crop box `(x, y, w, h)` for an image of `width × height`.
    pub fn sample_box(
        &self,
        width: u32,
        height: u32,
        rng: &mut ChaCha8Rng,
    ) -> (u32, u32, u32, u32) {
        let (w_f, h_f) = (f64::from(width), f64::from(height));
        let area = w_f * h_f;
        let (log_lo, log_hi) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * rng.random_range(self.scale.0..=self.scale.1);
            let aspect = rng.random_range(log_lo..=log_hi).exp();
            let w = (target * aspect).sqrt().round();
            let h = (target / aspect).sqrt().round();
            if w >= 1.0 && h >= 1.0 && w <= w_f && h <= h_f {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let (w, h) = (w as u32, h as u32);
                let x = rng.random_range(0..=width - w);
                let y = rng.random_range(0..=height - h);
                return (x, y, w, h);
            }
        }
        // Fallback: the largest central crop within the ratio range.
        let in_ratio = w_f / h_f;
        let (w, h) = if in_ratio < self.ratio.0 {
            (w_f, (w_f / self.ratio.0).round())
        } else if in_ratio > self.ratio.1 {
            ((h_f * self.ratio.1).round(), h_f)
        } else {
            (w_f, h_f)
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (w, h) = ((w as u32).clamp(1, width), (h as u32).clamp(1, height));
        ((width - w) / 2, (height - h) / 2, w, h)
    }

    pub fn apply(&self, image: &RgbImage, filter: Filter, rng: &mut ChaCha8Rng) -> RgbImage {
        let (x, y, w, h) = self.sample_box(image.width(), image.height(), rng);
        let crop = imageops::crop_imm(image, x, y, w, h).to_image();
        resize_with(&crop, ResizePolicy::Resize { width: self.width, height: self.height }, filter)
    }
}

/// Mirror image (left ↔ right).
pub fn horizontal_flip(image: &RgbImage) -> RgbImage {
    imageops::flip_horizontal(image)
}
