//! The one check that needs a file system, which the caller provides.

use std::path::Path;

use super::error::{DatasetError, DatasetErrorKind};
use super::reader::Dataset;

/// OML's last check, for callers with a file system: every row's image exists.
///
/// `root` is where relative paths start (OML's `dataset_root`); absolute paths are used as they
/// are. `exists` is the file-system probe (e.g. `|p| p.is_file()`), passed in so this crate
/// stays free of file-system calls. Fails on the first missing image, naming its line.
pub fn check_paths_exist(
    dataset: &Dataset,
    root: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Result<(), DatasetError> {
    for record in dataset.records() {
        let path = root.join(&record.path);
        if !exists(&path) {
            return Err(DatasetError {
                source_name: dataset.source_name().to_owned(),
                line: Some(record.line),
                column: Some("path".to_owned()),
                kind: DatasetErrorKind::PathNotFound { path: path.display().to_string() },
            });
        }
    }
    Ok(())
}
