//! Images to embeddings on this machine: which files, in which order, loaded on several threads
//! ahead of the model.

mod fit;
mod inputs;
mod pipeline;

pub use fit::BatchFit;
pub use inputs::{ImageItem, Listing, from_dataset, from_dir};
pub use pipeline::{EmbedError, ImageLoadError, embed_items, load_image, load_pixels, prefetched};
