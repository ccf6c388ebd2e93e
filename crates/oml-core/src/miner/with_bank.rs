use std::sync::Mutex;

use burn::tensor::Tensor;

use super::base::{MinedTriplets, MinerError, TripletSource, gather_rows};
use super::n_hard_triplets::NHardTripletsMiner;

/// Cross-batch memory (OML `MinerWithBank`, `miners/miner_with_bank.py`): a queue of the last
/// `bank_size_in_batches` batches' (detached) features and labels. Once the queue is full, the
/// current batch's rows are anchors and both the batch and the bank supply positives and
/// negatives, chosen by an [`NHardTripletsMiner`]; before that, the batch alone is mined.
/// Every call then pushes the batch into the queue.
///
/// Batches must keep the size of the first one (the queue is allocated from it).
#[derive(Debug)]
pub struct MinerWithBank {
    miner: NHardTripletsMiner,
    bank_size_in_batches: usize,
    state: Mutex<Bank>,
}

#[derive(Debug, Default)]
struct Bank {
    features: Option<Tensor<2>>,
    labels: Vec<u32>,
    batch_size: usize,
    ptr: usize,
    full: bool,
}

impl MinerWithBank {
    /// A bank of the last `bank_size_in_batches` batches mined by `miner`.
    pub fn new(bank_size_in_batches: usize, miner: NHardTripletsMiner) -> Result<Self, MinerError> {
        if bank_size_in_batches == 0 {
            return Err(MinerError::BadRange("bank_size_in_batches must be at least 1".to_owned()));
        }
        Ok(Self { miner, bank_size_in_batches, state: Mutex::new(Bank::default()) })
    }
}

impl TripletSource for MinerWithBank {
    fn mine(&self, features: Tensor<2>, labels: &[u32]) -> Result<MinedTriplets, MinerError> {
        let [b, dim] = features.dims();
        if labels.len() != b {
            return Err(MinerError::LengthMismatch { features: b, labels: labels.len() });
        }
        let mut bank = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bank_rows = self.bank_size_in_batches * b;
        if bank.features.is_none() {
            bank.features = Some(Tensor::<2>::zeros([bank_rows, dim], &features.device()));
            bank.labels = vec![0; bank_rows];
            bank.batch_size = b;
        }
        if bank.batch_size != b {
            return Err(MinerError::BatchSizeChanged { expected: bank.batch_size, got: b });
        }
        let stored = bank
            .features
            .clone()
            .unwrap_or_else(|| Tensor::<2>::zeros([bank_rows, dim], &features.device()));
        let (pool, pool_labels) = if bank.full {
            let mut all_labels = labels.to_vec();
            all_labels.extend(&bank.labels);
            (Tensor::cat(vec![features.clone(), stored.clone()], 0), all_labels)
        } else {
            (features.clone(), labels.to_vec())
        };
        let t = self.miner.sample_with_anchors(&pool, &pool_labels, b)?;

        let ptr = bank.ptr;
        bank.full |= ptr + b >= bank_rows;
        bank.features = Some(stored.slice_assign([ptr..ptr + b, 0..dim], features.detach()));
        bank.labels[ptr..ptr + b].copy_from_slice(labels);
        bank.ptr = (ptr + b) % bank_rows;
        Ok(MinedTriplets {
            anchor: gather_rows(&pool, &t.anchor),
            positive: gather_rows(&pool, &t.positive),
            negative: gather_rows(&pool, &t.negative),
            is_original: None,
        })
    }
}
