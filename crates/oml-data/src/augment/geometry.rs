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
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
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

    /// Whether `scale` is within `(0, 1]` and `ratio` positive, each `lo <= hi`, all finite.
    pub fn is_valid(&self) -> bool {
        let ok = |(lo, hi): (f64, f64)| lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= hi;
        ok(self.scale) && self.scale.1 <= 1.0 && ok(self.ratio)
    }

    /// The crop box `(x, y, w, h)` for an image of `width × height` (the whole image when
    /// the ranges are not [valid](Self::is_valid)).
    pub fn sample_box(
        &self,
        width: u32,
        height: u32,
        rng: &mut ChaCha8Rng,
    ) -> (u32, u32, u32, u32) {
        let (w_f, h_f) = (f64::from(width), f64::from(height));
        if !self.is_valid() || width == 0 || height == 0 {
            // Ranges a config should have refused: the whole image rather than a panic.
            return (0, 0, width, height);
        }
        let area = w_f * h_f;
        let (log_lo, log_hi) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * rng.random_range(self.scale.0..=self.scale.1);
            let aspect = rng.random_range(log_lo..=log_hi).exp();
            let w = (target * aspect).sqrt().round();
            let h = (target / aspect).sqrt().round();
            if w >= 1.0 && h >= 1.0 && w <= w_f && h <= h_f {
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
        let (w, h) = ((w as u32).clamp(1, width), (h as u32).clamp(1, height));
        ((width - w) / 2, (height - h) / 2, w, h)
    }

    /// A random crop of `image`, resized with `filter` to `width × height`.
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

/// torchvision's `RandomRotation(degrees, fill=fill)`: a rotation about the image centre by
/// an angle drawn uniformly from `[-degrees, degrees]` (positive: counter-clockwise), same
/// size, bilinear (torchvision's default is nearest; bilinear keeps drawn edges smooth),
/// uncovered corners filled with `fill`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomRotation {
    /// Largest angle either way, in degrees.
    pub degrees: f64,
    /// RGB colour of the corners the rotation uncovers.
    pub fill: [u8; 3],
}

impl RandomRotation {
    /// `image` rotated by an angle drawn from `rng`.
    pub fn apply(&self, image: &RgbImage, rng: &mut ChaCha8Rng) -> RgbImage {
        let angle = rng.random_range(-self.degrees..=self.degrees);
        rotate(image, angle, self.fill)
    }
}

/// `image` rotated counter-clockwise by `degrees` about its centre (same size), bilinear,
/// with `fill` where the rotated image does not reach. Each output pixel centre is mapped
/// back into the input by the inverse rotation; a neighbour outside the input counts as
/// `fill`.
pub fn rotate(image: &RgbImage, degrees: f64, fill: [u8; 3]) -> RgbImage {
    let (w, h) = image.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (wi, hi) = (i64::from(w), i64::from(h));
    let at = |x: i64, y: i64, c: usize| -> f64 {
        if (0..wi).contains(&x) && (0..hi).contains(&y) {
            f64::from(image.get_pixel(x as u32, y as u32).0[c])
        } else {
            f64::from(fill[c])
        }
    };
    RgbImage::from_fn(w, h, |x, y| {
        // Image y points down, so a counter-clockwise turn on screen is clockwise in (x, y).
        let (dx, dy) = (f64::from(x) + 0.5 - cx, f64::from(y) + 0.5 - cy);
        let sx = cos * dx - sin * dy + cx - 0.5;
        let sy = sin * dx + cos * dy + cy - 0.5;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let mut out = [0u8; 3];
        for (c, v) in out.iter_mut().enumerate() {
            let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
            let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
            *v = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
        }
        image::Rgb(out)
    })
}
