//! Image preprocessing steps, each a pure function.

mod crop;
mod decode;
mod normalize;
mod preprocess;
mod resize;

pub use crop::crop;
pub use decode::{
    DEFAULT_MAX_IMAGE_PIXELS, DecodeLimits, ImageError, decode_rgb, decode_rgb_within,
    rgba_onto_white,
};
pub use normalize::{IMAGENET_MEAN, IMAGENET_STD, Normalization, to_chw};
pub use preprocess::Preprocess;
pub use resize::{Filter, MAX_INTERMEDIATE_PIXELS, ResizePolicy, resize, resize_with};
