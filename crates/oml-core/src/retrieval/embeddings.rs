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

    /// Rows `rows`, in that order, copied into a new buffer (panics on a row out of range,
    /// like [`Self::row`]).
    ///
    /// # Shapes
    /// → `[rows.len(), dim]`, row-major.
    pub fn select(&self, rows: &[usize]) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows.len() * self.dim);
        for &r in rows {
            out.extend_from_slice(self.row(r));
        }
        out
    }

    /// The whole buffer, row-major.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn select_copies_rows_in_the_order_asked() {
        let data = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0];
        let emb = Embeddings::new(&data, 3, 2).unwrap();
        assert_eq!(emb.select(&[2, 0]), vec![20.0, 21.0, 0.0, 1.0]);
        assert!(emb.select(&[]).is_empty());
    }
}
