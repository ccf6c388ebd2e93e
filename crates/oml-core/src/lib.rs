//! The metric-learning core shared by the native trainer, the browser app and the wasm package.
//!
//! Data flows one way: CSV rows ([`dataset`]) → embeddings → exact top-k retrieval
//! ([`retrieval`]) → retrieval metrics ([`metrics`]). Everything here is pure Rust on slices:
//! no file system, no threads (unless the `parallel` feature is on), so it builds for
//! `wasm32-unknown-unknown`.
//!
//! The reference is Open Metric Learning 4.0.0 (OML, PyPI `open-metric-learning`); where this
//! crate deliberately differs from OML (ties, NaN cases, label order), the item's doc comment
//! says so.

#![warn(missing_docs)]

pub mod dataset;
pub mod index;
pub mod loss;
pub mod metrics;
pub mod miner;
pub mod pairwise;
pub mod retrieval;
pub mod sampler;
