//! A list of images to search with or in: a folder (searched recursively), or a CSV with a
//! `path` column (relative to the CSV's folder, or to a root given) and an optional integer
//! `label` column.

use std::path::Path;

use anyhow::{Context, anyhow, bail};

use crate::embed::{ImageItem, from_dir};

/// Most rows a list CSV may have.
const MAX_ROWS: usize = 1 << 26;

/// Images, their ids (the CSV's paths, or the files' paths) and labels when the CSV has them.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageList {
    pub items: Vec<ImageItem>,
    pub ids: Vec<String>,
    pub labels: Option<Vec<i64>>,
}

/// The images of `path`: a folder, or a list CSV whose relative paths start at `root` (default:
/// the CSV's folder); an error names the file and line.
pub fn read_image_list(path: &Path, root: Option<&Path>) -> anyhow::Result<ImageList> {
    if path.is_dir() {
        let listing =
            from_dir(path).with_context(|| format!("{}: cannot list images", path.display()))?;
        listing.warn_skipped();
        if listing.items.is_empty() {
            bail!("{}: no images", path.display());
        }
        let ids = listing.items.iter().map(|i| i.path.display().to_string()).collect();
        return Ok(ImageList { items: listing.items, ids, labels: None });
    }
    let name = path.display();
    let file = super::open_regular(path).map_err(|e| anyhow!("{name}: cannot open: {e}"))?;
    let root = match root {
        Some(root) => root.to_owned(),
        None => path.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(std::io::BufReader::new(file));
    let header = reader.headers().map_err(|e| anyhow!("{name}: {e}"))?.clone();
    let column = |c: &str| header.iter().position(|h| h.trim() == c);
    let path_column = column("path").ok_or_else(|| {
        anyhow!("{name}: no `path` column (a list of images has `path` and optionally `label`)")
    })?;
    let label_column = column("label");
    let mut list =
        ImageList { items: Vec::new(), ids: Vec::new(), labels: label_column.map(|_| Vec::new()) };
    for record in reader.records() {
        let record = record.map_err(|e| anyhow!("{name}: {e}"))?;
        let line = record.position().map_or(0, csv::Position::line);
        if list.items.len() == MAX_ROWS {
            bail!("{name} line {line}: more than {MAX_ROWS} rows");
        }
        let image = record.get(path_column).unwrap_or("").trim();
        if image.is_empty() {
            bail!("{name} line {line}: `path` is empty");
        }
        if let (Some(c), Some(labels)) = (label_column, list.labels.as_mut()) {
            let text = record.get(c).unwrap_or("").trim();
            let label = text.parse::<i64>().map_err(|_| {
                anyhow!("{name} line {line}: `label` must be an integer, got `{text}`")
            })?;
            labels.push(label);
        }
        list.items.push(ImageItem {
            path: root.join(image),
            bbox: None,
            origin: format!("{name} line {line}"),
        });
        list.ids.push(image.to_owned());
    }
    if list.items.is_empty() {
        bail!("{name}: no rows");
    }
    Ok(list)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_list_csv_gives_paths_and_labels_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("q.csv");
        std::fs::write(&csv, "label,path\n3,a.png\n4,sub/b.png\n").unwrap();
        let list = read_image_list(&csv, None).unwrap();
        assert_eq!(list.ids, vec!["a.png", "sub/b.png"]);
        assert_eq!(list.labels, Some(vec![3, 4]));
        assert_eq!(list.items[1].path, dir.path().join("sub/b.png"));
        std::fs::write(&csv, "path\na.png\n").unwrap();
        assert_eq!(read_image_list(&csv, None).unwrap().labels, None);
        std::fs::write(&csv, "label,path\n3,a.png\nx,b.png\n").unwrap();
        let e = read_image_list(&csv, None).unwrap_err().to_string();
        assert!(e.contains("q.csv line 3: `label` must be an integer, got `x`"), "{e}");
        std::fs::write(&csv, "file\na.png\n").unwrap();
        let e = read_image_list(&csv, None).unwrap_err().to_string();
        assert!(e.contains("no `path` column"), "{e}");
        assert!(read_image_list(&dir.path().join("none.csv"), None).is_err());
        std::fs::write(&csv, "path\na.png\n").unwrap();
        let elsewhere = read_image_list(&csv, Some(Path::new("/data"))).unwrap();
        assert_eq!(elsewhere.items[0].path, Path::new("/data/a.png"));
    }
}
