//! Exact blocked retrieval: distances, the query/gallery roles, top-k, and the validated
//! [`RetrievalResults`].

pub(crate) mod blocked;
mod distance;
mod embeddings;
mod error;
mod from_dataset;
pub(crate) mod gemm;
mod query_gallery;
mod results;
mod thresholding;
mod topk;

pub use distance::{Distance, UnknownDistance};
pub use embeddings::Embeddings;
pub use error::RetrievalError;
pub use query_gallery::{GalleryByLabel, QueryGallery};
pub use results::{QueryResult, RetrievalResults, RetrievalResultsBuilder};
pub use thresholding::Thresholding;
pub use topk::retrieve;
