use std::path::{Path, PathBuf};

use oml_core::dataset::{BBox, Dataset};

/// One image to embed, and where it came from (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageItem {
    pub path: PathBuf,
    pub bbox: Option<BBox>,
    /// `D.csv line 7` or the file's path.
    pub origin: String,
}

/// Every row of `dataset`, in row order. Relative paths start at `root`; absolute paths are
/// kept.
pub fn from_dataset(dataset: &Dataset, root: &Path) -> Vec<ImageItem> {
    dataset
        .records()
        .iter()
        .map(|r| ImageItem {
            path: root.join(&r.path),
            bbox: r.bbox,
            origin: format!("{} line {}", dataset.source_name(), r.line),
        })
        .collect()
}

/// Extensions read as images.
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "jpe"];

/// Every image file under `dir` (recursively, by extension), sorted by path, so the order is
/// the same on every machine.
pub fn from_dir(dir: &Path) -> std::io::Result<Vec<ImageItem>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|path| ImageItem { origin: path.display().to_string(), path, bbox: None })
        .collect())
}
