use std::collections::{BTreeMap, HashMap};

use super::error::RetrievalError;

/// Who is a query, who is in the gallery, and what makes a gallery item correct or hidden for
/// a query. One entry per embedding row.
///
/// Rules (OML `functional/knn.py`, `batched_knn_qg`, and `retrieval_results.py`):
/// * a row that is both query and gallery never retrieves itself (matched by row, not by value);
/// * with sequences, a query never retrieves a gallery item of its own sequence; all rows with a
///   missing sequence form one shared sequence (OML's `pd.factorize` gives them all code −1);
/// * gallery positives of a query are the gallery items with its label that are not hidden.
#[derive(Debug, Clone)]
pub struct QueryGallery {
    labels: Vec<u32>,
    query_rows: Vec<u32>,
    gallery_rows: Vec<u32>,
    sequences: Option<Vec<u32>>,
    categories: Option<Categories>,
}

/// Category names (sorted) and each row's category index.
#[derive(Debug, Clone)]
struct Categories {
    names: Vec<String>,
    of_row: Vec<Option<u32>>,
}

impl QueryGallery {
    /// `labels` are any integer ids (only equality matters); `is_query`/`is_gallery` one per row.
    pub fn new(
        labels: Vec<u32>,
        is_query: &[bool],
        is_gallery: &[bool],
    ) -> Result<Self, RetrievalError> {
        let n = labels.len();
        check_len("is_query", is_query.len(), n)?;
        check_len("is_gallery", is_gallery.len(), n)?;
        let rows_where = |flags: &[bool]| -> Vec<u32> {
            flags.iter().enumerate().filter(|&(_, &f)| f).map(|(i, _)| row_id(i)).collect()
        };
        let query_rows = rows_where(is_query);
        let gallery_rows = rows_where(is_gallery);
        if query_rows.is_empty() {
            return Err(RetrievalError::NoQueries);
        }
        if gallery_rows.is_empty() {
            return Err(RetrievalError::NoGallery);
        }
        Ok(Self { labels, query_rows, gallery_rows, sequences: None, categories: None })
    }

    /// A search with no labels: rows `0..n_queries` are the queries, the next `n_gallery` rows
    /// the gallery, every row its own label (nothing is hidden, nothing is "correct").
    pub fn search_only(n_queries: usize, n_gallery: usize) -> Result<Self, RetrievalError> {
        let n = n_queries.saturating_add(n_gallery);
        let labels = (0..n).map(row_id).collect();
        let is_query: Vec<bool> = (0..n).map(|i| i < n_queries).collect();
        let is_gallery: Vec<bool> = is_query.iter().map(|q| !q).collect();
        Self::new(labels, &is_query, &is_gallery)
    }

    /// Adds sequence ids, one per row (`None` = missing; see the type's rules).
    pub fn with_sequences<S: AsRef<str>>(
        mut self,
        sequences: &[Option<S>],
    ) -> Result<Self, RetrievalError> {
        check_len("sequence", sequences.len(), self.labels.len())?;
        let mut ids: HashMap<&str, u32> = HashMap::new();
        // Id 0 is the shared "missing" sequence.
        let of_row = sequences
            .iter()
            .map(|s| match s {
                None => 0,
                Some(s) => {
                    let next = row_id(ids.len() + 1);
                    *ids.entry(s.as_ref()).or_insert(next)
                }
            })
            .collect();
        self.sequences = Some(of_row);
        Ok(self)
    }

    /// Adds categories, one per row (`None` = no category: such queries count only in OVERALL).
    pub fn with_categories<S: AsRef<str>>(
        mut self,
        categories: &[Option<S>],
    ) -> Result<Self, RetrievalError> {
        check_len("category", categories.len(), self.labels.len())?;
        let sorted: BTreeMap<&str, ()> =
            categories.iter().flatten().map(|c| (c.as_ref(), ())).collect();
        let names: Vec<String> = sorted.keys().map(|s| (*s).to_owned()).collect();
        let index: HashMap<&str, u32> =
            names.iter().enumerate().map(|(i, s)| (s.as_str(), row_id(i))).collect();
        let of_row = categories.iter().map(|c| c.as_ref().map(|c| index[c.as_ref()])).collect();
        self.categories = Some(Categories { names, of_row });
        Ok(self)
    }

    /// Number of embedding rows this describes.
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }

    /// Embedding rows of the queries, ascending; query `i` is `query_rows()[i]`.
    pub fn query_rows(&self) -> &[u32] {
        &self.query_rows
    }

    /// Embedding rows of the gallery, ascending; gallery item `j` is `gallery_rows()[j]`.
    pub fn gallery_rows(&self) -> &[u32] {
        &self.gallery_rows
    }

    /// Label of an embedding row.
    pub fn label(&self, row: u32) -> u32 {
        self.labels[row as usize]
    }

    /// Whether a gallery row is hidden from a query row (itself, or same sequence).
    #[inline]
    pub fn is_hidden(&self, query_row: u32, gallery_row: u32) -> bool {
        query_row == gallery_row
            || self
                .sequences
                .as_ref()
                .is_some_and(|s| s[query_row as usize] == s[gallery_row as usize])
    }

    /// Gallery positives of query `query` (an index into [`Self::query_rows`]): gallery indices,
    /// ascending, with its label and not hidden.
    pub fn gallery_positives(&self, query: usize, by_label: &GalleryByLabel) -> Vec<u32> {
        let row = self.query_rows[query];
        by_label
            .of(self.label(row))
            .iter()
            .copied()
            .filter(|&g| !self.is_hidden(row, self.gallery_rows[g as usize]))
            .collect()
    }

    /// Number of gallery items query `query` can retrieve (those not hidden from it).
    pub fn n_retrievable(&self, query: usize) -> usize {
        let row = self.query_rows[query];
        match &self.sequences {
            Some(seq) => {
                let own = seq[row as usize];
                self.gallery_rows.iter().filter(|&&g| seq[g as usize] != own).count()
            }
            None => {
                self.gallery_rows.len() - usize::from(self.gallery_rows.binary_search(&row).is_ok())
            }
        }
    }

    /// Sorted category names, if categories were given.
    pub fn category_names(&self) -> Option<&[String]> {
        self.categories.as_ref().map(|c| c.names.as_slice())
    }

    /// Category index (into [`Self::category_names`]) of an embedding row.
    pub fn category_of_row(&self, row: u32) -> Option<u32> {
        self.categories.as_ref().and_then(|c| c.of_row[row as usize])
    }

    /// Index of the gallery by label, for [`Self::gallery_positives`].
    pub fn gallery_by_label(&self) -> GalleryByLabel {
        let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
        for (j, &row) in self.gallery_rows.iter().enumerate() {
            map.entry(self.label(row)).or_default().push(row_id(j));
        }
        GalleryByLabel(map)
    }
}

/// Gallery indices grouped by label.
#[derive(Debug, Clone)]
pub struct GalleryByLabel(HashMap<u32, Vec<u32>>);

impl GalleryByLabel {
    fn of(&self, label: u32) -> &[u32] {
        self.0.get(&label).map_or(&[], Vec::as_slice)
    }
}

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<(), RetrievalError> {
    if got == expected {
        Ok(())
    } else {
        Err(RetrievalError::LengthMismatch { what, got, expected })
    }
}

/// Row and item indices are stored as u32 (4 billion rows is far beyond any embedding matrix
/// that fits in memory).
pub(crate) fn row_id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_search_only_split_hides_nothing_and_has_no_positives() {
        let qg = QueryGallery::search_only(2, 3).unwrap();
        assert_eq!((qg.query_rows(), qg.gallery_rows()), (&[0, 1][..], &[2, 3, 4][..]));
        let by_label = qg.gallery_by_label();
        for q in 0..2 {
            assert!(qg.gallery_positives(q, &by_label).is_empty());
            assert!((2..5).all(|g| !qg.is_hidden(qg.query_rows()[q], g)));
        }
        assert_eq!(QueryGallery::search_only(0, 3).err(), Some(RetrievalError::NoQueries));
        assert_eq!(QueryGallery::search_only(2, 0).err(), Some(RetrievalError::NoGallery));
    }
}
