use image::RgbImage;
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// torchvision's `ColorJitter`: brightness, contrast and saturation factors drawn from
/// `[max(0, 1 − x), 1 + x]`, a hue shift from `[−hue, hue]` (fraction of a turn, ≤ 0.5),
/// applied in a random order. Brightness blends with black, contrast with the mean grey level
/// (ITU-R 601-2 luma), saturation with the pixel's grey level, as torchvision's functional ops.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ColorJitter {
    /// Brightness factor spread `x` (0: none).
    pub brightness: f64,
    /// Contrast factor spread `x` (0: none).
    pub contrast: f64,
    /// Saturation factor spread `x` (0: none).
    pub saturation: f64,
    /// Largest hue shift, a fraction of a turn in `[0, 0.5]` (0: none).
    pub hue: f64,
}

fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// The image in grey: each pixel's ITU-R 601-2 luma in all three channels, rounded
/// (torchvision's `rgb_to_grayscale` with 3 output channels).
pub fn grayscale(image: &mut RgbImage) {
    for px in image.pixels_mut() {
        let y = luma([f32::from(px[0]), f32::from(px[1]), f32::from(px[2])]);
        let y = y.round().clamp(0.0, 255.0) as u8;
        px.0 = [y, y, y];
    }
}

fn blend(image: &mut RgbImage, factor: f32, other: impl Fn([f32; 3]) -> [f32; 3]) {
    for px in image.pixels_mut() {
        let p = [f32::from(px[0]), f32::from(px[1]), f32::from(px[2])];
        let o = other(p);
        for c in 0..3 {
            px[c] = (factor * p[c] + (1.0 - factor) * o[c]).round().clamp(0.0, 255.0) as u8;
        }
    }
}

fn rgb_to_hsv([r, g, b]: [f32; 3]) -> [f32; 3] {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d == 0.0 {
        0.0
    } else if max == r {
        ((g - b) / d).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    let s = if max == 0.0 { 0.0 } else { d / max };
    [h, s, max]
}

fn hsv_to_rgb([h, s, v]: [f32; 3]) -> [f32; 3] {
    let h6 = h.rem_euclid(1.0) * 6.0;
    let c = v * s;
    let x = c * (1.0 - (h6.rem_euclid(2.0) - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [r + m, g + m, b + m]
}

impl ColorJitter {
    fn factor(x: f64, rng: &mut ChaCha8Rng) -> Option<f32> {
        (x > 0.0).then(|| rng.random_range((1.0 - x).max(0.0)..=1.0 + x) as f32)
    }

    /// Jitters `image` in place, drawing the factors and their order from `rng`.
    pub fn apply(&self, image: &mut RgbImage, rng: &mut ChaCha8Rng) {
        let mut order = [0u8, 1, 2, 3];
        order.shuffle(rng);
        for op in order {
            match op {
                0 => {
                    if let Some(f) = Self::factor(self.brightness, rng) {
                        blend(image, f, |_| [0.0; 3]);
                    }
                }
                1 => {
                    if let Some(f) = Self::factor(self.contrast, rng) {
                        let n = image.pixels().len().max(1);
                        let mean = image
                            .pixels()
                            .map(|p| {
                                luma([f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]).round()
                            })
                            .sum::<f32>()
                            / n as f32;
                        blend(image, f, |_| [mean; 3]);
                    }
                }
                2 => {
                    if let Some(f) = Self::factor(self.saturation, rng) {
                        blend(image, f, |p| [luma(p).round(); 3]);
                    }
                }
                _ => {
                    if self.hue > 0.0 {
                        let shift = rng.random_range(-self.hue..=self.hue) as f32;
                        for px in image.pixels_mut() {
                            let p = [f32::from(px[0]), f32::from(px[1]), f32::from(px[2])];
                            let [h, s, v] = rgb_to_hsv(p.map(|c| c / 255.0));
                            let rgb = hsv_to_rgb([h + shift, s, v]);
                            for c in 0..3 {
                                px[c] = (rgb[c] * 255.0).round().clamp(0.0, 255.0) as u8;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_round_trips() {
        for rgb in [[1.0, 0.0, 0.0], [0.2, 0.7, 0.4], [0.5, 0.5, 0.5], [0.1, 0.2, 0.9]] {
            let back = hsv_to_rgb(rgb_to_hsv(rgb));
            for c in 0..3 {
                assert!((back[c] - rgb[c]).abs() < 1e-6, "{rgb:?} -> {back:?}");
            }
        }
    }
}
