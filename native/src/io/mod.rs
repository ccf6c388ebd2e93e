//! Files in and out: embedding matrices (.npy, .safetensors), embedding tables for vector
//! databases (.jsonl, .parquet), retrieval results (.jsonl, .csv, .parquet), lists of images,
//! atomic writes, and reading only regular files.

mod atomic;
mod dataset;
mod embeddings;
mod image_list;
mod mapped;
#[cfg(test)]
mod props;
mod regular;
mod results;
mod table;
mod write;

pub use atomic::write_atomically;
pub use dataset::read_dataset_file;
pub use embeddings::{EmbeddingFileError, EmbeddingMatrix, parse_embeddings, read_embeddings};
pub use image_list::{ImageList, read_image_list};
pub use mapped::map_file;
pub use regular::{
    MAX_IMAGE_FILE_BYTES, MAX_TEXT_BYTES, open_regular, read_regular, read_regular_text,
};
pub use results::{PredictedRow, ResultsFormat, write_results};
pub use table::{EmbeddingTable, TableFormat, ids_path, write_table};
pub use write::WriteEmbeddingsError;
