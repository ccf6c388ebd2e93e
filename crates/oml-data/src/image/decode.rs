use image::{DynamicImage, RgbImage};

/// An image that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("not a decodable image: {0}")]
    Decode(String),
    #[error("bounding box ({x1}, {y1}, {x2}, {y2}) does not fit in the {width}x{height} image")]
    BBoxOutside { x1: u32, y1: u32, x2: u32, y2: u32, width: u32, height: u32 },
    #[error("the image is empty (0 pixels)")]
    Empty,
}

/// Decodes any supported format (PNG, JPEG, WebP, GIF, BMP) to 8-bit RGB. Grey images are
/// expanded to three channels; transparent pixels are composited onto white
/// (`c' = a·c + (1 − a)·255`), so transparent backgrounds (emoji, logos) become white rather
/// than whatever colour the invisible pixels happen to hold.
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage, ImageError> {
    let decoded = image::load_from_memory(bytes).map_err(|e| ImageError::Decode(e.to_string()))?;
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
    let pixels = width as usize * height as usize;
    if rgba.len() != pixels * 4 {
        return Err(ImageError::Decode(format!(
            "{} bytes of RGBA for a {width}x{height} image (expected {})",
            rgba.len(),
            pixels * 4
        )));
    }
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
