use std::sync::Mutex;

use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::base::{MinerError, TripletMiner, Triplets};

/// Every valid triplet of the batch (OML `AllTripletsMiner`, `miners/inbatch_all_tri.py`):
/// all ordered `(a, p, n)` with `label[a] == label[p]`, `a ≠ p`, `label[n] ≠ label[a]`. A P x K
/// batch has `P·K·(K−1)·(P−1)·K` of them. With `max_output_triplets`, a random subset of that
/// size. Features are not looked at.
///
/// OML always returns the triplets in a random order; here they are in (a, p, n) order unless
/// a subset is drawn, which only matters with `Reduction::None`.
#[derive(Debug)]
pub struct AllTripletsMiner {
    /// Keep at most this many triplets (OML `max_output_triplets`, default unlimited).
    pub max_output_triplets: Option<usize>,
    rng: Mutex<ChaCha8Rng>,
}

impl AllTripletsMiner {
    /// At most `max_output_triplets` (all when `None`), subsets drawn from `seed`.
    pub fn new(max_output_triplets: Option<usize>, seed: u64) -> Self {
        Self { max_output_triplets, rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)) }
    }

    /// All valid triplets of `labels`, in (anchor, positive, negative) order.
    pub fn all(labels: &[u32]) -> Triplets {
        Self::all_pairing(labels, |_, _| true)
    }

    /// All valid triplets whose positive and negative `pairs` allows with the anchor.
    fn all_pairing(labels: &[u32], pairs: impl Fn(usize, usize) -> bool) -> Triplets {
        let mut t = Triplets::default();
        for (a, &la) in labels.iter().enumerate() {
            for (p, &lp) in labels.iter().enumerate() {
                if p == a || lp != la || !pairs(a, p) {
                    continue;
                }
                for (n, &ln) in labels.iter().enumerate() {
                    if ln != la && pairs(a, n) {
                        t.anchor.push(a);
                        t.positive.push(p);
                        t.negative.push(n);
                    }
                }
            }
        }
        t
    }
}

impl Default for AllTripletsMiner {
    fn default() -> Self {
        Self::new(None, 0)
    }
}

impl AllTripletsMiner {
    /// At most `max_output_triplets` of `all`, drawn at random.
    fn limit(&self, all: Triplets) -> Triplets {
        match self.max_output_triplets {
            Some(max) if max < all.len() => {
                let mut rng = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let keep = rand::seq::index::sample(&mut *rng, all.len(), max);
                let pick = |v: &[usize]| keep.iter().map(|i| v[i]).collect();
                Triplets {
                    anchor: pick(&all.anchor),
                    positive: pick(&all.positive),
                    negative: pick(&all.negative),
                }
            }
            _ => all,
        }
    }
}

impl TripletMiner for AllTripletsMiner {
    fn mine_checked(&self, _features: &Tensor<2>, labels: &[u32]) -> Result<Triplets, MinerError> {
        Ok(self.limit(Self::all(labels)))
    }

    /// Every triplet whose positive and negative are of another domain than the anchor.
    fn mine_checked_across(
        &self,
        _features: &Tensor<2>,
        labels: &[u32],
        domains: &[u32],
    ) -> Result<Triplets, MinerError> {
        Ok(self.limit(Self::all_pairing(labels, |a, j| domains[j] != domains[a])))
    }
}
