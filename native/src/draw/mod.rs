//! Pictures of retrieval results: OML's layout (a query with a blue border, then its results
//! with green borders when correct and red when not, then gray-bordered positives it missed),
//! each tile captioned with its distance.

pub mod chart;
mod results;
pub mod text;

use image::{Rgb, RgbImage, imageops};

pub use results::ResultsView;

pub const BLUE: Rgb<u8> = Rgb([30, 90, 230]);
pub const GREEN: Rgb<u8> = Rgb([20, 170, 60]);
pub const RED: Rgb<u8> = Rgb([220, 40, 40]);
pub const GRAY: Rgb<u8> = Rgb([150, 150, 150]);
const BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);

/// One tile: an image, its border colour, and an optional caption (a distance).
#[derive(Debug, Clone)]
pub struct Tile {
    pub image: RgbImage,
    pub border: Rgb<u8>,
    pub caption: Option<f32>,
}

/// Geometry of the grid.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Side of each (square) image.
    pub cell: u32,
    /// Border width.
    pub border: u32,
    /// Space between tiles.
    pub gap: u32,
    /// Height of the caption strip under each tile.
    pub caption: u32,
}

impl Default for Layout {
    fn default() -> Self {
        Self { cell: 96, border: 4, gap: 6, caption: 14 }
    }
}

impl Layout {
    fn tile_w(&self) -> u32 {
        self.cell + 2 * self.border
    }
    fn tile_h(&self) -> u32 {
        self.cell + 2 * self.border + self.caption
    }
    /// Size of a grid of `rows` rows with at most `cols` tiles.
    pub fn size(&self, rows: u32, cols: u32) -> (u32, u32) {
        (cols * self.tile_w() + (cols + 1) * self.gap, rows * self.tile_h() + (rows + 1) * self.gap)
    }
}

/// Draws rows of tiles on a white canvas.
pub fn grid(rows: &[Vec<Tile>], layout: Layout) -> RgbImage {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let (w, h) = layout.size(rows.len() as u32, cols.max(1));
    let mut canvas = RgbImage::from_pixel(w, h, BACKGROUND);
    for (r, row) in rows.iter().enumerate() {
        for (c, tile) in row.iter().enumerate() {
            let x = layout.gap + c as u32 * (layout.tile_w() + layout.gap);
            let y = layout.gap + r as u32 * (layout.tile_h() + layout.gap);
            for dy in 0..layout.tile_w() {
                for dx in 0..layout.tile_w() {
                    canvas.put_pixel(x + dx, y + dy, tile.border);
                }
            }
            let fitted = oml_data::image::resize(
                &tile.image,
                oml_data::image::ResizePolicy::LongestSidePad {
                    size: layout.cell,
                    fill: [255, 255, 255],
                },
            );
            imageops::overlay(
                &mut canvas,
                &fitted,
                i64::from(x + layout.border),
                i64::from(y + layout.border),
            );
            if let Some(value) = tile.caption {
                let text = format!("{value:.3}");
                let at = (x + layout.border, y + layout.tile_w() + 1);
                text::draw_text(
                    &mut canvas,
                    &text,
                    (at.0 as i32, at.1 as i32),
                    layout.caption - 1,
                    Rgb([0, 0, 0]),
                );
            }
        }
    }
    canvas
}
