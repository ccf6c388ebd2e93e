use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

/// How an image reaches the model's input size (OML's transforms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizePolicy {
    /// Stretch to exactly `width x height`.
    Resize { width: u32, height: u32 },
    /// Shorter side to `resize_to` (aspect kept), then the central `crop x crop` square
    /// (torchvision `Resize` + `CenterCrop`, the ImageNet evaluation recipe).
    ResizeCenterCrop { resize_to: u32, crop: u32 },
    /// Longer side to `size` (aspect kept), then pad to `size x size` with `fill`, the image
    /// centred (OML's `LongestMaxSize` + `PadIfNeeded`).
    LongestSidePad { size: u32, fill: [u8; 3] },
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
pub fn resize_with(image: &RgbImage, policy: ResizePolicy, filter: Filter) -> RgbImage {
    let (w, h) = image.dimensions();
    let f = filter.kind();
    match policy {
        ResizePolicy::Resize { width, height } => imageops::resize(image, width, height, f),
        ResizePolicy::ResizeCenterCrop { resize_to, crop } => {
            let (rw, rh) = scaled(w, h, resize_to, false);
            let resized = imageops::resize(image, rw, rh, f);
            let (cw, ch) = (crop.min(rw), crop.min(rh));
            let cropped =
                imageops::crop_imm(&resized, (rw - cw) / 2, (rh - ch) / 2, cw, ch).to_image();
            if (cw, ch) == (crop, crop) { cropped } else { pad(&cropped, crop, [0, 0, 0]) }
        }
        ResizePolicy::LongestSidePad { size, fill } => {
            let (rw, rh) = scaled(w, h, size, true);
            pad(&imageops::resize(image, rw, rh, f), size, fill)
        }
    }
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
