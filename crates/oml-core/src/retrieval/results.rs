use super::error::RetrievalError;

/// What every query retrieved, and which gallery items were correct for it (OML's
/// `RetrievalResults`, `retrieval/retrieval_results.py`), stored flat.
///
/// Checked on construction: per query, distances are finite and non-decreasing, retrieved ids
/// are unique and inside the gallery, ground-truth ids are strictly ascending and inside the
/// gallery.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievalResults {
    n_gallery: usize,
    retrieved_offsets: Vec<usize>,
    retrieved: Vec<u32>,
    distances: Vec<f32>,
    gt_offsets: Vec<usize>,
    gt: Vec<u32>,
}

/// One query's view of [`RetrievalResults`].
#[derive(Debug, Clone, Copy)]
pub struct QueryResult<'a> {
    /// Gallery indices, nearest first.
    pub retrieved: &'a [u32],
    /// Their distances, non-decreasing.
    pub distances: &'a [f32],
    /// All gallery positives of the query (retrieved or not), ascending.
    pub gt: &'a [u32],
}

impl QueryResult<'_> {
    /// Whether each retrieved item is a positive (`is_correct` in OML).
    pub fn is_correct(&self) -> Vec<bool> {
        self.retrieved.iter().map(|id| self.gt.binary_search(id).is_ok()).collect()
    }
}

/// Builds [`RetrievalResults`] one query at a time.
#[derive(Debug, Clone)]
pub struct RetrievalResultsBuilder {
    inner: RetrievalResults,
}

impl RetrievalResultsBuilder {
    /// Results over a gallery of `n_gallery` items.
    pub fn new(n_gallery: usize) -> Self {
        Self {
            inner: RetrievalResults {
                n_gallery,
                retrieved_offsets: vec![0],
                retrieved: Vec::new(),
                distances: Vec::new(),
                gt_offsets: vec![0],
                gt: Vec::new(),
            },
        }
    }

    /// Appends the next query: retrieved ids with their distances (same length), and positives.
    pub fn push(
        &mut self,
        retrieved: &[u32],
        distances: &[f32],
        gt: &[u32],
    ) -> Result<(), RetrievalError> {
        let query = self.inner.retrieved_offsets.len() - 1;
        let bad = |what: String| RetrievalError::InconsistentResults { query, what };
        if retrieved.len() != distances.len() {
            return Err(bad(format!("{} ids but {} distances", retrieved.len(), distances.len())));
        }
        if let Some(d) = distances.iter().find(|d| !d.is_finite()) {
            return Err(bad(format!("distance {d} is not finite")));
        }
        if let Some(w) = distances.windows(2).position(|w| w[1] < w[0]) {
            return Err(bad(format!("distances are not sorted at position {}", w + 1)));
        }
        let n = self.inner.n_gallery;
        if let Some(id) = retrieved.iter().chain(gt).find(|&&id| id as usize >= n) {
            return Err(bad(format!("id {id} is outside the gallery of {n} items")));
        }
        let mut sorted = retrieved.to_vec();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(bad("a gallery item is retrieved twice".to_owned()));
        }
        if gt.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("ground-truth ids are not strictly ascending".to_owned()));
        }
        let r = &mut self.inner;
        r.retrieved.extend_from_slice(retrieved);
        r.distances.extend_from_slice(distances);
        r.retrieved_offsets.push(r.retrieved.len());
        r.gt.extend_from_slice(gt);
        r.gt_offsets.push(r.gt.len());
        Ok(())
    }

    /// The results pushed so far.
    pub fn build(self) -> RetrievalResults {
        self.inner
    }
}

impl RetrievalResults {
    /// Number of queries.
    pub fn n_queries(&self) -> usize {
        self.retrieved_offsets.len() - 1
    }

    /// Number of gallery items the ids index.
    pub fn n_gallery(&self) -> usize {
        self.n_gallery
    }

    /// Query `i` (an index into the query list).
    pub fn query(&self, i: usize) -> QueryResult<'_> {
        let (r0, r1) = (self.retrieved_offsets[i], self.retrieved_offsets[i + 1]);
        let (g0, g1) = (self.gt_offsets[i], self.gt_offsets[i + 1]);
        QueryResult {
            retrieved: &self.retrieved[r0..r1],
            distances: &self.distances[r0..r1],
            gt: &self.gt[g0..g1],
        }
    }

    /// All queries in order.
    pub fn iter(&self) -> impl Iterator<Item = QueryResult<'_>> {
        (0..self.n_queries()).map(|i| self.query(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_consistent_rows() {
        let mut b = RetrievalResultsBuilder::new(4);
        b.push(&[2, 0], &[0.5, 0.5], &[0, 3]).unwrap();
        b.push(&[], &[], &[]).unwrap();
        let r = b.build();
        assert_eq!(r.n_queries(), 2);
        assert_eq!(r.query(0).is_correct(), vec![false, true]);
        assert!(r.query(1).retrieved.is_empty());
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn rejects_inconsistent_rows() {
        let cases: [(&[u32], &[f32], &[u32], &str); 6] = [
            (&[0, 1], &[0.5], &[], "ids but"),
            (&[0, 1], &[0.6, 0.5], &[], "not sorted"),
            (&[0, 0], &[0.5, 0.6], &[], "twice"),
            (&[0, 9], &[0.5, 0.6], &[], "outside"),
            (&[0], &[f32::NAN], &[], "not finite"),
            (&[0], &[0.1], &[2, 1], "ascending"),
        ];
        for (ids, dists, gt, msg) in cases {
            let err = RetrievalResultsBuilder::new(4).push(ids, dists, gt).unwrap_err();
            assert!(err.to_string().contains(msg), "{err} lacks {msg:?}");
        }
    }
}
