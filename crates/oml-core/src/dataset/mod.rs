//! OML's CSV dataset format: one row per image, read with `csv` + `serde`, every OML check a
//! typed [`DatasetError`] naming the file, the line and the column.

mod cells;
mod checks;
mod error;
mod labels;
mod reader;
mod record;

pub use checks::check_paths_exist;
pub use error::{DatasetError, DatasetErrorKind, DatasetWarning};
pub use labels::LabelMap;
pub use reader::{Dataset, read_dataset};
pub use record::{BBox, Record, Split};
