//! The zoo's weights on this machine: a cache directory, downloads with a progress bar, and
//! checksums.

mod cache;
mod checksum;
mod download;
mod pretrained;

pub use cache::{cache_dir, weights_for};
pub use checksum::{ChecksumError, verify};
pub use pretrained::{PretrainedError, pretrained};
