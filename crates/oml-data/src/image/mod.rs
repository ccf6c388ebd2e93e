//! Image preprocessing steps, each a pure function.

mod crop;
mod decode;
mod normalize;
mod resize;

pub use crop::crop;
pub use decode::{ImageError, decode_rgb};
pub use normalize::{IMAGENET_MEAN, IMAGENET_STD, Normalization, to_chw};
pub use resize::{ResizePolicy, resize};
