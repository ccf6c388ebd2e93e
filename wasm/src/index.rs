//! An exact nearest-neighbour index over embeddings with string ids: the same blocked,
//! exactly re-ranked Euclidean top-k as `oml search` (`oml_core::retrieval::retrieve`), so
//! results (order, ties by insertion order, distances) equal the native tool's.
//!
//! Saved as safetensors: tensor `embeddings` (F32 `[n, dim]`) and header entries
//! `oml.format` = `oml-rs-index`, `oml.format_version` = `1`, `oml.ids` = the ids as a JSON
//! array. Any safetensors reader opens it.

use std::collections::{HashMap, HashSet};

use oml_core::retrieval::{Distance, Embeddings, QueryGallery, retrieve};

const FORMAT: &str = "oml-rs-index";
const FORMAT_VERSION: u32 = 1;
const TENSOR: &str = "embeddings";

/// What went wrong, for a JS exception message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    #[error("the index holds {dim}-d embeddings; got {got} values, not a multiple of {dim}")]
    NotMultiple { dim: usize, got: usize },
    #[error("{ids} ids for {rows} embeddings")]
    CountMismatch { ids: usize, rows: usize },
    #[error("id \"{0}\" is already in the index")]
    DuplicateId(String),
    #[error("embedding of \"{id}\" has a non-finite value at {column}")]
    NotFinite { id: String, column: usize },
    #[error("the query has {got} values; the index holds {dim}-d embeddings")]
    QueryDim { dim: usize, got: usize },
    #[error("the query has a non-finite value at {0}")]
    QueryNotFinite(usize),
    #[error("k must be at least 1")]
    ZeroK,
    #[error("dim must be at least 1")]
    ZeroDim,
    #[error("not an index file: {0}")]
    Format(String),
}

/// Nearest gallery items of one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    pub ids: Vec<String>,
    pub distances: Vec<f32>,
}

/// See the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    dim: usize,
    ids: Vec<String>,
    /// `[n, dim]`, row-major, in insertion order.
    data: Vec<f32>,
}

impl Index {
    pub fn new(dim: usize) -> Result<Self, IndexError> {
        if dim == 0 {
            return Err(IndexError::ZeroDim);
        }
        Ok(Self { dim, ids: Vec::new(), data: Vec::new() })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Adds rows; all or nothing (a bad row leaves the index unchanged).
    ///
    /// # Shapes
    /// `embeddings`: `ids.len() × dim`, row-major.
    pub fn add(&mut self, ids: Vec<String>, embeddings: &[f32]) -> Result<(), IndexError> {
        if !embeddings.len().is_multiple_of(self.dim) {
            return Err(IndexError::NotMultiple { dim: self.dim, got: embeddings.len() });
        }
        let rows = embeddings.len() / self.dim;
        if rows != ids.len() {
            return Err(IndexError::CountMismatch { ids: ids.len(), rows });
        }
        let mut seen: HashSet<&str> = self.ids.iter().map(String::as_str).collect();
        for (id, row) in ids.iter().zip(embeddings.chunks_exact(self.dim)) {
            if !seen.insert(id) {
                return Err(IndexError::DuplicateId(id.clone()));
            }
            if let Some(column) = row.iter().position(|v| !v.is_finite()) {
                return Err(IndexError::NotFinite { id: id.clone(), column });
            }
        }
        self.ids.extend(ids);
        self.data.extend_from_slice(embeddings);
        Ok(())
    }

    /// The `k` nearest items of each query (fewer when the index is smaller), nearest first.
    ///
    /// # Shapes
    /// `queries`: `m × dim`, row-major → `m` hit lists.
    pub fn search(&self, queries: &[f32], k: usize) -> Result<Vec<Hits>, IndexError> {
        if k == 0 {
            return Err(IndexError::ZeroK);
        }
        if queries.is_empty() || !queries.len().is_multiple_of(self.dim) {
            return Err(IndexError::QueryDim { dim: self.dim, got: queries.len() });
        }
        if let Some(i) = queries.iter().position(|v| !v.is_finite()) {
            return Err(IndexError::QueryNotFinite(i % self.dim));
        }
        let m = queries.len() / self.dim;
        if self.is_empty() {
            return Ok(vec![Hits { ids: Vec::new(), distances: Vec::new() }; m]);
        }
        let n = self.len();
        let mut all = Vec::with_capacity((m + n) * self.dim);
        all.extend_from_slice(queries);
        all.extend_from_slice(&self.data);
        let unexpected = |e: oml_core::retrieval::RetrievalError| IndexError::Format(e.to_string());
        let emb = Embeddings::new(&all, m + n, self.dim).map_err(unexpected)?;
        let qg = QueryGallery::search_only(m, n).map_err(unexpected)?;
        let results = retrieve(&emb, &qg, k, Distance::Euclidean).map_err(unexpected)?;
        Ok((0..m)
            .map(|q| {
                let r = results.query(q);
                Hits {
                    ids: r.retrieved.iter().map(|&g| self.ids[g as usize].clone()).collect(),
                    distances: r.distances.to_vec(),
                }
            })
            .collect())
    }

    /// The index as a safetensors file (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes: Vec<u8> = self.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ids = serde_json::to_string(&self.ids).unwrap_or_else(|_| "[]".into());
        let meta: HashMap<String, String> = [
            ("oml.format".to_owned(), FORMAT.to_owned()),
            ("oml.format_version".to_owned(), FORMAT_VERSION.to_string()),
            ("oml.ids".to_owned(), ids),
            ("oml.dim".to_owned(), self.dim.to_string()),
        ]
        .into();
        let view = safetensors::tensor::TensorView::new(
            safetensors::Dtype::F32,
            vec![self.len(), self.dim],
            &bytes,
        );
        view.and_then(|view| safetensors::serialize([(TENSOR, view)], Some(meta)))
            .unwrap_or_else(|e| unreachable!("a consistent index serialises: {e}"))
    }

    /// Reads what [`Index::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IndexError> {
        let bad = |reason: String| IndexError::Format(reason);
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        if meta.get("oml.format").map(String::as_str) != Some(FORMAT) {
            return Err(bad(format!("no \"oml.format\": \"{FORMAT}\" header entry")));
        }
        let version: u32 = meta
            .get("oml.format_version")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("no valid \"oml.format_version\"".into()))?;
        if version > FORMAT_VERSION {
            return Err(bad(format!(
                "format version {version} is newer than this build reads ({FORMAT_VERSION})"
            )));
        }
        let ids: Vec<String> = meta
            .get("oml.ids")
            .map(|j| serde_json::from_str(j))
            .transpose()
            .map_err(|e| bad(format!("\"oml.ids\": {e}")))?
            .ok_or_else(|| bad("no \"oml.ids\"".into()))?;
        let dim: usize = meta
            .get("oml.dim")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("no valid \"oml.dim\"".into()))?;
        let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let tensor = file.tensor(TENSOR).map_err(|e| bad(e.to_string()))?;
        if tensor.dtype() != safetensors::Dtype::F32 || tensor.shape() != [ids.len(), dim] {
            return Err(bad(format!(
                "tensor \"{TENSOR}\" is {:?} {:?}, expected F32 [{}, {dim}]",
                tensor.dtype(),
                tensor.shape(),
                ids.len()
            )));
        }
        let data: Vec<f32> = tensor
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut index = Self::new(dim)?;
        index.add(ids, &data)?;
        Ok(index)
    }
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
    }
}
