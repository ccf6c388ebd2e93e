use std::path::{Path, PathBuf};

/// A float32 embedding matrix read from a file, row-major `[rows, dim]`.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingMatrix {
    pub data: Vec<f32>,
    pub rows: usize,
    pub dim: usize,
}

/// Why an embedding file could not be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingFileError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a valid {format} file: {reason}")]
    Format { path: PathBuf, format: &'static str, reason: String },
    #[error("{path}: expected a 2-D [rows, dim] matrix, found shape {shape:?}")]
    Shape { path: PathBuf, shape: Vec<u64> },
    #[error("{path}: expected float32 (or float64) values, found {dtype}")]
    DType { path: PathBuf, dtype: String },
    #[error("{path}: a .safetensors file must hold exactly one tensor, found {count} ({names})")]
    TensorCount { path: PathBuf, count: usize, names: String },
    #[error("{path}: unknown extension; use .npy or .safetensors")]
    Extension { path: PathBuf },
}

/// Reads `.npy` (numpy `save` of a float32 or float64 `[N, D]` array, C or Fortran order) or
/// `.safetensors` (exactly one F32 or F64 `[N, D]` tensor). float64 is rounded to float32.
pub fn read_embeddings(path: &Path) -> Result<EmbeddingMatrix, EmbeddingFileError> {
    let bytes = std::fs::read(path)
        .map_err(|source| EmbeddingFileError::Io { path: path.to_owned(), source })?;
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => read_npy(path, &bytes),
        Some("safetensors") => read_safetensors(path, &bytes),
        _ => Err(EmbeddingFileError::Extension { path: path.to_owned() }),
    }
}

fn matrix_shape(path: &Path, shape: &[u64]) -> Result<(usize, usize), EmbeddingFileError> {
    let bad = || EmbeddingFileError::Shape { path: path.to_owned(), shape: shape.to_vec() };
    match shape {
        &[rows, dim] => Ok((
            usize::try_from(rows).map_err(|_| bad())?,
            usize::try_from(dim).map_err(|_| bad())?,
        )),
        _ => Err(bad()),
    }
}

fn read_npy(path: &Path, bytes: &[u8]) -> Result<EmbeddingMatrix, EmbeddingFileError> {
    let format = |reason: String| EmbeddingFileError::Format {
        path: path.to_owned(),
        format: "npy",
        reason,
    };
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format(e.to_string()))?;
    let (rows, dim) = matrix_shape(path, npy.shape())?;
    let order = npy.order();
    let dtype = match npy.dtype() {
        npyz::DType::Plain(type_str) => type_str.to_string(),
        other => other.descr(),
    };
    let values: Vec<f32> = match dtype.as_str() {
        "<f4" => npy.into_vec::<f32>().map_err(|e| format(e.to_string()))?,
        "<f8" => {
            #[allow(clippy::cast_possible_truncation)]
            let v = npy
                .into_vec::<f64>()
                .map_err(|e| format(e.to_string()))?
                .into_iter()
                .map(|v| v as f32)
                .collect();
            v
        }
        _ => {
            return Err(EmbeddingFileError::DType { path: path.to_owned(), dtype });
        }
    };
    if values.len() != rows * dim {
        return Err(format(format!(
            "header says {rows}x{dim} but the file holds {} values",
            values.len()
        )));
    }
    let data = match order {
        npyz::Order::C => values,
        npyz::Order::Fortran => {
            let mut c = vec![0.0; values.len()];
            for (i, v) in values.into_iter().enumerate() {
                let (col, row) = (i / rows, i % rows);
                c[row * dim + col] = v;
            }
            c
        }
    };
    Ok(EmbeddingMatrix { data, rows, dim })
}

fn read_safetensors(path: &Path, bytes: &[u8]) -> Result<EmbeddingMatrix, EmbeddingFileError> {
    let file =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| EmbeddingFileError::Format {
            path: path.to_owned(),
            format: "safetensors",
            reason: e.to_string(),
        })?;
    let names = file.names();
    let [name] = names.as_slice() else {
        let mut names: Vec<&str> = names.iter().map(|s| &s[..]).collect();
        names.sort_unstable();
        return Err(EmbeddingFileError::TensorCount {
            path: path.to_owned(),
            count: names.len(),
            names: names.join(", "),
        });
    };
    let tensor = file.tensor(name).map_err(|e| EmbeddingFileError::Format {
        path: path.to_owned(),
        format: "safetensors",
        reason: e.to_string(),
    })?;
    let shape: Vec<u64> = tensor.shape().iter().map(|&s| s as u64).collect();
    let (rows, dim) = matrix_shape(path, &shape)?;
    let raw = tensor.data();
    #[allow(clippy::cast_possible_truncation)]
    let data: Vec<f32> = match tensor.dtype() {
        safetensors::Dtype::F32 => {
            raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        }
        safetensors::Dtype::F64 => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
        other => {
            return Err(EmbeddingFileError::DType {
                path: path.to_owned(),
                dtype: format!("{other:?}"),
            });
        }
    };
    Ok(EmbeddingMatrix { data, rows, dim })
}
