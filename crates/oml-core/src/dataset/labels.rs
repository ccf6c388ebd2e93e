use std::collections::HashMap;

use super::record::{Record, Split};

/// Dense label ids `0..L-1` for the labels of a dataset.
///
/// OML (`datasets/images.py`, `get_retrieval_images_datasets`) numbers labels in the order of
/// `df.sort_values("split")[label].unique()`, so train labels come first. pandas' default sort
/// is not stable, which leaves the order inside each split to chance; here the order is first
/// appearance in the file, train rows before validation rows, so it is reproducible. (OML then
/// applies the mapping to train rows only; we give every row a dense id, which changes no
/// metric since metrics only compare labels for equality.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMap {
    /// `originals[dense] = label as written`.
    originals: Vec<i64>,
    dense_of: HashMap<i64, u32>,
    /// Number of labels that occur in the train split (they have ids `0..n_train_labels`).
    n_train_labels: usize,
}

impl LabelMap {
    /// Builds the map: train labels first, then labels only seen in validation.
    pub fn from_records(records: &[Record]) -> Self {
        let mut map = Self { originals: Vec::new(), dense_of: HashMap::new(), n_train_labels: 0 };
        for split in [Split::Train, Split::Validation] {
            for r in records.iter().filter(|r| r.split == split) {
                map.insert(r.label);
            }
            if split == Split::Train {
                map.n_train_labels = map.originals.len();
            }
        }
        map
    }

    fn insert(&mut self, label: i64) {
        let next = u32::try_from(self.originals.len()).unwrap_or(u32::MAX);
        self.dense_of.entry(label).or_insert_with(|| {
            self.originals.push(label);
            next
        });
    }

    /// Dense id of a label written in the file, `None` if it does not occur.
    pub fn dense(&self, label: i64) -> Option<u32> {
        self.dense_of.get(&label).copied()
    }

    /// The label as written in the file for a dense id.
    pub fn original(&self, dense: u32) -> Option<i64> {
        self.originals.get(dense as usize).copied()
    }

    /// Number of distinct labels.
    pub fn len(&self) -> usize {
        self.originals.len()
    }

    /// Whether the dataset has no labels (never true for a [`super::Dataset`]).
    pub fn is_empty(&self) -> bool {
        self.originals.is_empty()
    }

    /// Number of labels that occur in the train split; they are `0..n_train_labels()`.
    pub fn n_train_labels(&self) -> usize {
        self.n_train_labels
    }
}
