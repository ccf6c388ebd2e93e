//! Checks over the whole file (after every row parsed).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::error::{DatasetErrorKind, DatasetWarning};
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
