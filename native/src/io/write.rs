use std::io::Cursor;
use std::path::Path;

use npyz::WriterBuilder;

use super::write_atomically;

/// Why an embedding matrix could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteEmbeddingsError {
    #[error("{path}: unknown extension; use .npy or .safetensors")]
    Extension { path: std::path::PathBuf },
    #[error("{path}: cannot write: {reason}")]
    Io { path: std::path::PathBuf, reason: String },
}

/// Writes a float32 `[rows, dim]` matrix as `.npy` (numpy's format, C order) or
/// `.safetensors` (one tensor named `embeddings`), atomically.
pub fn write_embeddings(
    path: &Path,
    data: &[f32],
    rows: usize,
    dim: usize,
) -> Result<(), WriteEmbeddingsError> {
    let io = |reason: String| WriteEmbeddingsError::Io { path: path.to_owned(), reason };
    debug_assert_eq!(data.len(), rows * dim);
    let bytes = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase) {
        Some(e) if e == "npy" => npy_bytes(data, rows, dim).map_err(|e| io(e.to_string()))?,
        Some(e) if e == "safetensors" => {
            let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                vec![rows, dim],
                &raw,
            )
            .map_err(|e| io(e.to_string()))?;
            safetensors::serialize([("embeddings", view)], None).map_err(|e| io(e.to_string()))?
        }
        _ => return Err(WriteEmbeddingsError::Extension { path: path.to_owned() }),
    };
    write_atomically(path, &bytes).map_err(|e| io(e.to_string()))
}

fn npy_bytes(data: &[f32], rows: usize, dim: usize) -> std::io::Result<Vec<u8>> {
    let mut cursor = Cursor::new(Vec::new());
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[rows as u64, dim as u64])
        .writer(&mut cursor)
        .begin_nd()?;
    writer.extend(data.iter().copied())?;
    writer.finish()?;
    Ok(cursor.into_inner())
}
