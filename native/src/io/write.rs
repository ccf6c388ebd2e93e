use std::io::Cursor;

use npyz::WriterBuilder;

/// Why an embedding matrix could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteEmbeddingsError {
    #[error("{path}: unknown extension; use .npy, .safetensors, .jsonl or .parquet")]
    Extension { path: std::path::PathBuf },
    #[error("{path}: cannot write: {reason}")]
    Io { path: std::path::PathBuf, reason: String },
}

/// One F32 tensor `embeddings` `[rows, dim]`; `ids` (a JSON array) goes into the header's
/// metadata as `ids`.
pub(super) fn safetensors_bytes(
    data: &[f32],
    rows: usize,
    dim: usize,
    ids: Option<String>,
) -> Result<Vec<u8>, String> {
    let raw: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![rows, dim], &raw)
        .map_err(|e| e.to_string())?;
    let meta = ids.map(|ids| std::collections::HashMap::from([("ids".to_owned(), ids)]));
    safetensors::serialize([("embeddings", view)], meta).map_err(|e| e.to_string())
}

pub(super) fn npy_bytes(data: &[f32], rows: usize, dim: usize) -> std::io::Result<Vec<u8>> {
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
