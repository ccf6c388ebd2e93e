//! OML's CSV dataset format: one row per image, read with `csv` + `serde`, every OML check a
//! typed [`DatasetError`] naming the file, the line and the column.

mod cells;
mod checks;
mod error;
mod labels;
mod paths;
mod reader;
mod record;

pub use error::{DatasetError, DatasetErrorKind, DatasetWarning};
pub use labels::LabelMap;
pub use paths::check_paths_exist;
pub use reader::{Dataset, read_dataset};
pub use record::{BBox, Record, Split};
