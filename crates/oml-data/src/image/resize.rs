use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

/// How an image reaches the model's input size (OML's transforms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizePolicy {
    /// Stretch to exactly `width x height`.
    Resize {
        /// Output width.
        width: u32,
        /// Output height.
        height: u32,
    },
    /// Shorter side to `resize_to` (aspect kept), then the central `crop x crop` square
    /// (torchvision `Resize` + `CenterCrop`, the ImageNet evaluation recipe).
    ResizeCenterCrop {
        /// The shorter side after the resize.
        resize_to: u32,
        /// The side of the square cropped from the centre.
        crop: u32,
    },
    /// Longer side to `size` (aspect kept), then pad to `size x size` with `fill`, the image
    /// centred (OML's `LongestMaxSize` + `PadIfNeeded`).
    LongestSidePad {
        /// The output side (and the longer side after the resize).
        size: u32,
        /// RGB colour of the padding.
        fill: [u8; 3],
    },
}

impl ResizePolicy {
    /// The output size `(width, height)`.
    pub fn output_size(&self) -> (u32, u32) {
        match *self {
            Self::Resize { width, height } => (width, height),
            Self::ResizeCenterCrop { crop, .. } => (crop, crop),
            Self::LongestSidePad { size, .. } => (size, size),
        }
    }
}

/// Scales `(w, h)` so that the side picked by `pick` becomes `target`, rounding the other.
fn scaled(w: u32, h: u32, target: u32, pick_longer: bool) -> (u32, u32) {
    let longer_is_w = w >= h;
    let scale_by_w = longer_is_w == pick_longer;
    let (from, other) = if scale_by_w { (w, h) } else { (h, w) };
    let scaled_other =
        (u64::from(other) * u64::from(target) + u64::from(from) / 2) / u64::from(from.max(1));
    let scaled_other = u32::try_from(scaled_other).unwrap_or(u32::MAX).max(1);
    if scale_by_w { (target, scaled_other) } else { (scaled_other, target) }
}

/// The resampling filter. Both widen their support when shrinking (antialiasing) as PIL
/// does; outputs are within one grey level of PIL's `BILINEAR` and `BICUBIC`
/// (tests/fixtures/images/make_pil_resize.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Triangle filter: PIL `BILINEAR`, torchvision's default.
    #[default]
    Bilinear,
    /// Catmull-Rom cubic (a = −0.5): PIL `BICUBIC`, as OML's "hypvit" transforms use.
    Bicubic,
}

impl Filter {
    fn kind(self) -> FilterType {
        match self {
            Self::Bilinear => FilterType::Triangle,
            Self::Bicubic => FilterType::CatmullRom,
        }
    }
}

/// Applies a [`ResizePolicy`] with bilinear filtering.
pub fn resize(image: &RgbImage, policy: ResizePolicy) -> RgbImage {
    resize_with(image, policy, Filter::Bilinear)
}

/// Applies a [`ResizePolicy`] with the given filter.
///
/// Memory stays bounded whatever the input's shape: for an extreme aspect ratio the centre
/// crop is taken in source coordinates before resizing (a 1 x 100000 image would otherwise be
/// resized to 256 x 25600000 first), and a resize whose intermediate buffer would exceed
/// [`MAX_INTERMEDIATE_PIXELS`] first shrinks the source with a box filter. Images of ordinary
/// shapes take neither path and match PIL (see [`Filter`]).
pub fn resize_with(image: &RgbImage, policy: ResizePolicy, filter: Filter) -> RgbImage {
    let (w, h) = image.dimensions();
    let f = filter.kind();
    match policy {
        ResizePolicy::Resize { width, height } => bounded_resize(image, width, height, f),
        ResizePolicy::ResizeCenterCrop { resize_to, crop } => {
            let (rw, rh) = scaled(w, h, resize_to, false);
            if u64::from(rw) * u64::from(rh) > MAX_INTERMEDIATE_PIXELS {
                return centre_crop_in_source(image, resize_to, crop, f);
            }
            centre_crop(&bounded_resize(image, rw, rh, f), crop)
        }
        ResizePolicy::LongestSidePad { size, fill } => {
            let (rw, rh) = scaled(w, h, size, true);
            pad(&bounded_resize(image, rw, rh, f), size, fill)
        }
    }
}

/// The most pixels an intermediate resize buffer may hold (the image crate's resampler keeps
/// one of `source width x output height` pixels in f32 RGBA, 16 bytes each: 256 MiB here).
pub const MAX_INTERMEDIATE_PIXELS: u64 = 16 << 20;

/// `imageops::resize`, with a box-filter shrink first when the resampler's intermediate
/// buffer (`width x new_height` pixels) would be larger than [`MAX_INTERMEDIATE_PIXELS`].
fn bounded_resize(image: &RgbImage, width: u32, height: u32, f: FilterType) -> RgbImage {
    let (w, h) = image.dimensions();
    if u64::from(w) * u64::from(height) <= MAX_INTERMEDIATE_PIXELS {
        return imageops::resize(image, width, height, f);
    }
    // Four source pixels per output pixel keep the final filter's antialiasing meaningful.
    let shrunk = imageops::thumbnail(
        image,
        w.min(width.saturating_mul(4)).max(1),
        h.min(height.saturating_mul(4)).max(1),
    );
    imageops::resize(&shrunk, width, height, f)
}

/// `ResizeCenterCrop` for images so elongated that resizing them whole would not fit in
/// memory: the source window that the central crop covers is cut out first and resized to
/// the crop's size along the long side (the short side is then centre-cropped as usual).
fn centre_crop_in_source(image: &RgbImage, resize_to: u32, crop: u32, f: FilterType) -> RgbImage {
    let (w, h) = image.dimensions();
    let wide = w >= h;
    let (long, short) = if wide { (w, h) } else { (h, w) };
    // `crop` output pixels along the long side cover `crop * short / resize_to` source pixels.
    let window = (u64::from(crop) * u64::from(short) + u64::from(resize_to) / 2)
        / u64::from(resize_to.max(1));
    let window = u32::try_from(window).unwrap_or(long).clamp(1, long);
    let offset = (long - window) / 2;
    let short_out = resize_to.max(1);
    let resized = if wide {
        let part = imageops::crop_imm(image, offset, 0, window, h).to_image();
        bounded_resize(&part, crop, short_out, f)
    } else {
        let part = imageops::crop_imm(image, 0, offset, w, window).to_image();
        bounded_resize(&part, short_out, crop, f)
    };
    centre_crop(&resized, crop)
}

/// The central `crop x crop` square, padded with black where the image is smaller.
fn centre_crop(resized: &RgbImage, crop: u32) -> RgbImage {
    let (rw, rh) = resized.dimensions();
    let (cw, ch) = (crop.min(rw), crop.min(rh));
    let cropped = imageops::crop_imm(resized, (rw - cw) / 2, (rh - ch) / 2, cw, ch).to_image();
    if (cw, ch) == (crop, crop) { cropped } else { pad(&cropped, crop, [0, 0, 0]) }
}

/// Centres `image` on a `size x size` canvas of `fill`.
fn pad(image: &RgbImage, size: u32, fill: [u8; 3]) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(size, size, Rgb(fill));
    let (w, h) = image.dimensions();
    imageops::overlay(
        &mut canvas,
        image,
        i64::from((size - w.min(size)) / 2),
        i64::from((size - h.min(size)) / 2),
    );
    canvas
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        // Smooth in both directions (a photo's content, not a checkerboard).
        let wave = |t: u32, period: f64| {
            (127.5 + 127.5 * (f64::from(t) * std::f64::consts::TAU / period).sin()) as u8
        };
        RgbImage::from_fn(w, h, |x, y| Rgb([wave(x, 211.0), wave(y, 173.0), wave(x + y, 307.0)]))
    }

    fn worst(a: &RgbImage, b: &RgbImage) -> u8 {
        assert_eq!(a.dimensions(), b.dimensions());
        a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap()
    }

    /// The source-window path gives what resizing whole and cropping gives, up to the
    /// filter's reach at the window's edges, for both orientations.
    #[test]
    fn cropping_in_source_coordinates_matches_the_exact_path() {
        for (w, h) in [(40, 1200), (1200, 40)] {
            let image = gradient(w, h);
            let f = Filter::Bilinear.kind();
            let exact = centre_crop(
                &imageops::resize(&image, scaled(w, h, 32, false).0, scaled(w, h, 32, false).1, f),
                28,
            );
            let windowed = centre_crop_in_source(&image, 32, 28, f);
            // The window starts on a whole source pixel, so the two differ by a sub-pixel shift
            // (a few levels on smooth content); edge pixels also see a cut neighbourhood.
            let inner = |i: &RgbImage| imageops::crop_imm(i, 2, 2, 24, 24).to_image();
            let off = worst(&inner(&exact), &inner(&windowed));
            assert!(off <= 4, "{w}x{h}: {off} levels apart");
        }
    }

    #[test]
    fn a_huge_shrink_goes_through_a_box_filter_first_and_keeps_a_flat_colour_flat() {
        let image = RgbImage::from_pixel(20_000, 2_000, Rgb([10, 200, 30]));
        let out = bounded_resize(&image, 300, 1_000, Filter::Bicubic.kind());
        assert_eq!(out.dimensions(), (300, 1_000));
        assert!(out.pixels().all(|p| p == &Rgb([10, 200, 30])));
    }
}
