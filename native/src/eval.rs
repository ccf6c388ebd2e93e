//! Shared by the commands that evaluate: the query/gallery structure of a dataset's validation
//! rows.

use oml_core::dataset::Dataset;
use oml_core::retrieval::{QueryGallery, RetrievalError};

/// Roles, dense labels, sequences and categories of the validation rows.
pub fn query_gallery(dataset: &Dataset, rows: &[usize]) -> Result<QueryGallery, RetrievalError> {
    let labels = dataset.label_map();
    let records: Vec<_> = rows.iter().map(|&r| &dataset.records()[r]).collect();
    let dense: Vec<u32> =
        records.iter().map(|r| labels.dense(r.label).unwrap_or(u32::MAX)).collect();
    let is_query: Vec<bool> = records.iter().map(|r| r.is_query).collect();
    let is_gallery: Vec<bool> = records.iter().map(|r| r.is_gallery).collect();
    let mut qg = QueryGallery::new(dense, &is_query, &is_gallery)?;
    if dataset.has_sequence() {
        let seq: Vec<Option<&str>> = records.iter().map(|r| r.sequence.as_deref()).collect();
        qg = qg.with_sequences(&seq)?;
    }
    if dataset.has_category() {
        let cat: Vec<Option<&str>> = records.iter().map(|r| r.category.as_deref()).collect();
        qg = qg.with_categories(&cat)?;
    }
    Ok(qg)
}
