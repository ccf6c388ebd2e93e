//! Extractors: image batches `[B, 3, H, W]` to embeddings `[B, D]`, one file per architecture,
//! with PyTorch weight import (features `pytorch`, `safetensors`), the zoo of named pretrained
//! models, and the [`embedder::Embedder`] that puts a model and its preprocessing together.

#![warn(missing_docs)]

pub mod embedder;
pub mod extractor;
#[cfg(feature = "safetensors")]
pub mod model_file;
pub mod normalise;
pub mod precision;
pub mod zoo;
