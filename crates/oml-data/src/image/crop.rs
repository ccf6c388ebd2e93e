use image::RgbImage;
use image::imageops;

use super::decode::ImageError;

/// The `[x1, x2) x [y1, y2)` region (OML's `x_1, y_1, x_2, y_2` columns, in pixels).
/// A box that does not fit the image is an error, not a silent clamp.
pub fn crop(image: &RgbImage, x1: u32, y1: u32, x2: u32, y2: u32) -> Result<RgbImage, ImageError> {
    let (width, height) = image.dimensions();
    if x1 >= x2 || y1 >= y2 || x2 > width || y2 > height {
        return Err(ImageError::BBoxOutside { x1, y1, x2, y2, width, height });
    }
    Ok(imageops::crop_imm(image, x1, y1, x2 - x1, y2 - y1).to_image())
}
