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
    #[error("{path}: the embeddings have dimension 0 (shape [{rows}, 0])")]
    ZeroDim { path: PathBuf, rows: usize },
}

/// Reads `.npy` (numpy `save` of a float32 or float64 `[N, D]` array, C or Fortran order) or
/// `.safetensors` (exactly one F32 or F64 `[N, D]` tensor). float64 is rounded to float32.
pub fn read_embeddings(path: &Path) -> Result<EmbeddingMatrix, EmbeddingFileError> {
    // The format is known before the file is read.
    format_of(path)?;
    // A regular file's size is real, so reading it whole is bounded by what the disk holds.
    let bytes = super::read_regular(path, u64::MAX)
        .map_err(|source| EmbeddingFileError::Io { path: path.to_owned(), source })?;
    parse_embeddings(path, &bytes)
}

/// [`read_embeddings`] of `bytes` already read from `path` (the format by its extension).
pub fn parse_embeddings(path: &Path, bytes: &[u8]) -> Result<EmbeddingMatrix, EmbeddingFileError> {
    let matrix = match format_of(path)? {
        Format::Npy => read_npy(path, bytes)?,
        Format::Safetensors => read_safetensors(path, bytes)?,
    };
    if matrix.dim == 0 {
        return Err(EmbeddingFileError::ZeroDim { path: path.to_owned(), rows: matrix.rows });
    }
    Ok(matrix)
}

enum Format {
    Npy,
    Safetensors,
}

/// The format `path`'s extension names, or the extension error.
fn format_of(path: &Path) -> Result<Format, EmbeddingFileError> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => Ok(Format::Npy),
        Some("safetensors") => Ok(Format::Safetensors),
        _ => Err(EmbeddingFileError::Extension { path: path.to_owned() }),
    }
}

/// The byte length of an `.npy` file's preamble (magic, version, header length, header),
/// checked against the file's size before anything reads the header: the header length is a
/// 16-bit (version 1) or 32-bit (versions 2 and 3) number any file can set to 4 GiB. The
/// header's shape must hold numbers whose product fits in memory's address range.
fn npy_preamble_len(bytes: &[u8]) -> Result<usize, String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Err("does not start with the .npy magic bytes".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_bytes, header_len) = match major {
        1 => (2, usize::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
        2 | 3 if bytes.len() >= 12 => {
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (4, usize::try_from(n).unwrap_or(usize::MAX))
        }
        2 | 3 => return Err("the file ends inside the header length".into()),
        _ => return Err(format!("unsupported format version {major}.{minor}")),
    };
    let start: usize = 8 + len_bytes;
    let end = match start.checked_add(header_len) {
        Some(end) if end <= bytes.len() => end,
        _ => {
            return Err(format!(
                "the header claims {header_len} bytes but the file has only {} after the \
                 preamble",
                bytes.len() - start
            ));
        }
    };
    let header = String::from_utf8_lossy(&bytes[start..end]);
    let shape = header
        .split_once("'shape'")
        .and_then(|(_, rest)| rest.split_once('('))
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside)
        .ok_or("the header has no 'shape' tuple")?;
    // Every partial product of the dimensions must fit (npyz multiplies them unchecked), so
    // zeros count as ones here: (0, 2^63, 4) is refused too.
    let mut product: u64 = 1;
    for dim in shape.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let dim: u64 = dim.parse().map_err(|_| format!("the shape ({shape}) is not integers"))?;
        product = product
            .checked_mul(dim.max(1))
            .filter(|p| *p <= u64::from(u32::MAX) << 16)
            .ok_or_else(|| format!("the header's shape ({shape}) is too large"))?;
    }
    Ok(end)
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
    let data_start = npy_preamble_len(bytes).map_err(format)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|e| format(e.to_string()))?;
    let (rows, dim) = matrix_shape(path, npy.shape())?;
    let order = npy.order();
    let dtype = match npy.dtype() {
        npyz::DType::Plain(type_str) => type_str.to_string(),
        other => other.descr(),
    };
    let item_size = match dtype.as_str() {
        "<f4" => 4,
        "<f8" => 8,
        _ => return Err(EmbeddingFileError::DType { path: path.to_owned(), dtype }),
    };
    // The shape is checked against the bytes really there before anything is allocated.
    let data_len = bytes.len() - data_start;
    match rows.checked_mul(dim).and_then(|n| n.checked_mul(item_size)) {
        Some(need) if need == data_len => {}
        Some(need) => {
            return Err(format(format!(
                "the header says {rows}x{dim} {dtype} ({need} bytes) but {data_len} bytes \
                 of data follow it"
            )));
        }
        None => return Err(format(format!("the header's shape {rows}x{dim} is too large"))),
    }
    let values: Vec<f32> = match dtype.as_str() {
        "<f4" => npy.into_vec::<f32>().map_err(|e| format(e.to_string()))?,
        "<f8" => npy
            .into_vec::<f64>()
            .map_err(|e| format(e.to_string()))?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        _ => return Err(EmbeddingFileError::DType { path: path.to_owned(), dtype }),
    };
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
