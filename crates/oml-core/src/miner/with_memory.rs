use std::collections::BTreeMap;
use std::sync::Mutex;

use burn::tensor::{Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::base::{MinedTriplets, MinerError, TripletSource, check_labels, gather_rows};

/// OML `TripletMinerWithMemory` (`miners/cross_batch.py`): all-triplets of the batch, plus
/// triplets that mix the batch with a memory bank of the last `bank_size_in_batches` batches
/// (detached), so that `tri_expand_k` times as many triplets come out.
///
/// Per call, with `T` the batch's own triplets (every anchor-positive pair of the batch with
/// every negative of the batch): `⌊T·(k−1)/2⌋` triplets with anchor and positive from the bank
/// and the negative from the batch, and as many with anchor and positive from the batch and the
/// negative from the bank (triplets whose negative shares the anchor's label are dropped). The
/// bank starts filled with placeholders (one-hot features, labels that match nothing), then
/// each call pushes the batch. Output order is (batch-positive/bank-negative,
/// bank-positive/batch-negative, batch-only), as OML.
///
/// Differs from OML where OML loops forever: when no bank label has two entries (a bank of one
/// batch before any real batch arrived), the bank-positive part is empty.
#[derive(Debug)]
pub struct TripletMinerWithMemory {
    bank_size_in_batches: usize,
    tri_expand_k: usize,
    state: Mutex<Memory>,
}

#[derive(Debug)]
struct Memory {
    rng: ChaCha8Rng,
    features: Option<Tensor<2>>,
    /// Placeholders are negative, real labels are `label as i64`.
    labels: Vec<i64>,
    batch_size: usize,
    ptr: usize,
}

impl TripletMinerWithMemory {
    /// `tri_expand_k ≥ 1` (1: no bank triplets); `bank_size_in_batches ≥ 1`.
    pub fn new(
        bank_size_in_batches: usize,
        tri_expand_k: usize,
        seed: u64,
    ) -> Result<Self, MinerError> {
        if tri_expand_k == 0 || bank_size_in_batches == 0 {
            return Err(MinerError::BadRange(
                "bank_size_in_batches and tri_expand_k must be at least 1".to_owned(),
            ));
        }
        let memory = Memory {
            rng: ChaCha8Rng::seed_from_u64(seed),
            features: None,
            labels: Vec::new(),
            batch_size: 0,
            ptr: 0,
        };
        Ok(Self { bank_size_in_batches, tri_expand_k, state: Mutex::new(memory) })
    }
}

/// Ordered pairs `(i, j)`, `i ≠ j`, within each group, shuffled.
fn positive_pairs(groups: &[Vec<usize>], rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = groups
        .iter()
        .flat_map(|g| {
            g.iter().flat_map(move |&i| g.iter().filter(move |&&j| j != i).map(move |&j| (i, j)))
        })
        .collect();
    pairs.shuffle(rng);
    pairs
}

fn groups_of<T: Ord + Copy>(labels: &[T]) -> Vec<Vec<usize>> {
    let mut by: BTreeMap<T, Vec<usize>> = BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        by.entry(l).or_default().push(i);
    }
    by.into_values().collect()
}

impl TripletSource for TripletMinerWithMemory {
    fn mine(&self, features: Tensor<2>, labels: &[u32]) -> Result<MinedTriplets, MinerError> {
        let [b, dim] = features.dims();
        check_labels(b, labels)?;
        let mut memory = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bank_rows = self.bank_size_in_batches * b;
        if memory.features.is_none() {
            // Placeholder labels −1, −2, …, −b per bank batch, one-hot features.
            memory.labels =
                (0..bank_rows).map(|r| -i64::try_from(r % b + 1).unwrap_or(i64::MAX)).collect();
            let mut one_hot = vec![0.0f32; bank_rows * dim];
            for (r, &l) in memory.labels.iter().enumerate() {
                let column = usize::try_from(l.unsigned_abs()).unwrap_or(usize::MAX).min(dim - 1);
                one_hot[r * dim + column] = 1.0;
            }
            memory.features = Some(Tensor::<2>::from_data(
                TensorData::new(one_hot, [bank_rows, dim]),
                &features.device(),
            ));
            memory.batch_size = b;
        }
        if memory.batch_size != b {
            return Err(MinerError::BatchSizeChanged { expected: memory.batch_size, got: b });
        }
        let batch_labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
        let bank_labels = memory.labels.clone();
        let rng = &mut memory.rng;

        // Part 1: the batch's own triplets.
        let batch_pairs = positive_pairs(&groups_of(&batch_labels), rng);
        let mut part1 = Vec::new();
        for &(a, p) in &batch_pairs {
            part1.extend((0..b).filter(|&n| batch_labels[n] != batch_labels[a]).map(|n| (a, p, n)));
        }
        let n_extra = part1.len() * (self.tri_expand_k - 1) / 2;

        // Part 2: anchor and positive from the bank, negative from the batch.
        let bank_groups: Vec<Vec<usize>> =
            groups_of(&bank_labels).into_iter().filter(|g| g.len() > 1).collect();
        let mut bank_pairs = Vec::new();
        while bank_pairs.len() < n_extra && !bank_groups.is_empty() {
            let group = &bank_groups[rng.random_range(0..bank_groups.len())];
            bank_pairs.extend(positive_pairs(std::slice::from_ref(group), rng));
        }
        bank_pairs.shuffle(rng);
        bank_pairs.truncate(n_extra);
        let part2: Vec<(usize, usize, usize)> = bank_pairs
            .into_iter()
            .map(|(a, p)| (a, p, rng.random_range(0..b)))
            .filter(|&(a, _, n)| bank_labels[a] != batch_labels[n])
            .collect();

        // Part 3: anchor and positive from the batch, negative from the bank.
        let part3: Vec<(usize, usize, usize)> = if batch_pairs.is_empty() {
            Vec::new()
        } else {
            (0..n_extra)
                .map(|_| {
                    let n = rng.random_range(0..bank_rows);
                    let (a, p) = batch_pairs[rng.random_range(0..batch_pairs.len())];
                    (a, p, n)
                })
                .filter(|&(a, _, n)| batch_labels[a] != bank_labels[n])
                .collect()
        };

        // Rows of the pool: the batch first, then the bank.
        let stored = memory
            .features
            .clone()
            .unwrap_or_else(|| Tensor::<2>::zeros([bank_rows, dim], &features.device()));
        let pool = Tensor::cat(vec![features.clone(), stored.clone()], 0);
        let mut ids = (Vec::new(), Vec::new(), Vec::new());
        for &(a, p, n) in &part3 {
            ids.0.push(a);
            ids.1.push(p);
            ids.2.push(b + n);
        }
        for &(a, p, n) in &part2 {
            ids.0.push(b + a);
            ids.1.push(b + p);
            ids.2.push(n);
        }
        for &(a, p, n) in &part1 {
            ids.0.push(a);
            ids.1.push(p);
            ids.2.push(n);
        }

        let ptr = memory.ptr;
        memory.features = Some(stored.slice_assign([ptr..ptr + b, 0..dim], features.detach()));
        memory.labels[ptr..ptr + b].copy_from_slice(&batch_labels);
        memory.ptr = (ptr + b) % bank_rows;
        let mut is_original = vec![false; part3.len() + part2.len()];
        is_original.resize(is_original.len() + part1.len(), true);
        Ok(MinedTriplets {
            anchor: gather_rows(&pool, &ids.0),
            positive: gather_rows(&pool, &ids.1),
            negative: gather_rows(&pool, &ids.2),
            is_original: Some(is_original),
        })
    }
}
