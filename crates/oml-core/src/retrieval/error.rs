/// Inputs that retrieval cannot work on. Rows are 0-based indices into the embedding matrix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RetrievalError {
    #[error("embedding buffer holds {len} floats, which is not {rows} rows x {dim} columns")]
    BadShape { len: usize, rows: usize, dim: usize },
    #[error("embeddings have dimension 0")]
    ZeroDim,
    #[error("embedding row {row}, column {column} is {value} (embeddings must be finite)")]
    NotFinite { row: usize, column: usize, value: f32 },
    #[error("{what} has {got} entries but there are {expected} embedding rows")]
    LengthMismatch { what: &'static str, got: usize, expected: usize },
    #[error("there are no queries (no row has is_query set)")]
    NoQueries,
    #[error("the gallery is empty (no row has is_gallery set)")]
    NoGallery,
    #[error("top_k must be at least 1")]
    ZeroTopK,
    #[error("retrieval results are inconsistent: query {query}: {what}")]
    InconsistentResults { query: usize, what: String },
}
