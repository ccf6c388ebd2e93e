//! A model ready to embed images: an extractor, the preprocessing its weights expect, and
//! whether embeddings are L2-normalised.

use burn::tensor::{Device, Tensor, TensorData};
use oml_data::image::Preprocess;

use crate::extractor::{AnyExtractor, Extractor};
use crate::precision::{Precision, cast_module};

pub use crate::normalise::l2_normalise;

/// A batch the device could not compute or read back.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the device could not embed a batch of {images} images: {reason}")]
pub struct DeviceFailure {
    /// Images in the batch.
    pub images: usize,
    /// The backend's reason.
    pub reason: String,
}

/// See the module documentation. `E` is a zoo architecture by default, or e.g. a trained
/// extractor with a projection head.
#[derive(Debug)]
pub struct Embedder<E = AnyExtractor> {
    /// The model.
    pub model: E,
    /// The preprocessing the model's weights expect.
    pub preprocess: Preprocess,
    /// L2-normalise each embedding (OML's `normalise_features`).
    pub normalise: bool,
    /// Where the model runs.
    pub device: Device,
    /// The float type the model computes in; see [`Embedder::with_precision`].
    pub precision: Precision,
}

impl<E: Extractor + burn::module::Module> Embedder<E> {
    /// The embedder computing in `precision` (weights cast once; images cast on the way in,
    /// embeddings read back as f32). Half precision is for GPU backends: the CPU backend
    /// computes in f32 only.
    pub fn with_precision(self, precision: Precision) -> Self {
        Self { model: cast_module(self.model, precision), precision, ..self }
    }
}

impl<E: Extractor> Embedder<E> {
    /// Floats per embedding.
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
        let out = self.model.extract(self.precision.cast(images));
        // Back in f32 before the norm: a sum of 1280 squares overflows f16.
        let out = match self.precision {
            Precision::F32 => out,
            _ => out.cast(burn::tensor::FloatDType::F32),
        };
        if self.normalise { l2_normalise(out) } else { out }
    }
}
