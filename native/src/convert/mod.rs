//! Converters from common data layouts to the dataset CSV format.

mod emoji;
mod folder;

pub use emoji::{EmojiOptions, convert_emoji};
pub use folder::{FolderOptions, convert_folder};
