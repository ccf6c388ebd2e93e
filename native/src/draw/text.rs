//! Text on pictures in a real font: DejaVu Sans (the `dejavu` crate's embedded TTF, rendered
//! by plotters through ab_glyph), so captions and chart labels look the same on every machine
//! without a system font lookup.

use std::sync::Once;

use image::{Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// The family every picture uses.
pub const FONT: &str = "sans-serif";

/// Registers the embedded font under [`FONT`] (once per process).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TTF compiled into the binary; a failure would leave the pictures
        // without text, never stop a run.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draws `text` at `size` pixels with its top-left corner at `(x, y)`; what falls outside the
/// image is clipped.
pub fn draw_text(image: &mut RgbImage, text: &str, (x, y): (i32, i32), size: u32, color: Rgb<u8>) {
    register();
    let (w, h) = image.dimensions();
    let root = BitMapBackend::with_buffer(image, (w, h)).into_drawing_area();
    let style = (FONT, size).into_font().color(&RGBColor(color[0], color[1], color[2]));
    // Drawing text into an in-memory buffer fails only without the font: then no caption.
    let _ = root.draw(&Text::new(text.to_owned(), (x, y), style));
    let _ = root.present();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_in_its_colour_and_clipped_at_the_edges() {
        let mut image = RgbImage::from_pixel(60, 20, Rgb([255, 255, 255]));
        draw_text(&mut image, "0.123", (2, 2), 14, Rgb([200, 0, 0]));
        let red = image.pixels().filter(|p| p[0] > 150 && p[1] < 100).count();
        assert!(red > 20, "{red} red pixels");
        // Far outside: nothing drawn, no panic.
        let mut small = RgbImage::from_pixel(8, 8, Rgb([255, 255, 255]));
        draw_text(&mut small, "12345", (100, 100), 14, Rgb([0, 0, 0]));
        assert!(small.pixels().all(|p| p[0] == 255));
    }
}
