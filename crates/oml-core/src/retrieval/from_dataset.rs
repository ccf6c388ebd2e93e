use super::error::RetrievalError;
use super::query_gallery::QueryGallery;
use crate::dataset::Dataset;

impl QueryGallery {
    /// The roles, dense labels, sequences and categories of some rows of a dataset (usually its
    /// validation rows); row `i` of the result is dataset row `rows[i]`.
    pub fn from_dataset(dataset: &Dataset, rows: &[usize]) -> Result<Self, RetrievalError> {
        let labels = dataset.label_map();
        let records: Vec<_> = rows.iter().map(|&r| &dataset.records()[r]).collect();
        let dense: Vec<u32> =
            records.iter().map(|r| labels.dense(r.label).unwrap_or(u32::MAX)).collect();
        let is_query: Vec<bool> = records.iter().map(|r| r.is_query).collect();
        let is_gallery: Vec<bool> = records.iter().map(|r| r.is_gallery).collect();
        let mut qg = Self::new(dense, &is_query, &is_gallery)?;
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
}
