//! Files in and out: embedding matrices (.npy, .safetensors), embedding tables for vector
//! databases (.jsonl, .parquet), and atomic writes.

mod atomic;
mod embeddings;
mod table;
mod write;

pub use atomic::write_atomically;
pub use embeddings::{EmbeddingFileError, EmbeddingMatrix, read_embeddings};
pub use table::{EmbeddingTable, TableFormat, ids_path, write_table};
pub use write::WriteEmbeddingsError;
