//! Validation during training: embeddings of the validation rows and their metrics.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use oml_core::metrics::{MetricsConfig, MetricsReport, evaluate};
use oml_core::retrieval::Embeddings;
use oml_models::embedder::{DeviceFailure, l2_normalise};
use oml_models::extractor::Extractor;

use super::data::{ImagePipeline, TrainData};
use oml_models::model_file::FileModel;

/// Embeddings of the validation images (no augmentation, inference mode), row by row.
pub fn embed_valid(
    model: &FileModel,
    items: &[crate::embed::ImageItem],
    pipeline: &ImagePipeline,
    normalise: bool,
    device: &Device,
    batch: usize,
) -> anyhow::Result<Vec<f32>> {
    let model = model.valid();
    let (w, h) = pipeline.preprocess.output_size();
    let per_image = 3 * w as usize * h as usize;
    let mut fit = crate::embed::BatchFit::new(batch);
    let mut out = Vec::new();
    for chunk in items.chunks(batch.max(1)) {
        let refs: Vec<_> = chunk.iter().collect();
        let keys = vec![(0, 0); chunk.len()];
        let pixels = pipeline.load_batch(&refs, &keys)?;
        let rows = fit.run(chunk.len(), |start, len| {
            let piece = pixels[start * per_image..(start + len) * per_image].to_vec();
            let x = Tensor::<4>::from_data(
                TensorData::new(piece, [len, 3, h as usize, w as usize]),
                &device.clone().inner(),
            );
            let mut e = model.extract(x);
            if normalise {
                e = l2_normalise(e);
            }
            e.try_into_vec_as::<f32>()
                .map_err(|e| DeviceFailure { images: len, reason: e.to_string() })
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// The validation report, and the embeddings it was computed from (`[rows, dim]`).
pub struct Validation {
    pub report: MetricsReport,
    pub embeddings: Vec<f32>,
    pub dim: usize,
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
    eprintln!(
        "validation: {} images in {:.1} s",
        data.valid.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Some(Validation { report: evaluation.report, embeddings: values, dim }))
}
