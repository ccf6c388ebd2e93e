//! Images to model inputs: decode → (bounding-box crop) → resize → normalise to CHW floats.
//! Bytes in, floats out: no file system, so the same code runs natively and in the browser.

#![warn(missing_docs)]

pub mod augment;
pub mod image;
