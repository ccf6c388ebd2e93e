//! The run's final report: `report.md` with the metric table, the metrics per epoch, the CMC
//! curve (`cmc.png`), the training loss and learning rate over steps (`loss.png`, `lr.png`),
//! the positive/negative distance histogram (`distances.png`) and the worst validation queries
//! (`worst_queries.png`).

use std::fmt::Write as _;
use std::path::Path;

use oml_core::metrics::{
    MetricsConfig, MetricsReport, RetrievalMetric, cmc_curve, distance_histogram, evaluate,
    worst_queries,
};
use oml_core::retrieval::{Embeddings, QueryGallery};

use anyhow::Context;

use super::charts::{loss_chart, lr_chart, read_steps};
use super::data::TrainData;
use super::run::Run;
use super::validation::Validation;
use crate::draw::chart::{BLUE_LINE, LineChart, Series, histogram_chart, line_chart};
use crate::draw::{Layout, ResultsView, grid};
use crate::embed::ImageItem;
use crate::io::write_atomically;

/// What a run reports beside its final validation.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// The checkpointing metric before training, if validated then.
    pub before: Option<f64>,
    /// The best value of the checkpointing metric, and the epoch it was reached after.
    pub best: Option<(f64, u64)>,
    /// Members of an ensemble run; 0 for a single model.
    pub members: usize,
    pub seconds: f64,
}

/// Writes the run's report from its final validation (nothing without validation rows).
pub fn finish(
    run: &Run,
    data: &TrainData,
    v: &Validation,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let Some(qg) = &data.valid_qg else { return Ok(()) };
    write_report(&ReportInput {
        run_dir: &run.dir,
        config_name: &run.config_name(),
        items: &data.valid,
        qg,
        embeddings: &v.embeddings,
        dim: v.dim,
        report: &v.report,
        metric: &run.config.metric_for_checkpointing,
        before: outcome.before,
        best: outcome.best,
        epochs: run.config.max_epochs,
        members: outcome.members,
        seconds: outcome.seconds,
    })
    .with_context(|| format!("cannot write the report in {}", run.dir.display()))?;
    for name in PICTURES {
        let path = run.dir.join(format!("{name}.png"));
        if path.exists() {
            run.loggers.image(run.config.max_epochs, &format!("report/{name}"), &path);
        }
    }
    Ok(())
}

/// The report's pictures, each `<name>.png` in the run folder (loss and lr only when steps
/// were logged).
const PICTURES: [&str; 5] = ["cmc", "loss", "lr", "distances", "worst_queries"];

/// Query-gallery pairs of at most this many queries make the distance histogram.
const HISTOGRAM_QUERIES: usize = 1000;

/// Inputs of the report: the final model's validation embeddings and the run's history.
#[derive(Debug)]
struct ReportInput<'a> {
    pub run_dir: &'a Path,
    pub config_name: &'a str,
    pub items: &'a [ImageItem],
    pub qg: &'a QueryGallery,
    pub embeddings: &'a [f32],
    pub dim: usize,
    pub report: &'a MetricsReport,
    pub metric: &'a str,
    pub before: Option<f64>,
    pub best: Option<(f64, u64)>,
    pub epochs: u64,
    /// Members of an ensemble run (their metrics are in `members/<k>/metrics.csv`); 0 for a
    /// single model.
    pub members: usize,
    pub seconds: f64,
}

fn png(path: &Path, image: &image::RgbImage) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    write_atomically(path, &bytes)?;
    Ok(())
}

/// The train loss and `metric` per logged epoch of a metrics.csv, as a markdown table
/// (empty when the file cannot be read).
fn epoch_table(csv: &Path, metric: &str) -> String {
    let Ok(text) = std::fs::read_to_string(csv) else { return String::new() };
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return String::new() };
    let pick = header.split(',').position(|c| c == metric);
    let fixed = |v: Option<&str>| {
        v.and_then(|x| x.parse::<f64>().ok()).map_or_else(String::new, |x| format!("{x:.4}"))
    };
    let mut md = format!("| epoch | train loss | {metric} |\n|---|---|---|\n");
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let value = fixed(pick.and_then(|i| f.get(i)).copied());
        let _ = writeln!(md, "| {} | {} | {value} |", f[0], fixed(f.get(1).copied()));
    }
    md
}

/// Draws loss.png and lr.png from the steps.csv of the run (or of each member of an
/// ensemble); false when no step was logged.
fn training_curves(input: &ReportInput<'_>) -> anyhow::Result<bool> {
    let runs: Vec<(String, Vec<_>)> = if input.members > 0 {
        (0..input.members)
            .map(|k| {
                let csv = input.run_dir.join("members").join(k.to_string()).join("steps.csv");
                (format!("member {}", k + 1), read_steps(&csv))
            })
            .collect()
    } else {
        vec![(String::new(), read_steps(&input.run_dir.join("steps.csv")))]
    };
    let runs: Vec<_> = runs.into_iter().filter(|(_, rows)| !rows.is_empty()).collect();
    let Some((_, first)) = runs.first() else { return Ok(false) };
    png(&input.run_dir.join("lr.png"), &lr_chart(first)?)?;
    png(&input.run_dir.join("loss.png"), &loss_chart(&runs)?)?;
    Ok(true)
}

/// Writes report.md and its pictures into the run folder.
fn write_report(input: &ReportInput<'_>) -> anyhow::Result<()> {
    let n_gallery = input.qg.gallery_rows().len();
    let max_k = n_gallery.clamp(1, 20);
    let config = MetricsConfig {
        cmc_top_k: vec![max_k],
        map_top_k: vec![5.min(max_k)],
        ..MetricsConfig::none()
    };
    let emb = Embeddings::new(input.embeddings, input.items.len(), input.dim)?;
    let evaluation = evaluate(&emb, input.qg, &config)?;
    let cmc = cmc_curve(&evaluation.results, max_k);
    let cmc = line_chart(&LineChart {
        title: "CMC curve (validation)",
        x_title: "k",
        y_title: "CMC@k",
        series: vec![Series {
            name: "CMC@k".into(),
            points: cmc.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v)).collect(),
            color: BLUE_LINE,
        }],
        y_range: Some((0.0, 1.0)),
        y_scientific: false,
    })?;
    png(&input.run_dir.join("cmc.png"), &cmc)?;
    let histogram = distance_histogram(&emb, input.qg, config.distance, 30, HISTOGRAM_QUERIES);
    let title = "Query-gallery distances (validation)";
    png(&input.run_dir.join("distances.png"), &histogram_chart(&histogram, title)?)?;
    let curves = training_curves(input)?;
    let ap = evaluation.per_query.get(RetrievalMetric::Map, 5.min(max_k)).unwrap_or(&[]);
    let queries = worst_queries(ap, None, 8);
    let view = ResultsView {
        items: input.items,
        qg: input.qg,
        results: &evaluation.results,
        embeddings: input.embeddings,
        dim: input.dim,
    };
    png(
        &input.run_dir.join("worst_queries.png"),
        &grid(&view.rows(&queries, 5, 2)?, Layout::default()),
    )?;

    let mut md = format!("# Training report: {}\n\n", input.config_name);
    let after = input.report.get(input.metric).unwrap_or(f64::NAN);
    let what = if input.members > 1 {
        format!("An ensemble of {} members of {} epochs each", input.members, input.epochs)
    } else {
        format!("{} epochs", input.epochs)
    };
    let _ = writeln!(
        md,
        "{what} in {:.0} s. `{}`: {}{after:.4} after training{}.\n",
        input.seconds,
        input.metric,
        input.before.map_or_else(String::new, |b| format!("{b:.4} before training, ")),
        input.best.map_or_else(String::new, |(v, e)| format!(" (best {v:.4} after epoch {e})")),
    );
    let _ = writeln!(
        md,
        "## Metrics after the last epoch\n\n{}",
        crate::tables::markdown(input.report)
    );
    let _ = writeln!(md, "## Per epoch\n\nSee `metrics.csv` (epoch 0 is before training).\n");
    md.push_str(&epoch_table(&input.run_dir.join("metrics.csv"), input.metric));
    for k in 0..input.members {
        let member = input.run_dir.join("members").join(k.to_string());
        let _ = writeln!(
            md,
            "\nMember {} (`members/{k}`, its own report in `members/{k}/report.md`):\n",
            k + 1
        );
        md.push_str(&epoch_table(&member.join("metrics.csv"), input.metric));
    }
    let _ = writeln!(
        md,
        "\n## CMC curve\n\nCMC@k for k = 1..{max_k}, all validation queries.\n\n![CMC curve](cmc.png)\n"
    );
    if curves {
        let _ = writeln!(
            md,
            "## Training curves\n\nThe loss of each optimizer step and its mean per epoch \
             (`steps.csv`), and the learning rate.\n\n![loss](loss.png)\n\n![learning rate](lr.png)\n"
        );
    }
    let _ = writeln!(
        md,
        "## Distances\n\nQuery-gallery distances of positive pairs (same label) and negative \
         pairs, each side as a share of its pairs (at most {HISTOGRAM_QUERIES} queries).\n\n\
         ![distance histogram](distances.png)\n"
    );
    let _ = writeln!(
        md,
        "## Worst queries\n\nThe 8 queries with the lowest AP@5: query (blue), top 5 (green \
         correct, red wrong), missed positives (gray), with distances.\n\n\
         ![worst queries](worst_queries.png)"
    );
    write_atomically(&input.run_dir.join("report.md"), md.as_bytes())?;
    Ok(())
}
