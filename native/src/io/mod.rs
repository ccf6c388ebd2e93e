//! Files in and out: embedding matrices (.npy, .safetensors) and atomic writes.

mod atomic;
mod embeddings;

pub use atomic::write_atomically;
pub use embeddings::{EmbeddingFileError, EmbeddingMatrix, read_embeddings};
