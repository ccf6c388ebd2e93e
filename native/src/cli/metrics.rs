//! `oml metrics`: retrieval metrics of precomputed embeddings over a dataset's validation rows.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use oml_core::dataset::Dataset;
use oml_core::metrics::{MetricsConfig, evaluate};
use oml_core::retrieval::{Distance, Embeddings, RetrievalError};

use crate::failure::{Failure, bad_input, other};
use crate::io::{read_embeddings, write_atomically};
use crate::tables;

/// Retrieval metrics (cmc, precision, map, ndcg, map@r, r_precision, mrr, pcf, fnmr@fmr, and
/// on request nmi and ami) of precomputed embeddings.
///
/// Row i of the dataset CSV is row i of the embeddings; only validation rows are used, and the
/// images need not exist.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Embeddings: .npy (float32 [N, D]; float64 is accepted) or .safetensors (one tensor).
    #[arg(long, value_name = "FILE")]
    embeddings: PathBuf,
    /// Dataset in OML's CSV format, one row per embedding row.
    #[arg(long, value_name = "CSV")]
    dataset: PathBuf,
    /// k values for cmc@k, precision@k, map@k and ndcg@k.
    #[arg(long, value_delimiter = ',', default_value = "1,5,10", value_name = "K,...")]
    k: Vec<usize>,
    /// False-match rates for fnmr@fmr (two extra passes over all pairs).
    #[arg(long, value_delimiter = ',', default_value = "0.001,0.01,0.1", value_name = "FMR,...")]
    fmr: Vec<f64>,
    /// Skip fnmr@fmr (the slowest metric on large galleries).
    #[arg(long, conflicts_with = "fmr")]
    no_fmr: bool,
    /// Skip map@r, r_precision and mrr (PML's definitions: every positive ranked in the whole
    /// gallery, two extra passes over all pairs).
    #[arg(long)]
    no_ranking: bool,
    /// Also NMI and AMI of a k-means clustering of the queries (as many clusters as they have
    /// labels; k-means++ seeding, 25 Lloyd iterations), OVERALL only.
    #[arg(long)]
    clustering: bool,
    /// Explained-variance fractions for pcf.
    #[arg(long, value_delimiter = ',', default_value = "0.5", value_name = "R,...")]
    pcf: Vec<f64>,
    /// Distance between embeddings.
    #[arg(long, default_value = "euclidean", value_parser = parse_distance)]
    distance: Distance,
    /// Also write the metrics as JSON (OML's shape) to this file.
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
}

fn parse_distance(s: &str) -> Result<Distance, String> {
    s.parse().map_err(|e: oml_core::retrieval::UnknownDistance| e.to_string())
}

pub(crate) fn run(args: &MetricsArgs) -> Result<(), Failure> {
    let config = MetricsConfig {
        fmr_vals: if args.no_fmr { Vec::new() } else { args.fmr.clone() },
        pcf_variance: args.pcf.clone(),
        ranking: !args.no_ranking,
        clustering: args.clustering,
        distance: args.distance,
        ..MetricsConfig::at_k(&args.k)
    };
    config.validate().map_err(bad_input)?;

    let dataset = load_dataset(&args.dataset)?;
    for warning in dataset.warnings() {
        eprintln!("warning: {}: {warning}", dataset.source_name());
    }
    let matrix = read_embeddings(&args.embeddings).map_err(bad_input)?;
    let n_rows = dataset.records().len();
    if matrix.rows != n_rows {
        return Err(bad_input(anyhow!(
            "{} has {} rows but {} has {} data rows; row i of the CSV must be row i of the embeddings",
            args.embeddings.display(),
            matrix.rows,
            args.dataset.display(),
            n_rows
        )));
    }

    // Only validation rows take part: copy them out, keeping their CSV lines for messages.
    let rows = dataset.validation_rows();
    if rows.is_empty() {
        return Err(bad_input(anyhow!(
            "{} has no validation rows to evaluate",
            args.dataset.display()
        )));
    }
    let mut data = Vec::with_capacity(rows.len() * matrix.dim);
    for &r in &rows {
        data.extend_from_slice(&matrix.data[r * matrix.dim..(r + 1) * matrix.dim]);
    }
    let emb = Embeddings::new(&data, rows.len(), matrix.dim).map_err(|e| match e {
        RetrievalError::NotFinite { row, column, value } => bad_input(anyhow!(
            "{}: row {} (CSV line {}), column {column} is {value}: embeddings must be finite",
            args.embeddings.display(),
            rows[row],
            dataset.records()[rows[row]].line,
        )),
        other => bad_input(other),
    })?;
    let qg = crate::eval::query_gallery(&dataset, &rows).map_err(bad_input)?;

    let evaluation = evaluate(&emb, &qg, &config).map_err(bad_input)?;
    let report = &evaluation.report;
    println!(
        "{} queries x {} gallery items, {} distance, D = {}",
        qg.query_rows().len(),
        qg.gallery_rows().len(),
        config.distance,
        matrix.dim
    );
    print!("{}", tables::terminal(report));
    if let Some(path) = &args.json {
        let mut text = serde_json::to_string_pretty(report).map_err(other)?;
        text.push('\n');
        write_atomically(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(other)?;
        println!("metrics written to {}", path.display());
    }
    Ok(())
}

fn load_dataset(path: &std::path::Path) -> Result<Dataset, Failure> {
    crate::io::read_dataset_file(path).map_err(bad_input)
}
