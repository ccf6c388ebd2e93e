use std::io::Cursor;
use std::sync::OnceLock;

use image::{DynamicImage, ImageReader, Limits, RgbImage};

/// The default for [`DecodeLimits::max_pixels`]: 64 megapixels (e.g. 9000 x 7000).
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 64 << 20;

/// What an image may cost to decode. A file's header states its size; an image over these
/// limits is refused before any pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Width x height at most this (the decoder may also allocate up to 8 bytes per pixel).
    pub max_pixels: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_pixels: DEFAULT_MAX_IMAGE_PIXELS }
    }
}

impl DecodeLimits {
    /// The limits [`decode_rgb`] uses: the default, or `OML_MAX_IMAGE_PIXELS` from the
    /// environment when it holds a positive integer (read once per process).
    pub fn current() -> Self {
        static CURRENT: OnceLock<DecodeLimits> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            std::env::var("OML_MAX_IMAGE_PIXELS")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&n| n > 0)
                .map_or_else(Self::default, |max_pixels| Self { max_pixels })
        })
    }
}

/// An image that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The bytes are no image of a supported format (the decoder's reason).
    #[error("not a decodable image: {0}")]
    Decode(String),
    /// The bounding box reaches outside the image.
    #[error("bounding box ({x1}, {y1}, {x2}, {y2}) does not fit in the {width}x{height} image")]
    BBoxOutside {
        /// The box's left edge.
        x1: u32,
        /// The box's top edge.
        y1: u32,
        /// The box's right edge.
        x2: u32,
        /// The box's bottom edge.
        y2: u32,
        /// The image's width.
        width: u32,
        /// The image's height.
        height: u32,
    },
    /// The image has no pixels.
    #[error("the image is empty (0 pixels)")]
    Empty,
    /// The image's header states more pixels than the limit ([`DecodeLimits`]).
    #[error(
        "the image is {width}x{height} pixels, over the limit of {max_pixels} pixels \
         (OML_MAX_IMAGE_PIXELS raises it for the native tools)"
    )]
    TooLarge {
        /// The stated width.
        width: u32,
        /// The stated height.
        height: u32,
        /// The limit it is over.
        max_pixels: u64,
    },
}

/// Decodes any supported format (PNG, JPEG, WebP, GIF, BMP) to 8-bit RGB. Grey images are
/// expanded to three channels; transparent pixels are composited onto white
/// (`c' = a·c + (1 − a)·255`), so transparent backgrounds (emoji, logos) become white rather
/// than whatever colour the invisible pixels happen to hold.
///
/// The size in the file's header is checked against [`DecodeLimits::current`] before
/// decoding, and the decoder runs under `image::Limits` derived from it.
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    decode_rgb_within(bytes, DecodeLimits::current())
}

/// [`decode_rgb`] under explicit limits.
pub fn decode_rgb_within(bytes: &[u8], limits: DecodeLimits) -> Result<RgbImage, ImageError> {
    let decode_error = |e: image::ImageError| ImageError::Decode(e.to_string());
    let reader = || ImageReader::new(Cursor::new(bytes)).with_guessed_format();
    let (width, height) = reader()
        .map_err(|e| ImageError::Decode(e.to_string()))?
        .into_dimensions()
        .map_err(decode_error)?;
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooLarge { width, height, max_pixels: limits.max_pixels });
    }
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(width);
    image_limits.max_image_height = Some(height);
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(1 << 20));
    let mut reader = reader().map_err(|e| ImageError::Decode(e.to_string()))?;
    reader.limits(image_limits);
    let decoded = reader.decode().map_err(decode_error)?;
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(ImageError::Empty);
    }
    Ok(flatten_onto_white(decoded))
}

fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    rgba_onto_white(rgba.as_raw(), w, h).unwrap_or_else(|_| RgbImage::new(w, h))
}

/// 8-bit RGBA pixels (row-major, as in a browser's `ImageData`, not premultiplied) to RGB,
/// composited onto white exactly as [`decode_rgb`] does. Errors when `rgba` does not hold
/// `width x height` pixels or the image is empty.
pub fn rgba_onto_white(rgba: &[u8], width: u32, height: u32) -> Result<RgbImage, ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Empty);
    }
    // Computed in u128: 4 x (2^32 - 1)^2 does not fit in u64.
    let expected = u128::from(width) * u128::from(height) * 4;
    if u128::try_from(rgba.len()) != Ok(expected) {
        return Err(ImageError::Decode(format!(
            "{} bytes of RGBA for a {width}x{height} image (expected {expected})",
            rgba.len()
        )));
    }
    let pixels = rgba.len() / 4;
    let mut out = Vec::with_capacity(pixels * 3);
    for src in rgba.chunks_exact(4) {
        let alpha = u32::from(src[3]);
        for &c in &src[..3] {
            // Rounded integer blend: (a·c + (255 − a)·255 + 127) / 255.
            let v = (alpha * u32::from(c) + (255 - alpha) * 255 + 127) / 255;
            out.push(u8::try_from(v).unwrap_or(u8::MAX));
        }
    }
    RgbImage::from_raw(width, height, out)
        .ok_or_else(|| ImageError::Decode("inconsistent image buffer".into()))
}
