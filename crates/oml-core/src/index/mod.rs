//! An exact nearest-neighbour index over embeddings with string ids: the same blocked,
//! exactly re-ranked Euclidean top-k as [`crate::retrieval::retrieve`], so results (order,
//! ties by insertion order, distances) are the same in `oml index search`, the wasm package
//! and the browser app. It records which model made its embeddings, so a search with another
//! model's queries is refused. Saved as a safetensors file ([`file`]).

mod file;
mod view;

pub use view::IndexView;

use std::collections::HashSet;

use crate::retrieval::{Distance, Embeddings, QueryGallery, retrieve};

/// What went wrong with an index or a search.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    /// Embeddings whose length is not a whole number of rows.
    #[error("the index holds {dim}-d embeddings; got {got} values, not a multiple of {dim}")]
    NotMultiple {
        /// The index's dimension.
        dim: usize,
        /// Values given.
        got: usize,
    },
    /// A different number of ids and embedding rows.
    #[error("{ids} ids for {rows} embeddings")]
    CountMismatch {
        /// Ids given.
        ids: usize,
        /// Embedding rows given.
        rows: usize,
    },
    /// An id that is already in the index (or twice in one batch).
    #[error("id \"{0}\" is already in the index")]
    DuplicateId(String),
    /// An embedding with NaN or an infinity.
    #[error("embedding of \"{id}\" has a non-finite value at {column}")]
    NotFinite {
        /// The row's id.
        id: String,
        /// The first bad column.
        column: usize,
    },
    /// Queries whose length is not a whole number of the index's rows.
    #[error("the query has {got} values; the index holds {dim}-d embeddings")]
    QueryDim {
        /// The index's dimension.
        dim: usize,
        /// Values given.
        got: usize,
    },
    /// A query with NaN or an infinity (at this column).
    #[error("the query has a non-finite value at {0}")]
    QueryNotFinite(usize),
    /// `k = 0`.
    #[error("k must be at least 1")]
    ZeroK,
    /// `dim = 0`.
    #[error("dim must be at least 1")]
    ZeroDim,
    /// Bytes that are not an index file (why).
    #[error("not an index file: {0}")]
    Format(String),
}

/// Nearest gallery items of one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    /// Their ids, nearest first.
    pub ids: Vec<String>,
    /// Their Euclidean distances, non-decreasing.
    pub distances: Vec<f32>,
}

/// See the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    dim: usize,
    ids: Vec<String>,
    /// The ids, for the duplicate check of [`Index::add`] in O(batch).
    seen: HashSet<String>,
    /// `[n, dim]`, row-major, in insertion order.
    data: Vec<f32>,
    /// The identity of the model whose embeddings these are, when known.
    model: Option<String>,
    /// One label per item, while every [`Index::add_labelled`] gave them.
    labels: Option<Vec<i64>>,
}

impl Index {
    /// An empty index of `dim`-dimensional embeddings.
    pub fn new(dim: usize) -> Result<Self, IndexError> {
        if dim == 0 {
            return Err(IndexError::ZeroDim);
        }
        let (ids, seen, data) = (Vec::new(), HashSet::new(), Vec::new());
        Ok(Self { dim, ids, seen, data, model: None, labels: None })
    }

    /// The index with `model` recorded as the identity of the model of its embeddings.
    pub fn with_model(mut self, model: Option<String>) -> Self {
        self.model = model;
        self
    }

    /// The identity of the model of its embeddings, when recorded.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The embeddings' dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Items in the index.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids, in insertion order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The items' labels, in insertion order, when every addition gave them.
    pub fn labels(&self) -> Option<&[i64]> {
        self.labels.as_deref()
    }

    /// Adds rows without labels (the index then has none); all or nothing.
    ///
    /// # Shapes
    /// `embeddings`: `ids.len() × dim`, row-major.
    pub fn add(&mut self, ids: Vec<String>, embeddings: &[f32]) -> Result<(), IndexError> {
        self.add_labelled(ids, None, embeddings)
    }

    /// Adds rows with their labels (one per id) or without; all or nothing (a bad row leaves
    /// the index unchanged). The index keeps labels while every addition gives them.
    ///
    /// # Shapes
    /// `embeddings`: `ids.len() × dim`, row-major.
    pub fn add_labelled(
        &mut self,
        ids: Vec<String>,
        labels: Option<&[i64]>,
        embeddings: &[f32],
    ) -> Result<(), IndexError> {
        if let Some(l) = labels
            && l.len() != ids.len()
        {
            return Err(IndexError::CountMismatch { ids: ids.len(), rows: l.len() });
        }
        if !embeddings.len().is_multiple_of(self.dim) {
            return Err(IndexError::NotMultiple { dim: self.dim, got: embeddings.len() });
        }
        let rows = embeddings.len() / self.dim;
        if rows != ids.len() {
            return Err(IndexError::CountMismatch { ids: ids.len(), rows });
        }
        let mut batch: HashSet<&str> = HashSet::with_capacity(ids.len());
        for (id, row) in ids.iter().zip(embeddings.chunks_exact(self.dim)) {
            if self.seen.contains(id) || !batch.insert(id) {
                return Err(IndexError::DuplicateId(id.clone()));
            }
            if let Some(column) = row.iter().position(|v| !v.is_finite()) {
                return Err(IndexError::NotFinite { id: id.clone(), column });
            }
        }
        self.labels = match (self.is_empty(), self.labels.take(), labels) {
            (true, _, given) => given.map(<[i64]>::to_vec),
            (false, Some(mut kept), Some(given)) => {
                kept.extend_from_slice(given);
                Some(kept)
            }
            _ => None,
        };
        self.seen.extend(ids.iter().cloned());
        self.ids.extend(ids);
        self.data.extend_from_slice(embeddings);
        Ok(())
    }

    /// The `k` nearest items of each query (fewer when the index is smaller), nearest first.
    ///
    /// # Shapes
    /// `queries`: `m × dim`, row-major → `m` hit lists.
    pub fn search(&self, queries: &[f32], k: usize) -> Result<Vec<Hits>, IndexError> {
        search_rows(self.dim, &self.ids, &self.data, queries, k)
    }
}

/// The exact search of [`Index::search`] over `ids` and their embeddings `data`
/// (`[ids.len(), dim]`), wherever they are held.
pub(crate) fn search_rows(
    dim: usize,
    ids: &[String],
    data: &[f32],
    queries: &[f32],
    k: usize,
) -> Result<Vec<Hits>, IndexError> {
    if k == 0 {
        return Err(IndexError::ZeroK);
    }
    if queries.is_empty() || !queries.len().is_multiple_of(dim) {
        return Err(IndexError::QueryDim { dim, got: queries.len() });
    }
    if let Some(i) = queries.iter().position(|v| !v.is_finite()) {
        return Err(IndexError::QueryNotFinite(i % dim));
    }
    let m = queries.len() / dim;
    if ids.is_empty() {
        return Ok(vec![Hits { ids: Vec::new(), distances: Vec::new() }; m]);
    }
    let unexpected = |e: crate::retrieval::RetrievalError| IndexError::Format(e.to_string());
    // The queries stacked on the gallery where it is: no copy of the gallery.
    let emb = Embeddings::pair(queries, data, dim).map_err(unexpected)?;
    let qg = QueryGallery::search_only(m, ids.len()).map_err(unexpected)?;
    let results = retrieve(&emb, &qg, k, Distance::Euclidean).map_err(unexpected)?;
    Ok((0..m)
        .map(|q| {
            let r = results.query(q);
            Hits {
                ids: r.retrieved.iter().map(|&g| ids[g as usize].clone()).collect(),
                distances: r.distances.to_vec(),
            }
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn sample() -> Index {
        let mut index = Index::new(2).unwrap();
        index.add(ids(&["a", "b", "c"]), &[0.0, 0.0, 3.0, 4.0, 1.0, 0.0]).unwrap();
        index.add(ids(&["d"]), &[0.0, 1.0]).unwrap();
        index
    }

    #[test]
    fn search_is_exact_nearest_first_and_ties_go_by_insertion_order() {
        let hits = sample().search(&[0.0, 0.0, 3.0, 4.0], 3).unwrap();
        assert_eq!(hits[0].ids, ids(&["a", "c", "d"])); // c and d tie at 1: c came first
        assert_eq!(hits[0].distances, vec![0.0, 1.0, 1.0]);
        assert_eq!(hits[1].ids, ids(&["b", "d", "c"]));
        let want = [0.0, 18.0f32.sqrt(), 20.0f32.sqrt()];
        for (got, want) in hits[1].distances.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        // k beyond the size returns everything; an empty index returns nothing.
        assert_eq!(sample().search(&[0.0, 0.0], 10).unwrap()[0].ids.len(), 4);
        assert!(Index::new(2).unwrap().search(&[0.0, 0.0], 5).unwrap()[0].ids.is_empty());
    }

    #[test]
    fn labels_are_kept_while_every_addition_gives_them() {
        let mut index = Index::new(1).unwrap();
        index.add_labelled(ids(&["a", "b"]), Some(&[1, 2]), &[0.0, 1.0]).unwrap();
        index.add_labelled(ids(&["c"]), Some(&[1]), &[2.0]).unwrap();
        assert_eq!(index.labels(), Some(&[1, 2, 1][..]));
        let e = index.add_labelled(ids(&["d"]), Some(&[1, 2]), &[3.0]);
        assert_eq!(e, Err(IndexError::CountMismatch { ids: 1, rows: 2 }));
        assert_eq!(index.labels(), Some(&[1, 2, 1][..]), "unchanged by a refused addition");
        index.add(ids(&["d"]), &[3.0]).unwrap();
        assert_eq!(index.labels(), None, "an addition without labels drops them");
    }

    #[test]
    fn bad_input_is_refused_and_leaves_the_index_unchanged() {
        let mut index = sample();
        let before = index.clone();
        assert_eq!(
            index.add(ids(&["e", "a"]), &[1.0, 1.0, 2.0, 2.0]),
            Err(IndexError::DuplicateId("a".into()))
        );
        assert_eq!(
            index.add(ids(&["e"]), &[1.0, 1.0, 2.0]),
            Err(IndexError::NotMultiple { dim: 2, got: 3 })
        );
        assert_eq!(
            index.add(ids(&["e", "f"]), &[1.0, 1.0]),
            Err(IndexError::CountMismatch { ids: 2, rows: 1 })
        );
        assert_eq!(
            index.add(ids(&["e"]), &[1.0, f32::NAN]),
            Err(IndexError::NotFinite { id: "e".into(), column: 1 })
        );
        assert_eq!(index, before);
        assert_eq!(index.search(&[1.0], 1), Err(IndexError::QueryDim { dim: 2, got: 1 }));
        assert_eq!(index.search(&[1.0, 1.0], 0), Err(IndexError::ZeroK));
        assert_eq!(index.search(&[f32::INFINITY, 1.0], 1), Err(IndexError::QueryNotFinite(0)));
        assert_eq!(Index::new(0), Err(IndexError::ZeroDim));
    }

    #[test]
    fn saved_bytes_load_back_equal_and_are_plain_safetensors() {
        let index = sample();
        let bytes = index.to_bytes();
        assert_eq!(Index::from_bytes(&bytes).unwrap(), index);
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(file.tensor("embeddings").unwrap().shape(), [4, 2]);
        assert!(matches!(Index::from_bytes(b"nope"), Err(IndexError::Format(_))));
        let empty = Index::new(3).unwrap();
        assert_eq!(Index::from_bytes(&empty.to_bytes()).unwrap(), empty);
        // The model's identity travels with the file.
        let tagged = sample().with_model(Some("zoo:mobilenet_v2_imagenet".into()));
        let back = Index::from_bytes(&tagged.to_bytes()).unwrap();
        assert_eq!(back.model(), Some("zoo:mobilenet_v2_imagenet"));
        assert_eq!(back, tagged);
        // A truncated file is refused, not read out of bounds.
        let bytes = tagged.to_bytes();
        assert!(matches!(Index::from_bytes(&bytes[..bytes.len() - 4]), Err(IndexError::Format(_))));
    }
}
