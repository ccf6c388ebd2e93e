//! Converters from common data layouts to the dataset CSV format.

mod emoji;
mod fashion_mnist;
mod folder;

pub use emoji::{EmojiOptions, convert_emoji};
pub use fashion_mnist::{FashionMnistOptions, convert_fashion_mnist};
pub use folder::{FolderOptions, convert_folder};
