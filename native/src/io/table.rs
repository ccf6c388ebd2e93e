//! Embeddings with their ids (and labels, categories) in the formats vector databases and
//! data tools ingest: `.npy` and `.safetensors` (each with `<out>.ids.txt`; safetensors also
//! holds the ids in its header),
//! `.jsonl` and `.parquet`. Every file is written atomically.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float32Builder};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use super::write::{WriteEmbeddingsError, npy_bytes, safetensors_bytes};
use super::write_atomically;

/// Rows to write: `ids.len()` embeddings of `dim` floats, row-major.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddingTable<'a> {
    pub ids: &'a [String],
    /// One label per row (dataset rows), or none (a folder of images).
    pub labels: Option<&'a [i64]>,
    /// One category per row (possibly missing), when the dataset has the column.
    pub categories: Option<&'a [Option<String>]>,
    pub data: &'a [f32],
    pub dim: usize,
}

/// The formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Npy,
    Safetensors,
    Jsonl,
    Parquet,
}

impl TableFormat {
    pub fn of(path: &Path) -> Result<Self, WriteEmbeddingsError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("npy") => Ok(Self::Npy),
            Some("safetensors") => Ok(Self::Safetensors),
            Some("jsonl") => Ok(Self::Jsonl),
            Some("parquet") => Ok(Self::Parquet),
            _ => Err(WriteEmbeddingsError::Extension { path: path.to_owned() }),
        }
    }
}

/// `E.npy` → `E.ids.txt`: the ids of a matrix file, one per line.
pub fn ids_path(out: &Path) -> PathBuf {
    out.with_extension("ids.txt")
}

/// Writes `table` to `path` in the format its extension names. Returns the files written.
pub fn write_table(
    path: &Path,
    table: &EmbeddingTable<'_>,
) -> Result<Vec<PathBuf>, WriteEmbeddingsError> {
    let io = |reason: String| WriteEmbeddingsError::Io { path: path.to_owned(), reason };
    let rows = table.ids.len();
    assert_eq!(table.data.len(), rows * table.dim, "ids and embeddings disagree");
    let mut written = vec![path.to_owned()];
    let format = TableFormat::of(path)?;
    if matches!(format, TableFormat::Npy | TableFormat::Safetensors) {
        let ids = ids_path(path);
        let list: String = table.ids.iter().map(|i| format!("{i}\n")).collect();
        write_atomically(&ids, list.as_bytes())
            .map_err(|e| WriteEmbeddingsError::Io { path: ids.clone(), reason: e.to_string() })?;
        written.push(ids);
    }
    let bytes = match format {
        TableFormat::Npy => {
            npy_bytes(table.data, rows, table.dim).map_err(|e| io(e.to_string()))?
        }
        TableFormat::Safetensors => {
            let ids = serde_json::to_string(table.ids).map_err(|e| io(e.to_string()))?;
            safetensors_bytes(table.data, rows, table.dim, Some(ids)).map_err(io)?
        }
        TableFormat::Jsonl => jsonl_bytes(table).map_err(io)?,
        TableFormat::Parquet => parquet_bytes(table).map_err(io)?,
    };
    write_atomically(path, &bytes).map_err(|e| io(e.to_string()))?;
    Ok(written)
}

/// One JSON object per line: `{"id": ..., "label": ..., "category": ..., "embedding": [...]}`
/// (label and category only when known). Floats are written in their shortest form that
/// reads back to the same float32 (`ryu`, what serde_json uses; 4x faster than `Display`).
fn jsonl_bytes(table: &EmbeddingTable<'_>) -> Result<Vec<u8>, String> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(table.data.len() * 12);
    let rows = table.ids.iter().zip(table.data.chunks_exact(table.dim)).enumerate();
    for (i, (id, embedding)) in rows {
        let string = |s: &str| serde_json::to_string(s).map_err(|e| e.to_string());
        out.push_str("{\"id\":");
        out.push_str(&string(id)?);
        if let Some(labels) = table.labels {
            let _ = write!(out, ",\"label\":{}", labels[i]);
        }
        if let Some(categories) = table.categories {
            out.push_str(",\"category\":");
            match &categories[i] {
                Some(c) => out.push_str(&string(c)?),
                None => out.push_str("null"),
            }
        }
        out.push_str(",\"embedding\":[");
        let mut float = ryu::Buffer::new();
        for (j, v) in embedding.iter().enumerate() {
            if !v.is_finite() {
                return Err(format!(
                    "row {i} ({id}) has a non-finite value, which JSON cannot hold"
                ));
            }
            if j > 0 {
                out.push(',');
            }
            out.push_str(float.format_finite(*v));
        }
        out.push_str("]}\n");
    }
    Ok(out.into_bytes())
}

/// Columns `id` (utf8), `label` (int64), `category` (utf8, nullable) when known, and
/// `embedding` (fixed-size list of `dim` float32), Snappy-compressed.
fn parquet_bytes(table: &EmbeddingTable<'_>) -> Result<Vec<u8>, String> {
    let dim = i32::try_from(table.dim).map_err(|_| format!("dim {} is too large", table.dim))?;
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let mut fields = vec![Field::new("id", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(table.ids))];
    if let Some(labels) = table.labels {
        fields.push(Field::new("label", DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from(labels.to_vec())));
    }
    if let Some(categories) = table.categories {
        fields.push(Field::new("category", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(categories.to_vec())));
    }
    let mut embeddings = FixedSizeListBuilder::with_capacity(
        Float32Builder::with_capacity(table.data.len()),
        dim,
        table.ids.len(),
    )
    .with_field(Arc::clone(&item));
    for row in table.data.chunks_exact(table.dim) {
        embeddings.values().append_slice(row);
        embeddings.append(true);
    }
    fields.push(Field::new("embedding", DataType::FixedSizeList(item, dim), false));
    columns.push(Arc::new(embeddings.finish()));
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| e.to_string())?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_created_by(crate::saved::producer())
        .build();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, schema, Some(props))
        .map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}
