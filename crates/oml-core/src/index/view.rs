use std::borrow::Cow;
use std::collections::HashSet;

use super::file::{decode, parse};
use super::{Hits, IndexError, search_rows};

/// A read-only [`super::Index`] over the bytes of an index file, e.g. a memory-mapped one: the
/// embeddings are searched where they lie in the file (when the platform is little-endian and
/// the tensor is aligned, as safetensors aligns it; otherwise they are decoded once), so a
/// large gallery is not held twice. Same search, same results as the [`super::Index`] read from
/// the same bytes.
#[derive(Debug, Clone)]
pub struct IndexView<'a> {
    dim: usize,
    ids: Vec<String>,
    data: Cow<'a, [f32]>,
    model: Option<String>,
    labels: Option<Vec<i64>>,
}

impl<'a> IndexView<'a> {
    /// Reads the header of `bytes` (an index file) and checks it: format, version, the tensor's
    /// shape against the ids, no id twice.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, IndexError> {
        let parsed = parse(bytes)?;
        let mut seen = HashSet::with_capacity(parsed.ids.len());
        if let Some(id) = parsed.ids.iter().find(|id| !seen.insert(id.as_str())) {
            return Err(IndexError::DuplicateId(id.clone()));
        }
        let data = match bytemuck::try_cast_slice::<u8, f32>(parsed.raw) {
            Ok(floats) if cfg!(target_endian = "little") => Cow::Borrowed(floats),
            _ => Cow::Owned(decode(parsed.raw)),
        };
        let (dim, ids, model, labels) = (parsed.dim, parsed.ids, parsed.model, parsed.labels);
        Ok(Self { dim, ids, data, model, labels })
    }

    /// Whether the embeddings are read in place (not copied).
    pub fn is_borrowed(&self) -> bool {
        matches!(self.data, Cow::Borrowed(_))
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

    /// The identity of the model of its embeddings, when recorded.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The items' labels, in order, when the index has them.
    pub fn labels(&self) -> Option<&[i64]> {
        self.labels.as_deref()
    }

    /// As [`super::Index::search`]; a non-finite embedding in the file is an error here.
    pub fn search(&self, queries: &[f32], k: usize) -> Result<Vec<Hits>, IndexError> {
        search_rows(self.dim, &self.ids, &self.data, queries, k)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::Index;
    use super::*;

    #[test]
    fn a_view_reads_in_place_and_searches_as_the_index() {
        let mut index = Index::new(2).unwrap().with_model(Some("zoo:m".into()));
        let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| (*s).to_owned()).collect();
        let labels = [7, 8, 7, 9];
        index
            .add_labelled(names, Some(&labels), &[0.0, 0.0, 3.0, 4.0, 1.0, 0.0, 0.0, 1.0])
            .unwrap();
        let bytes = index.to_bytes();
        // An 8-byte-aligned copy, as a memory map is (page-aligned).
        let aligned: Vec<u64> = bytes
            .chunks(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        let aligned = &bytemuck::cast_slice::<u64, u8>(&aligned)[..bytes.len()];
        let view = IndexView::from_bytes(aligned).unwrap();
        assert!(view.is_borrowed(), "read in place");
        assert_eq!((view.len(), view.dim(), view.model()), (4, 2, Some("zoo:m")));
        assert_eq!(view.labels(), Some(&labels[..]));
        assert_eq!(Index::from_bytes(&bytes).unwrap(), index, "labels round trip");
        let queries = [0.0, 0.0, 3.0, 4.0];
        assert_eq!(view.search(&queries, 3).unwrap(), index.search(&queries, 3).unwrap());
        // Misaligned bytes are decoded instead, with the same results.
        let mut shifted = vec![0u8; 1];
        shifted.extend_from_slice(&bytes);
        let copy = IndexView::from_bytes(&shifted[1..]).unwrap();
        assert!(!copy.is_borrowed());
        assert_eq!(copy.search(&queries, 3).unwrap(), index.search(&queries, 3).unwrap());
        assert!(matches!(IndexView::from_bytes(b"nope"), Err(IndexError::Format(_))));
    }
}
