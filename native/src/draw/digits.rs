//! A 3 x 5 pixel font for the characters of a distance (`0-9`, `.`, `-`), drawn at 2x: enough
//! for captions without a font file.

use image::{Rgb, RgbImage};

/// Rows of each glyph, 3 bits per row (bit 2 = left column).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        _ => return None,
    })
}

const SCALE: u32 = 2;

/// Draws `text` with its top-left corner at `(x, y)`; characters without a glyph leave a gap.
/// Pixels outside the image are skipped.
pub fn draw_number(image: &mut RgbImage, text: &str, x: u32, y: u32, color: Rgb<u8>) {
    let mut cx = x;
    for c in text.chars() {
        if let Some(rows) = glyph(c) {
            for (ry, bits) in rows.iter().enumerate() {
                for rx in 0..3u32 {
                    if bits & (0b100 >> rx) != 0 {
                        for sy in 0..SCALE {
                            for sx in 0..SCALE {
                                let px = cx + rx * SCALE + sx;
                                let py = y + ry as u32 * SCALE + sy;
                                if px < image.width() && py < image.height() {
                                    image.put_pixel(px, py, color);
                                }
                            }
                        }
                    }
                }
            }
        }
        cx += 4 * SCALE;
    }
}
