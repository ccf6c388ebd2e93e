//! `oml visualize`: a picture of retrieval results (OML's layout).

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use oml_core::metrics::{MetricsConfig, RetrievalMetric, worst_queries};

use super::model_args::ModelOnDataset;
use crate::draw::{Layout, ResultsView, grid};
use crate::eval::{EvaluatedDataset, evaluate_dataset};
use crate::failure::{Failure, bad_input, other};

/// Draws queries and what they retrieve: the query with a blue border, its top-k results with
/// green (correct) or red (wrong) borders, then positives it missed in gray; each result is
/// captioned with its distance.
#[derive(Debug, Args)]
pub struct VisualizeArgs {
    #[command(flatten)]
    input: ModelOnDataset,
    /// Output PNG.
    #[arg(long, value_name = "OUT.png")]
    out: PathBuf,
    /// Number of queries (rows of the picture).
    #[arg(long, default_value_t = 8)]
    n_queries: usize,
    /// Results per query.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Missed positives drawn per query.
    #[arg(long, default_value_t = 2)]
    n_missed: usize,
    /// Which queries: the worst (lowest average precision) or the first in the CSV.
    #[arg(long, value_enum, default_value_t = Pick::Worst)]
    pick: Pick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Pick {
    Worst,
    First,
}

pub(crate) fn run(args: &VisualizeArgs) -> Result<(), Failure> {
    if args.k == 0 || args.n_queries == 0 {
        return Err(bad_input(anyhow!("--k and --n-queries must be at least 1")));
    }
    let embedder = args.input.embedder()?;
    let config =
        MetricsConfig { cmc_top_k: vec![args.k], map_top_k: vec![args.k], ..MetricsConfig::none() };
    let ev = evaluate_dataset(
        &embedder,
        &args.input.dataset,
        args.input.dataset_root.as_deref(),
        32,
        &config,
    )?;
    let queries = pick_queries(&ev, args);
    let view = ResultsView {
        items: &ev.items,
        qg: &ev.qg,
        results: &ev.evaluation.results,
        embeddings: &ev.embeddings,
        dim: ev.dim,
    };
    let rows = view.rows(&queries, args.k, args.n_missed).map_err(bad_input)?;
    let picture = grid(&rows, Layout::default());
    let mut bytes = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(other)?;
    crate::io::write_atomically(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))
        .map_err(other)?;
    eprintln!(
        "oml visualize: {} queries -> {} ({} x {})",
        rows.len(),
        args.out.display(),
        picture.width(),
        picture.height()
    );
    Ok(())
}

/// Query indices (into the query list) to draw.
fn pick_queries(ev: &EvaluatedDataset, args: &VisualizeArgs) -> Vec<usize> {
    let n = ev.evaluation.results.n_queries();
    match (args.pick, ev.evaluation.per_query.get(RetrievalMetric::Map, args.k)) {
        (Pick::Worst, Some(ap)) => worst_queries(ap, None, args.n_queries),
        _ => (0..n.min(args.n_queries)).collect(),
    }
}
