use super::config::MetricsConfig;
use super::evaluate::{Evaluation, MetricsError, evaluate};
use crate::retrieval::{Embeddings, QueryGallery, RetrievalError};

/// Collects embeddings batch by batch (e.g. during validation), then computes the metrics
/// (OML's `EmbeddingMetrics`: `setup` → `update` → `compute_metrics`).
#[derive(Debug, Clone)]
pub struct MetricsAccumulator {
    qg: QueryGallery,
    dim: usize,
    data: Vec<f32>,
    filled: Vec<bool>,
    n_filled: usize,
}

/// Misuse of a [`MetricsAccumulator`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AccumulatorError {
    /// A batch whose length is not rows x dim.
    #[error("batch has {got} floats for {rows} rows of dimension {dim}")]
    BatchShape {
        /// Floats given.
        got: usize,
        /// Rows given.
        rows: usize,
        /// The embedding dimension.
        dim: usize,
    },
    /// A row index past the dataset.
    #[error("row {row} is outside the dataset of {n_rows} rows")]
    RowOutOfRange {
        /// The row.
        row: usize,
        /// Rows of the dataset.
        n_rows: usize,
    },
    /// A row given a second time.
    #[error("row {row} was given twice")]
    Duplicate {
        /// The row.
        row: usize,
    },
    /// Metrics asked for before every row was given.
    #[error("only {filled} of {n_rows} rows have embeddings; metrics need all of them")]
    Incomplete {
        /// Rows given.
        filled: usize,
        /// Rows of the dataset.
        n_rows: usize,
    },
    /// The metrics' own error.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

impl MetricsAccumulator {
    /// Room for one `dim`-wide embedding per row of `qg`.
    pub fn new(qg: QueryGallery, dim: usize) -> Self {
        let n = qg.n_rows();
        Self { qg, dim, data: vec![0.0; n * dim], filled: vec![false; n], n_filled: 0 }
    }

    /// Stores a batch: `embeddings` is `[rows.len(), dim]` row-major, `rows` the dataset rows.
    pub fn update(&mut self, rows: &[usize], embeddings: &[f32]) -> Result<(), AccumulatorError> {
        if embeddings.len() != rows.len() * self.dim {
            return Err(AccumulatorError::BatchShape {
                got: embeddings.len(),
                rows: rows.len(),
                dim: self.dim,
            });
        }
        let n_rows = self.filled.len();
        for (&row, values) in rows.iter().zip(embeddings.chunks_exact(self.dim)) {
            let slot =
                self.filled.get_mut(row).ok_or(AccumulatorError::RowOutOfRange { row, n_rows })?;
            if std::mem::replace(slot, true) {
                return Err(AccumulatorError::Duplicate { row });
            }
            self.data[row * self.dim..(row + 1) * self.dim].copy_from_slice(values);
            self.n_filled += 1;
        }
        Ok(())
    }

    /// Whether every row has its embedding.
    pub fn is_full(&self) -> bool {
        self.n_filled == self.filled.len()
    }

    /// Computes the metrics over all rows.
    pub fn compute(&self, config: &MetricsConfig) -> Result<Evaluation, AccumulatorError> {
        if !self.is_full() {
            return Err(AccumulatorError::Incomplete {
                filled: self.n_filled,
                n_rows: self.filled.len(),
            });
        }
        let emb = Embeddings::new(&self.data, self.filled.len(), self.dim)
            .map_err(|e: RetrievalError| AccumulatorError::Metrics(e.into()))?;
        Ok(evaluate(&emb, &self.qg, config)?)
    }
}
