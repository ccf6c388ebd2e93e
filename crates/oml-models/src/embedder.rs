//! A model ready to embed images: an extractor, the preprocessing its weights expect, and
//! whether embeddings are L2-normalised.

use burn::tensor::{Device, Tensor, TensorData};
use oml_data::image::Preprocess;

use crate::extractor::{AnyExtractor, Extractor};

/// A batch the device could not compute or read back.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the device could not embed a batch of {images} images: {reason}")]
pub struct DeviceFailure {
    pub images: usize,
    pub reason: String,
}

/// See the module documentation. `E` is a zoo architecture by default, or e.g. a trained
/// extractor with a projection head.
#[derive(Debug)]
pub struct Embedder<E = AnyExtractor> {
    pub model: E,
    pub preprocess: Preprocess,
    /// L2-normalise each embedding (OML's `normalise_features`).
    pub normalise: bool,
    pub device: Device,
}

impl<E: Extractor> Embedder<E> {
    pub fn feat_dim(&self) -> usize {
        self.model.feat_dim()
    }

    /// Embeds a batch of preprocessed images. The error is the device's: out of memory, a
    /// buffer over the adapter's limits, a lost device (on the CPU there is none).
    ///
    /// # Shapes
    /// `pixels`: `n` images `[3, H, W]` back to back, `(W, H)` = `preprocess.output_size()`
    /// → `n × feat_dim` floats, row-major.
    pub fn embed(&self, pixels: Vec<f32>, n: usize) -> Result<Vec<f32>, DeviceFailure> {
        self.embed_tensor(pixels, n)
            .try_into_vec_as::<f32>()
            .map_err(|e| DeviceFailure { images: n, reason: e.to_string() })
    }

    /// [`Embedder::embed`] without reading the result back: for devices that are read
    /// asynchronously (WebGPU in a browser: `into_data_async`).
    ///
    /// # Shapes
    /// as [`Embedder::embed`] → `[n, feat_dim]` on the embedder's device.
    pub fn embed_tensor(&self, pixels: Vec<f32>, n: usize) -> Tensor<2> {
        let (w, h) = self.preprocess.output_size();
        let images = Tensor::<4>::from_data(
            TensorData::new(pixels, [n, 3, h as usize, w as usize]),
            &self.device,
        );
        let out = self.model.extract(images);
        if self.normalise { l2_normalise(out) } else { out }
    }
}

/// `x / max(‖x‖₂, 1e-12)` per row (PyTorch's `F.normalize`, which OML's `normalise` calls).
///
/// # Shapes
/// `[B, D]` → `[B, D]`.
pub fn l2_normalise(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}
