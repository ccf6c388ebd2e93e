//! The report's charts, drawn with plotters: line charts (CMC@k, loss and learning rate over
//! steps) and the positive/negative distance histogram, with axis titles, tick labels and
//! legends in the embedded font ([`super::text`]).

use image::RgbImage;
use oml_core::metrics::DistanceHistogram;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use super::text::{FONT, register};

/// Width and height of every chart.
pub const SIZE: (u32, u32) = (640, 360);
pub const BLUE_LINE: RGBColor = RGBColor(30, 90, 230);
pub const ORANGE_LINE: RGBColor = RGBColor(230, 120, 20);
const POSITIVE: RGBColor = RGBColor(20, 170, 60);
const NEGATIVE: RGBColor = RGBColor(220, 40, 40);

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

/// A line chart: a title, axis titles, the lines, and the y range (from the data when `None`).
#[derive(Debug, Clone)]
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_title: &'a str,
    pub y_title: &'a str,
    pub series: Vec<Series>,
    pub y_range: Option<(f64, f64)>,
    /// How the y ticks read: fixed decimals, or scientific for learning rates.
    pub y_scientific: bool,
}

fn fail(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("cannot draw the chart: {e}")
}

/// The legend of a chart's labelled series, upper right.
fn legend<'a, CT: CoordTranslate>(
    c: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
) -> anyhow::Result<()> {
    c.configure_series_labels()
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(fail)
}

/// Draws `paint` on a white `SIZE` canvas and returns the picture.
fn canvas(
    paint: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<RgbImage> {
    register();
    let (w, h) = SIZE;
    let mut image = RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    {
        let root = BitMapBackend::with_buffer(&mut image, (w, h)).into_drawing_area();
        paint(&root)?;
        root.present().map_err(fail)?;
    }
    Ok(image)
}

/// The range `[lo, hi]` of `values`, widened by 5% (and to a unit span when flat).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// Draws `chart`; non-finite points are left out. A legend appears when there are several
/// lines.
pub fn line_chart(chart: &LineChart<'_>) -> anyhow::Result<RgbImage> {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let (x0, x1) = padded(points().map(|p| p.0));
    let (y0, y1) = chart.y_range.unwrap_or_else(|| padded(points().map(|p| p.1)));
    canvas(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(chart.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(fail)?;
        // x counts things (k, steps): whole numbers.
        let x_label = |x: &f64| format!("{x:.0}");
        let y_label = |y: &f64| {
            if chart.y_scientific { format!("{y:.1e}") } else { format!("{y:.2}") }
        };
        c.configure_mesh()
            .x_desc(chart.x_title)
            .y_desc(chart.y_title)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(fail)?;
        for s in &chart.series {
            let color = s.color;
            let line = s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite());
            let drawn =
                c.draw_series(LineSeries::new(line, color.stroke_width(2))).map_err(fail)?;
            drawn.label(s.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        if chart.series.len() > 1 {
            legend(&mut c)?;
        }
        Ok(())
    })
}

/// The share of positive and of negative pairs in each distance bin (each side sums to 1, so
/// both show however many more negatives there are), as overlapping translucent bars.
pub fn histogram_chart(h: &DistanceHistogram, title: &str) -> anyhow::Result<RgbImage> {
    let share = |counts: &[u64]| {
        let total = counts.iter().sum::<u64>().max(1) as f64;
        counts.iter().map(|&c| c as f64 / total).collect::<Vec<_>>()
    };
    let (pos, neg) = (share(&h.positive), share(&h.negative));
    let top = pos.iter().chain(&neg).copied().fold(0.0, f64::max).max(1e-9) * 1.1;
    let right = f64::from(h.edges.last().copied().unwrap_or(1.0)).max(1e-9);
    canvas(|root| {
        let mut c = ChartBuilder::on(root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..right, 0.0..top)
            .map_err(fail)?;
        c.configure_mesh()
            .x_desc("distance")
            .y_desc("share of pairs")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(fail)?;
        for (name, values, color) in
            [("negative pairs", &neg, NEGATIVE), ("positive pairs", &pos, POSITIVE)]
        {
            let bars = values.iter().enumerate().map(|(i, &v)| {
                let (a, b) = (f64::from(h.edges[i]), f64::from(h.edges[i + 1]));
                Rectangle::new([(a, 0.0), (b, v)], color.mix(0.45).filled())
            });
            c.draw_series(bars).map_err(fail)?.label(name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.mix(0.45).filled())
            });
        }
        legend(&mut c)?;
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn coloured(image: &RgbImage, color: RGBColor) -> usize {
        image
            .pixels()
            .filter(|p| {
                (i32::from(p[0]) - i32::from(color.0)).abs() < 30
                    && (i32::from(p[1]) - i32::from(color.1)).abs() < 30
                    && (i32::from(p[2]) - i32::from(color.2)).abs() < 30
            })
            .count()
    }

    #[test]
    fn a_line_chart_draws_its_lines_and_text() {
        let chart = LineChart {
            title: "CMC",
            x_title: "k",
            y_title: "CMC@k",
            series: vec![
                Series {
                    name: "a".into(),
                    points: vec![(1.0, 0.5), (2.0, 0.7), (3.0, f64::NAN), (4.0, 0.9)],
                    color: BLUE_LINE,
                },
                Series {
                    name: "b".into(),
                    points: vec![(1.0, 0.2), (4.0, 0.3)],
                    color: ORANGE_LINE,
                },
            ],
            y_range: Some((0.0, 1.0)),
            y_scientific: false,
        };
        let image = line_chart(&chart).unwrap();
        assert_eq!(image.dimensions(), SIZE);
        assert!(coloured(&image, BLUE_LINE) > 200 && coloured(&image, ORANGE_LINE) > 200);
        // Dark pixels: the axes and the text of titles and ticks.
        assert!(image.pixels().filter(|p| p[0] < 80 && p[1] < 80 && p[2] < 80).count() > 500);
        // No points at all still gives a chart.
        let empty = LineChart { series: vec![], y_range: None, ..chart };
        assert_eq!(line_chart(&empty).unwrap().dimensions(), SIZE);
    }

    #[test]
    fn a_histogram_shows_both_sides() {
        let h = DistanceHistogram {
            edges: vec![0.0, 0.5, 1.0, 1.5],
            positive: vec![8, 2, 0],
            negative: vec![0, 100, 300],
        };
        let image = histogram_chart(&h, "distances").unwrap();
        let over = |p: &image::Rgb<u8>, a: usize, b: usize, c: usize| {
            i32::from(p[a]) > i32::from(p[b]) + 40 && i32::from(p[a]) > i32::from(p[c]) + 40
        };
        let green = image.pixels().filter(|p| over(p, 1, 0, 2)).count();
        let red = image.pixels().filter(|p| over(p, 0, 1, 2)).count();
        assert!(green > 1000 && red > 1000, "green {green}, red {red}");
    }
}
