//! A small line chart for curves in [0, 1] (CMC@k over k), drawn with plain pixel operations.

use image::{Rgb, RgbImage};

use super::digits::draw_number;

const AXIS: Rgb<u8> = Rgb([60, 60, 60]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);
const LINE: Rgb<u8> = Rgb([30, 90, 230]);

fn line(image: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64), color: Rgb<u8>) {
    // Bresenham, two pixels thick.
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let (mut x, mut y, mut err) = (x0, y0, dx + dy);
    loop {
        for (ox, oy) in [(0, 0), (1, 0), (0, 1)] {
            let (px, py) = (x + ox, y + oy);
            if px >= 0 && py >= 0 && (px as u32) < image.width() && (py as u32) < image.height() {
                image.put_pixel(px as u32, py as u32, color);
            }
        }
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// `values[i]` is the curve at x = i + 1, each in [0, 1]. Horizontal grid lines every 0.1,
/// labelled on the left; the x axis is labelled at its first and last point.
pub fn curve(values: &[f64], width: u32, height: u32) -> RgbImage {
    let mut image = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let (left, right, top, bottom) = (40i64, 12i64, 10i64, 24i64);
    let (w, h) = (i64::from(width) - left - right, i64::from(height) - top - bottom);
    let y_of = |v: f64| top + h - (v.clamp(0.0, 1.0) * h as f64).round() as i64;
    for tenth in 0..=10 {
        let v = f64::from(tenth) / 10.0;
        let y = y_of(v);
        line(&mut image, (left, y), (left + w, y), if tenth == 0 { AXIS } else { GRID });
        draw_number(&mut image, &format!("{v:.1}"), 4, (y - 4).max(0) as u32, AXIS);
    }
    line(&mut image, (left, top), (left, top + h), AXIS);
    let n = values.len().max(1);
    let x_of = |i: usize| {
        if n == 1 { left + w / 2 } else { left + (i as i64 * w) / (n as i64 - 1) }
    };
    for i in 1..values.len() {
        line(&mut image, (x_of(i - 1), y_of(values[i - 1])), (x_of(i), y_of(values[i])), LINE);
    }
    if values.len() == 1 {
        line(&mut image, (x_of(0), y_of(values[0])), (x_of(0), y_of(values[0])), LINE);
    }
    let label_y = (top + h + 8) as u32;
    draw_number(&mut image, "1", x_of(0) as u32, label_y, AXIS);
    let last = n.to_string();
    draw_number(&mut image, &last, (x_of(n - 1) as u32).saturating_sub(8), label_y, AXIS);
    image
}
