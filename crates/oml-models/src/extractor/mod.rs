//! The [`Extractor`] trait and the architectures.

mod base;
mod mobilenet_v2;

pub use base::{Extractor, WeightsError};
pub use mobilenet_v2::{MobileNetV2, MobileNetV2Config};
