use std::collections::HashSet;
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

/// The images found under a folder, and what was passed over.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listing {
    pub items: Vec<ImageItem>,
    /// `(path, why)` for each image-named entry or folder left out.
    pub skipped: Vec<(PathBuf, String)>,
}

impl Listing {
    /// One warning line per skipped entry, for stderr.
    pub fn warn_skipped(&self) {
        for (path, why) in &self.skipped {
            eprintln!("warning: skipped {}: {why}", path.display());
        }
    }
}

/// Every image file under `dir` (recursively, by extension), sorted by path, so the order is
/// the same on every machine. Symlinks are followed, but each real folder is listed once: a
/// link back into a folder already listed (a loop) is skipped and reported, as are
/// image-named entries that are not regular files (broken links, FIFOs, devices).
pub fn from_dir(dir: &Path) -> std::io::Result<Listing> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::from([std::fs::canonicalize(dir)?]);
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            let metadata = std::fs::metadata(&path);
            if metadata.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
                match std::fs::canonicalize(&path) {
                    Ok(real) if seen.insert(real.clone()) => stack.push(path),
                    Ok(real) => skipped
                        .push((path, format!("leads back to {}, already listed", real.display()))),
                    Err(e) => skipped.push((path, e.to_string())),
                }
                continue;
            }
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if !is_image {
                continue;
            }
            match metadata {
                Ok(m) if m.is_file() => files.push(path),
                Ok(_) => skipped.push((path, "not a regular file".into())),
                Err(e) => skipped.push((path, e.to_string())),
            }
        }
    }
    files.sort();
    skipped.sort();
    let items = files
        .into_iter()
        .map(|path| ImageItem { origin: path.display().to_string(), path, bbox: None })
        .collect();
    Ok(Listing { items, skipped })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::symlink;

    use super::*;

    /// One loop used to list an image 41 times (until paths grew too long); two nested loops
    /// grew memory without end.
    #[test]
    fn symlink_loops_are_listed_once_and_reported() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        std::fs::create_dir_all(a.join("b")).unwrap();
        std::fs::write(a.join("x.png"), b"png").unwrap();
        std::fs::write(a.join("b/y.jpg"), b"jpg").unwrap();
        symlink(root.path(), a.join("b/up")).unwrap();
        symlink(&a, a.join("b/again")).unwrap();
        symlink(a.join("missing.png"), a.join("broken.png")).unwrap();
        let listing = from_dir(root.path()).unwrap();
        let names: Vec<_> = listing.items.iter().map(|i| i.path.clone()).collect();
        assert_eq!(names, vec![a.join("b/y.jpg"), a.join("x.png")]);
        let skipped: Vec<_> = listing.skipped.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(skipped, vec![a.join("b/again"), a.join("b/up"), a.join("broken.png")]);
        assert!(listing.skipped[0].1.contains("already listed"), "{:?}", listing.skipped);
    }

    /// A folder reached only through a symlink is listed (datasets are often linked in).
    #[test]
    fn a_linked_folder_is_followed() {
        let root = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("z.webp"), b"webp").unwrap();
        symlink(data.path(), root.path().join("data")).unwrap();
        let listing = from_dir(root.path()).unwrap();
        assert_eq!(listing.items.len(), 1);
        assert!(listing.skipped.is_empty());
    }
}
