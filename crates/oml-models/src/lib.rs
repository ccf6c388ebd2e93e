//! Extractors: image batches `[B, 3, H, W]` to embeddings `[B, D]`, one file per architecture,
//! with PyTorch weight import (feature `pytorch`).

pub mod extractor;
