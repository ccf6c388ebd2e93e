//! Converters from common data layouts to the dataset CSV format.

mod emoji;

pub use emoji::{EmojiOptions, convert_emoji};
