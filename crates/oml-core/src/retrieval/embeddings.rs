use super::error::RetrievalError;

/// A borrowed, validated embedding matrix: `rows` x `dim` float32, row-major, in one buffer or
/// in two stacked ([`Embeddings::pair`]: queries and a gallery kept where they are, so a
/// search never copies a large gallery).
///
/// # Shapes
/// `data.len() + tail.len() == rows * dim`; row `i` is `data[i * dim..(i + 1) * dim]` for
/// `i < data.len() / dim`, then the rows of `tail`.
#[derive(Debug, Clone, Copy)]
pub struct Embeddings<'a> {
    data: &'a [f32],
    tail: &'a [f32],
    /// Rows in `data`.
    split: usize,
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
        check_finite(data, dim, 0)?;
        Ok(Self { data, tail: &[], split: rows, rows, dim })
    }

    /// `first` (`[m, dim]`) with `second` (`[n, dim]`) stacked below it, without copying
    /// either: rows `0..m` are `first`'s, rows `m..m + n` are `second`'s. Checked as
    /// [`Embeddings::new`].
    pub fn pair(first: &'a [f32], second: &'a [f32], dim: usize) -> Result<Self, RetrievalError> {
        if dim == 0 {
            return Err(RetrievalError::ZeroDim);
        }
        for part in [first, second] {
            if !part.len().is_multiple_of(dim) {
                return Err(RetrievalError::BadShape {
                    len: part.len(),
                    rows: part.len() / dim,
                    dim,
                });
            }
        }
        let split = first.len() / dim;
        check_finite(first, dim, 0)?;
        check_finite(second, dim, split)?;
        Ok(Self { data: first, tail: second, split, rows: split + second.len() / dim, dim })
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
        if i < self.split {
            &self.data[i * self.dim..(i + 1) * self.dim]
        } else {
            let j = i - self.split;
            &self.tail[j * self.dim..(j + 1) * self.dim]
        }
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

    /// The whole matrix as one row-major buffer, when it is one (not a [`Embeddings::pair`]
    /// with both parts non-empty).
    pub fn contiguous(&self) -> Option<&'a [f32]> {
        match (self.data.is_empty(), self.tail.is_empty()) {
            (_, true) => Some(self.data),
            (true, false) => Some(self.tail),
            (false, false) => None,
        }
    }
}

/// The first non-finite value of `data` (rows counted from `first_row`), as an error.
fn check_finite(data: &[f32], dim: usize, first_row: usize) -> Result<(), RetrievalError> {
    match data.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(RetrievalError::NotFinite {
            row: first_row + i / dim,
            column: i % dim,
            value: data[i],
        }),
        None => Ok(()),
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

    #[test]
    fn a_pair_reads_as_one_matrix_without_copying() {
        let (q, g) = ([0.0, 1.0], [10.0, 11.0, 20.0, 21.0]);
        let emb = Embeddings::pair(&q, &g, 2).unwrap();
        assert_eq!((emb.rows(), emb.dim()), (3, 2));
        assert_eq!(emb.row(0), &[0.0, 1.0]);
        assert_eq!(emb.row(2), &[20.0, 21.0]);
        assert_eq!(emb.select(&[2, 0]), vec![20.0, 21.0, 0.0, 1.0]);
        assert!(emb.contiguous().is_none());
        assert_eq!(Embeddings::pair(&[], &g, 2).unwrap().contiguous(), Some(&g[..]));
        let bad = [1.0, f32::NAN];
        let e = Embeddings::pair(&q, &bad, 2).unwrap_err();
        assert!(matches!(e, RetrievalError::NotFinite { row: 1, column: 1, .. }), "{e:?}");
        assert!(Embeddings::pair(&q, &[1.0], 2).is_err());
    }
}
