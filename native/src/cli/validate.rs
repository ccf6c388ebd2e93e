//! `oml validate`: retrieval metrics of a trained model on a dataset's validation rows.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use oml_core::metrics::MetricsConfig;

use super::model_args::ModelOnDataset;
use crate::eval::evaluate_dataset;
use crate::failure::{Failure, bad_input, other};
use crate::io::write_atomically;
use crate::tables;

/// Metrics of a model trained by oml-train: embeds the dataset's validation rows and evaluates
/// retrieval (queries against the gallery).
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    input: ModelOnDataset,
    /// k values for cmc@k, precision@k, map@k and ndcg@k.
    #[arg(long, value_delimiter = ',', default_value = "1,5,10", value_name = "K,...")]
    k: Vec<usize>,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Also write the metrics as JSON (OML's shape) to this file.
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
}

pub(crate) fn run(args: &ValidateArgs) -> Result<(), Failure> {
    let embedder = args.input.embedder()?;
    let config = MetricsConfig { ranking: true, ..MetricsConfig::at_k(&args.k) };
    config.validate().map_err(bad_input)?;
    let evaluated = evaluate_dataset(
        &embedder,
        &args.input.dataset,
        args.input.dataset_root.as_deref(),
        args.batch_size,
        &config,
    )?;
    println!(
        "{} queries x {} gallery items, D = {}",
        evaluated.qg.query_rows().len(),
        evaluated.qg.gallery_rows().len(),
        embedder.feat_dim()
    );
    print!("{}", tables::terminal(&evaluated.evaluation.report));
    if let Some(path) = &args.json {
        let mut text = serde_json::to_string_pretty(&evaluated.evaluation.report).map_err(other)?;
        text.push('\n');
        write_atomically(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(other)?;
    }
    Ok(())
}
