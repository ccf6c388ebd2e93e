//! Validation during training: embeddings of the validation rows and their metrics.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use oml_core::metrics::{MetricsConfig, MetricsReport, evaluate};
use oml_core::retrieval::Embeddings;
use oml_models::embedder::Embedder;
use oml_models::precision::Precision;

use super::data::{ImagePipeline, TrainData};
use oml_models::model_file::FileModel;

/// Embeddings of `items` by the model in inference mode (no augmentation), row by row: the
/// pipeline of `oml embed`.
pub fn embed_valid(
    model: &FileModel,
    items: &[crate::embed::ImageItem],
    pipeline: &ImagePipeline,
    normalise: bool,
    device: &Device,
    batch: usize,
) -> anyhow::Result<Vec<f32>> {
    let embedder = Embedder {
        model: model.valid(),
        preprocess: pipeline.preprocess,
        normalise,
        device: device.clone().inner(),
        precision: Precision::F32,
    };
    Ok(crate::embed::embed_items(&embedder, items, batch, false)?)
}

/// The validation report, and the embeddings it was computed from (`[rows, dim]`).
pub struct Validation {
    pub report: MetricsReport,
    pub embeddings: Vec<f32>,
    pub dim: usize,
    /// Time to embed and evaluate.
    pub seconds: f64,
}

/// Embeds the validation rows with `model` and computes `metrics` (none without validation
/// rows).
pub fn validate(
    data: &TrainData,
    model: &FileModel,
    pipeline: &ImagePipeline,
    normalise: bool,
    device: &Device,
    metrics: &MetricsConfig,
) -> anyhow::Result<Option<Validation>> {
    let Some(qg) = &data.valid_qg else { return Ok(None) };
    let started = Instant::now();
    let values = embed_valid(model, &data.valid, pipeline, normalise, device, 64)?;
    let dim = values.len() / data.valid.len().max(1);
    let emb = Embeddings::new(&values, data.valid.len(), dim)?;
    let evaluation = evaluate(&emb, qg, metrics)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Some(Validation { report: evaluation.report, embeddings: values, dim, seconds }))
}
