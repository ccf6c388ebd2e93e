//! The report's training curves, read back from the run's `steps.csv` (one line per optimizer
//! step: epoch, step, loss, the criterion's figure, learning rate): the loss per step with its
//! mean per epoch, and the learning rate per step.

use std::path::Path;

use image::RgbImage;

use crate::draw::chart::{BLUE_LINE, LineChart, ORANGE_LINE, Series, line_chart};

/// One line of steps.csv.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRow {
    pub epoch: u64,
    pub step: u64,
    pub loss: f64,
    pub lr: f64,
}

/// The rows of a steps.csv (none when it cannot be read; lines that do not parse are left
/// out: the file is the run's own log, and a chart is not worth failing a report for).
pub fn read_steps(csv: &Path) -> Vec<StepRow> {
    let Ok(text) = std::fs::read_to_string(csv) else { return Vec::new() };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Some(StepRow {
                epoch: f.first()?.parse().ok()?,
                step: f.get(1)?.parse().ok()?,
                loss: f.get(2)?.parse().ok()?,
                lr: f.get(4)?.parse().ok()?,
            })
        })
        .collect()
}

/// The mean loss of each epoch, placed at the epoch's last step.
fn epoch_means(rows: &[StepRow]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for chunk in rows.chunk_by(|a, b| a.epoch == b.epoch) {
        let mean = chunk.iter().map(|r| r.loss).sum::<f64>() / chunk.len() as f64;
        out.push((chunk[chunk.len() - 1].step as f64, mean));
    }
    out
}

/// Colours of the lines of several members (an ensemble), in turn.
const PALETTE: [plotters::style::RGBColor; 4] = [
    BLUE_LINE,
    ORANGE_LINE,
    plotters::style::RGBColor(20, 150, 60),
    plotters::style::RGBColor(150, 60, 180),
];

/// The loss per step and its mean per epoch, one pair of lines per `(name, rows)` run (a
/// single model or each member of an ensemble).
pub fn loss_chart(runs: &[(String, Vec<StepRow>)]) -> anyhow::Result<RgbImage> {
    let mut series = Vec::new();
    for (i, (name, rows)) in runs.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let prefix = if runs.len() > 1 { format!("{name}: ") } else { String::new() };
        series.push(Series {
            name: format!("{prefix}per step"),
            points: rows.iter().map(|r| (r.step as f64, r.loss)).collect(),
            color: plotters::style::RGBColor(
                color.0.saturating_add(90),
                color.1.saturating_add(90),
                color.2.saturating_add(40),
            ),
        });
        series.push(Series {
            name: format!("{prefix}epoch mean"),
            points: epoch_means(rows),
            color,
        });
    }
    line_chart(&LineChart {
        title: "Training loss",
        x_title: "optimizer step",
        y_title: "loss",
        series,
        y_range: None,
        y_scientific: false,
    })
}

/// The learning rate per step (of the first run: members share the schedule).
pub fn lr_chart(rows: &[StepRow]) -> anyhow::Result<RgbImage> {
    line_chart(&LineChart {
        title: "Learning rate",
        x_title: "optimizer step",
        y_title: "learning rate",
        series: vec![Series {
            name: "lr".into(),
            points: rows.iter().map(|r| (r.step as f64, r.lr)).collect(),
            color: BLUE_LINE,
        }],
        y_range: None,
        y_scientific: true,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_and_averaged_per_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("steps.csv");
        std::fs::write(
            &csv,
            "epoch,step,loss,watched,lr\n1,1,0.4,0.5,0.001\n1,2,0.2,0.5,0.001\nbroken\n\
             2,3,0.1,NaN,0.0005\n",
        )
        .unwrap();
        let rows = read_steps(&csv);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2], StepRow { epoch: 2, step: 3, loss: 0.1, lr: 0.0005 });
        let means = epoch_means(&rows);
        assert_eq!(means.len(), 2);
        assert!((means[0].0 - 2.0).abs() < 1e-12 && (means[0].1 - 0.3).abs() < 1e-12);
        assert!(read_steps(&dir.path().join("missing.csv")).is_empty());
        assert!(loss_chart(&[("a".into(), rows.clone()), ("b".into(), rows.clone())]).is_ok());
        assert!(lr_chart(&rows).is_ok());
    }
}
