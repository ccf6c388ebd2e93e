//! What the criterion adds to training: class ids, ArcFace's category map, class weights and
//! Proxy-Anchor's proxies imprinted from class means, and the [`Trainee`] (the model plus the
//! criterion's weights: ArcFace's class weights, with its projector for `arcface_with_mlp`, or
//! Proxy-Anchor's proxies) the optimizer trains.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::{ArcFaceLoss, ArcFaceLossConfig, ArcFaceLossWithMlp, ProxyAnchorLoss};

use super::config::ArcFaceSection;

use oml_models::model_file::FileModel;

/// What the optimizer trains: the model, and ArcFace's class weights (behind its projector
/// for `arcface_with_mlp`) or Proxy-Anchor's proxies when that is the criterion. Checkpoints
/// keep the model and the criterion's weights in separate files, so a run's `model.bpk` is the
/// model alone whatever the criterion (OML: the projector exists only in training).
#[derive(Module, Debug)]
pub struct Trainee {
    pub model: FileModel,
    pub arcface: Option<ArcFaceLoss>,
    pub arcface_mlp: Option<ArcFaceLossWithMlp>,
    pub proxies: Option<ProxyAnchorLoss>,
}

impl Trainee {
    /// The model with no criterion weights.
    pub fn model_only(model: FileModel) -> Self {
        Self { model, arcface: None, arcface_mlp: None, proxies: None }
    }
}

/// Dense ArcFace class ids (0..n, in order of first appearance) of the training labels.
pub fn class_ids(train_labels: &[u32]) -> (Vec<u32>, usize) {
    let mut ids = HashMap::new();
    let classes = train_labels
        .iter()
        .map(|&l| {
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry(l).or_insert(next)
        })
        .collect();
    (classes, ids.len())
}

/// Category of each dense class, from the categories of its rows.
pub fn class_categories(classes: &[u32], categories: &[u32], n_classes: usize) -> Vec<u32> {
    let mut out = vec![0; n_classes];
    for (&c, &k) in classes.iter().zip(categories) {
        out[c as usize] = k;
    }
    out
}

/// ArcFace's config: `in_features` from the model (or the projector), `n_classes` training
/// classes.
pub fn arcface_config(
    section: &ArcFaceSection,
    in_features: usize,
    n_classes: usize,
    label2category: Option<Vec<u32>>,
) -> ArcFaceLossConfig {
    ArcFaceLossConfig::new(in_features, n_classes)
        .with_m(section.m)
        .with_s(section.s)
        .with_smoothing_epsilon(section.smoothing_epsilon)
        .with_label2category(label2category)
}

/// `[n_classes, dim]`: row c = the L2-normalised mean of the L2-normalised embeddings
/// (`[rows, dim]`, row-major) whose class is c. A class without rows keeps a zero row, which
/// ArcFace's normalisation turns into cos = 0 against everything.
pub fn imprinted_weight(
    embeddings: &[f32],
    dim: usize,
    classes: &[u32],
    n_classes: usize,
) -> Vec<f32> {
    let mut sums = vec![0.0f64; n_classes * dim];
    for (row, &c) in embeddings.chunks_exact(dim).zip(classes) {
        let norm = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt().max(1e-12);
        let sum = &mut sums[c as usize * dim..(c as usize + 1) * dim];
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v) / norm;
        }
    }
    let mut out = Vec::with_capacity(n_classes * dim);
    for sum in sums.chunks_exact(dim) {
        let norm = sum.iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        out.extend(sum.iter().map(|&v| (v * scale) as f32));
    }
    out
}

/// `loss` with its weight replaced by `weight` (`[n_classes, dim]`, row-major), keeping the
/// parameter's id.
pub fn with_weight(
    config: &ArcFaceLossConfig,
    loss: &ArcFaceLoss,
    weight: Vec<f32>,
    device: &Device,
) -> anyhow::Result<ArcFaceLoss> {
    let [c, d] = loss.weight.dims();
    let tensor = Tensor::<2>::from_data(TensorData::new(weight, [c, d]), device);
    Ok(config.with_weight(Param::initialized(loss.weight.id, tensor.require_grad()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_ids_are_dense_in_order_of_appearance() {
        let (ids, n) = class_ids(&[7, 3, 7, 9, 3]);
        assert_eq!((ids, n), (vec![0, 1, 0, 2, 1], 3));
        assert_eq!(class_categories(&[0, 1, 0, 2], &[5, 6, 5, 4], 3), vec![5, 6, 4]);
    }

    #[test]
    fn imprinting_averages_unit_vectors_per_class() {
        // Class 0: (2, 0) and (0, 1) -> mean of unit vectors (0.5, 0.5) -> (0.707, 0.707).
        // Class 1: (0, -3) -> (0, -1). Class 2: no rows -> zeros.
        let w = imprinted_weight(&[2.0, 0.0, 0.0, 1.0, 0.0, -3.0], 2, &[0, 0, 1], 3);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let expected = [h, h, 0.0, -1.0, 0.0, 0.0];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{w:?}");
        }
    }
}
