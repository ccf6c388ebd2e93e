//! Exact blocked retrieval: distances, the query/gallery roles, top-k, and the validated
//! [`RetrievalResults`].

mod distance;
mod embeddings;
mod error;
mod gemm;
mod query_gallery;
mod results;
pub(crate) mod tiles;
mod topk;

pub use distance::{Distance, UnknownDistance};
pub use embeddings::Embeddings;
pub use error::RetrievalError;
pub use query_gallery::{GalleryByLabel, QueryGallery};
pub use results::{QueryResult, RetrievalResults, RetrievalResultsBuilder};
pub use topk::retrieve;

/// `c[m, n] = a[m, k] · b[n, k]ᵀ` in f64, all row-major (for other modules' covariance work).
pub(crate) fn gemm_f64(a: &[f64], b: &[f64], c: &mut [f64], m: usize, n: usize, k: usize) {
    use gemm::GemmScalar;
    f64::matmul_transposed(a, b, c, m, n, k);
}
