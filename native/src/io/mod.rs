//! Files in and out: embedding matrices (.npy, .safetensors) and atomic writes.

mod atomic;
mod embeddings;
mod write;

pub use atomic::write_atomically;
pub use embeddings::{EmbeddingFileError, EmbeddingMatrix, read_embeddings};
pub use write::{WriteEmbeddingsError, write_embeddings};
