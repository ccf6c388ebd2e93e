//! Shared by the commands that evaluate: the query/gallery structure of a dataset's validation
//! rows.

use oml_core::dataset::Dataset;
use oml_core::retrieval::{QueryGallery, RetrievalError};

/// Roles, dense labels, sequences and categories of the validation rows.
pub fn query_gallery(dataset: &Dataset, rows: &[usize]) -> Result<QueryGallery, RetrievalError> {
    QueryGallery::from_dataset(dataset, rows)
}

/// A dataset's validation rows embedded by a model and evaluated.
#[derive(Debug)]
pub struct EvaluatedDataset {
    pub dataset: Dataset,
    /// Dataset rows of the validation split, in order (row `i` of `qg`).
    pub rows: Vec<usize>,
    pub items: Vec<crate::embed::ImageItem>,
    pub qg: QueryGallery,
    pub evaluation: oml_core::metrics::Evaluation,
    /// The validation embeddings, `rows.len() × dim`.
    pub embeddings: Vec<f32>,
    pub dim: usize,
}

/// Reads `csv`, embeds its validation rows with `embedder` and computes `config`'s metrics.
pub fn evaluate_dataset<E: oml_models::extractor::Extractor>(
    embedder: &oml_models::embedder::Embedder<E>,
    csv: &std::path::Path,
    root: Option<&std::path::Path>,
    batch_size: usize,
    config: &oml_core::metrics::MetricsConfig,
) -> Result<EvaluatedDataset, crate::failure::Failure> {
    use crate::failure::{bad_input, other};
    use anyhow::anyhow;
    let dataset = crate::io::read_dataset_file(csv).map_err(bad_input)?;
    let root = root.map_or_else(
        || csv.parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
        std::path::Path::to_path_buf,
    );
    let rows = dataset.validation_rows();
    if rows.is_empty() {
        return Err(bad_input(anyhow!("{} has no validation rows to evaluate", csv.display())));
    }
    let all = crate::embed::from_dataset(&dataset, &root);
    let items: Vec<_> = rows.iter().map(|&r| all[r].clone()).collect();
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let data = crate::embed::embed_items(embedder, &items, batch_size, show)
        .map_err(crate::failure::embed_failure)?;
    let dim = embedder.feat_dim();
    let emb = oml_core::retrieval::Embeddings::new(&data, items.len(), dim).map_err(other)?;
    let qg = query_gallery(&dataset, &rows).map_err(bad_input)?;
    let evaluation = oml_core::metrics::evaluate(&emb, &qg, config).map_err(bad_input)?;
    Ok(EvaluatedDataset { dataset, rows, items, qg, evaluation, embeddings: data, dim })
}
