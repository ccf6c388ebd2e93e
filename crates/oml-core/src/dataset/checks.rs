//! Checks over the whole file (after every row parsed).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use super::error::{DatasetError, DatasetErrorKind, DatasetWarning};
use super::reader::Dataset;
use super::record::Record;

/// OML: `labels_query ∩ labels_gallery == labels_query`. On failure returns the line of the
/// first query whose label no gallery item has.
pub(crate) fn check_query_labels_in_gallery(
    records: &[Record],
) -> Result<(), (u64, DatasetErrorKind)> {
    let gallery: HashSet<i64> = records.iter().filter(|r| r.is_gallery).map(|r| r.label).collect();
    match records.iter().find(|r| r.is_query && !gallery.contains(&r.label)) {
        Some(r) => Err((r.line, DatasetErrorKind::QueryLabelNotInGallery { label: r.label })),
        None => Ok(()),
    }
}

/// Labels that appear with more than one category, in order of first appearance.
pub(crate) fn label_category_warnings(records: &[Record]) -> Vec<DatasetWarning> {
    let mut seen: BTreeMap<i64, (u64, BTreeSet<&str>)> = BTreeMap::new();
    for r in records {
        let entry = seen.entry(r.label).or_insert((r.line, BTreeSet::new()));
        entry.1.insert(r.category.as_deref().unwrap_or(""));
    }
    let mut warnings: Vec<DatasetWarning> = seen
        .into_iter()
        .filter(|(_, (_, cats))| cats.len() > 1)
        .map(|(label, (first_line, cats))| DatasetWarning::LabelInSeveralCategories {
            label,
            categories: cats.into_iter().map(str::to_owned).collect(),
            first_line,
        })
        .collect();
    warnings.sort_by_key(|w| match w {
        DatasetWarning::LabelInSeveralCategories { first_line, .. } => *first_line,
    });
    warnings
}

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
