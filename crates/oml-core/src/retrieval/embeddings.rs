use super::error::RetrievalError;

/// A borrowed, validated embedding matrix: `rows` x `dim` float32, row-major.
///
/// # Shapes
/// `data.len() == rows * dim`; row `i` is `data[i * dim..(i + 1) * dim]`.
#[derive(Debug, Clone, Copy)]
pub struct Embeddings<'a> {
    data: &'a [f32],
    rows: usize,
    dim: usize,
}

impl<'a> Embeddings<'a> {
    /// Checks the shape and that every value is finite (the error names the first bad cell).
    pub fn new(data: &'a [f32], rows: usize, dim: usize) -> Result<Self, RetrievalError> {
        if dim == 0 {
            return Err(RetrievalError::ZeroDim);
        }
        if rows.checked_mul(dim) != Some(data.len()) {
            return Err(RetrievalError::BadShape { len: data.len(), rows, dim });
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(RetrievalError::NotFinite {
                row: i / dim,
                column: i % dim,
                value: data[i],
            });
        }
        Ok(Self { data, rows, dim })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Floats per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i` (panics if out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The whole buffer, row-major.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }
}
