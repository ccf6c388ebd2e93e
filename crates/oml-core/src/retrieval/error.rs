/// Inputs that retrieval cannot work on. Rows are 0-based indices into the embedding matrix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RetrievalError {
    /// A buffer whose length is not rows x dim.
    #[error("embedding buffer holds {len} floats, which is not {rows} rows x {dim} columns")]
    BadShape {
        /// Floats in the buffer.
        len: usize,
        /// Rows stated.
        rows: usize,
        /// Columns stated.
        dim: usize,
    },
    /// Embeddings of no columns.
    #[error("embeddings have dimension 0")]
    ZeroDim,
    /// A NaN or infinite value.
    #[error("embedding row {row}, column {column} is {value} (embeddings must be finite)")]
    NotFinite {
        /// Its row.
        row: usize,
        /// Its column.
        column: usize,
        /// The value.
        value: f32,
    },
    /// A per-row list of another length than the embeddings.
    #[error("{what} has {got} entries but there are {expected} embedding rows")]
    LengthMismatch {
        /// Which list.
        what: &'static str,
        /// Its entries.
        got: usize,
        /// Embedding rows.
        expected: usize,
    },
    /// No query rows.
    #[error("there are no queries (no row has is_query set)")]
    NoQueries,
    /// No gallery rows.
    #[error("the gallery is empty (no row has is_gallery set)")]
    NoGallery,
    /// `k = 0`.
    #[error("top_k must be at least 1")]
    ZeroTopK,
    /// Results that break an invariant of [`super::RetrievalResults`].
    #[error("retrieval results are inconsistent: query {query}: {what}")]
    InconsistentResults {
        /// The query.
        query: usize,
        /// What is wrong.
        what: String,
    },
}
