//! FNMR@FMR (OML `calc_fnmr_at_fmr`, `functional/metrics.py:375`, fed by
//! `calc_fnmr_at_fmr_rr`, `metrics/embeddings.py:71`).
//!
//! Over all (query, gallery) pairs that are not hidden from each other (self, same sequence),
//! pooled over queries: positives are the pairs sharing a label, negatives the rest.
//! `threshold(q) = quantile(negative distances, q)` with numpy's default linear interpolation,
//! and `FNMR@FMR=q = #{positive distances ≥ threshold(q)} / #positives` (note `≥`).
//!
//! OML sorts every pair in memory. Here negatives are never stored: an exact radix selection
//! makes two passes over the distance tiles (the high 16 bits of each float32 distance, then the
//! low 16 bits inside the bins that hold the wanted order statistics), so memory stays bounded
//! whatever the gallery size. Only positive distances are kept. Distances are the f64-accurate
//! values rounded to float32, as in retrieval.
//!
//! Undefined in OML, chosen here: no negative pair (OML raises `IndexError`) or no positive pair
//! (OML divides by zero) gives NaN.

use std::collections::BTreeMap;

use crate::retrieval::blocked::{Block, BlockVisitor, PreparedGallery, score_to_distance, sweep};
use crate::retrieval::{Distance, Embeddings, QueryGallery};

const BINS: usize = 1 << 16;
const NOT_WANTED: u32 = u32::MAX;

/// Position of numpy's linear quantile `q` in a sorted array of `n`: the two order statistics
/// and the interpolation weight (`numpy.quantile(method="linear")`: virtual index `q·(n−1)`).
fn quantile_position(q: f64, n: u64) -> (u64, u64, f64) {
    let virtual_index = q * (n - 1) as f64;
    let below = (virtual_index.floor() as u64).min(n - 1);
    let above = (below + 1).min(n - 1);
    (below, above, virtual_index - below as f64)
}

/// numpy's `_lerp`: `a + (b − a)·t`, computed from the upper end when `t ≥ 0.5`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 { b - diff * (1.0 - t) } else { a + diff * t }
}

fn fnmr_from_thresholds(positives: &[f32], thresholds: &[f64]) -> Vec<f64> {
    thresholds
        .iter()
        .map(|&t| {
            if positives.is_empty() || t.is_nan() {
                return f64::NAN;
            }
            let above = positives.iter().filter(|&&p| f64::from(p) >= t).count();
            above as f64 / positives.len() as f64
        })
        .collect()
}

/// FNMR at each FMR from distances already in memory (small inputs and tests).
///
/// # Shapes
/// `positives: [P]`, `negatives: [N]`, `fmr_vals: [F]` in `[0, 1]` → `[F]`.
pub fn fnmr_at_fmr(positives: &[f32], negatives: &[f32], fmr_vals: &[f64]) -> Vec<f64> {
    let mut sorted = negatives.to_vec();
    sorted.sort_unstable_by(f32::total_cmp);
    let n = sorted.len() as u64;
    let thresholds: Vec<f64> = fmr_vals
        .iter()
        .map(|&q| {
            if n == 0 {
                return f64::NAN;
            }
            let (lo, hi, t) = quantile_position(q, n);
            lerp(f64::from(sorted[lo as usize]), f64::from(sorted[hi as usize]), t)
        })
        .collect();
    fnmr_from_thresholds(positives, &thresholds)
}

/// FNMR at each FMR over every non-hidden (query, gallery) pair, streamed in tiles.
pub fn fnmr_at_fmr_streaming(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    distance: Distance,
    fmr_vals: &[f64],
) -> Vec<f64> {
    let gallery = PreparedGallery::<f64>::new(emb, qg.gallery_rows(), distance);
    let pass = PairPass { emb, qg, distance, bin_slots: None };
    let first = sweep(emb, qg.query_rows(), qg.gallery_rows(), &gallery, &pass);
    let n = first.n_negatives;
    if n == 0 {
        return vec![f64::NAN; fmr_vals.len()];
    }

    // Which high bin holds each wanted order statistic, and its rank inside the bin.
    let positions: Vec<(u64, u64, f64)> =
        fmr_vals.iter().map(|&q| quantile_position(q, n)).collect();
    let mut cumulative = Vec::with_capacity(BINS);
    let mut total = 0u64;
    for &count in &first.high {
        cumulative.push(total);
        total += count;
    }
    let locate = |rank: u64| {
        let bin = cumulative.partition_point(|&start| start <= rank) - 1;
        (bin, rank - cumulative[bin])
    };
    let mut wanted_bins = BTreeMap::new();
    for &(lo, hi, _) in &positions {
        for rank in [lo, hi] {
            wanted_bins.insert(locate(rank).0, 0);
        }
    }
    let mut bin_slots = vec![NOT_WANTED; BINS];
    for (slot, (&bin, index)) in wanted_bins.iter_mut().enumerate() {
        *index = slot;
        bin_slots[bin] = u32::try_from(slot).unwrap_or(NOT_WANTED);
    }
    let pass = PairPass { emb, qg, distance, bin_slots: Some(bin_slots) };
    let second = sweep(emb, qg.query_rows(), qg.gallery_rows(), &gallery, &pass);

    let value_at = |rank: u64| -> f64 {
        let (bin, mut rank_in_bin) = locate(rank);
        let low = &second.low[wanted_bins[&bin]];
        for (low_bits, &count) in low.iter().enumerate() {
            if rank_in_bin < count {
                let bits = ((bin as u32) << 16) | low_bits as u32;
                return f64::from(f32::from_bits(bits));
            }
            rank_in_bin -= count;
        }
        f64::NAN // unreachable when both passes see the same distances
    };
    let thresholds: Vec<f64> =
        positions.iter().map(|&(lo, hi, t)| lerp(value_at(lo), value_at(hi), t)).collect();
    fnmr_from_thresholds(&first.positives, &thresholds)
}

/// One pass over all pairs: first pass (`wanted_bins` empty) builds the high-bits histogram of
/// negatives and keeps positives; second pass histograms the low bits inside the wanted bins.
struct PairPass<'a> {
    emb: &'a Embeddings<'a>,
    qg: &'a QueryGallery,
    distance: Distance,
    /// Second pass only: high bin → slot in `PairCounts::low`, or `NOT_WANTED`.
    bin_slots: Option<Vec<u32>>,
}

#[derive(Debug)]
struct PairCounts {
    high: Vec<u64>,
    low: Vec<Vec<u64>>,
    positives: Vec<f32>,
    n_negatives: u64,
}

impl PairPass<'_> {
    /// The float32 distance of a pair from its f64 tile score. Where the matrix-product formula
    /// cancels badly (near-duplicates) the direct formula is used instead.
    fn pair_distance(&self, score: f64, query_row: u32, gallery_row: u32, scale: f64) -> f32 {
        if score < 1e-6 * scale {
            let (q, g) = (self.emb.row(query_row as usize), self.emb.row(gallery_row as usize));
            return self.distance.between(q, g);
        }
        let d = score_to_distance(self.distance, score) as f32;
        // +0.0, so that the bit pattern orders like the value.
        if d > 0.0 { d } else { 0.0 }
    }
}

impl PairPass<'_> {
    /// Counts the pair (query row, gallery row) with distance `d`, `weight` times.
    fn count(&self, acc: &mut PairCounts, q_row: u32, g_row: u32, d: f32, weight: u64) {
        let is_positive = self.qg.label(g_row) == self.qg.label(q_row);
        let bits = d.to_bits();
        match (&self.bin_slots, is_positive) {
            (None, true) => acc.positives.extend(std::iter::repeat_n(d, weight as usize)),
            (None, false) => {
                acc.high[(bits >> 16) as usize] += weight;
                acc.n_negatives += weight;
            }
            (Some(slots), false) => {
                let slot = slots[(bits >> 16) as usize];
                if slot != NOT_WANTED {
                    acc.low[slot as usize][(bits & 0xFFFF) as usize] += weight;
                }
            }
            (Some(_), true) => {}
        }
    }
}

impl BlockVisitor<f64> for PairPass<'_> {
    type Acc = PairCounts;

    fn empty(&self) -> Self::Acc {
        let n_slots =
            self.bin_slots.as_ref().map_or(0, |s| s.iter().filter(|&&x| x != NOT_WANTED).count());
        PairCounts {
            high: if self.bin_slots.is_none() { vec![0; BINS] } else { Vec::new() },
            low: vec![vec![0; BINS]; n_slots],
            positives: Vec::new(),
            n_negatives: 0,
        }
    }

    fn visit(&self, acc: &mut Self::Acc, tile: &Block<'_, f64>) {
        let gallery_rows = &self.qg.gallery_rows()[tile.gallery.clone()];
        // A mirrored tile stands for itself and its transpose: every pair counts twice.
        let weight = if tile.mirrored { 2 } else { 1 };
        for (i, query) in tile.queries.clone().enumerate() {
            let q_row = self.qg.query_rows()[query];
            let q_sq = tile.query_sq_norms[i];
            for ((&score, &g_row), &g_sq) in
                tile.row(i).iter().zip(gallery_rows).zip(tile.gallery_sq_norms)
            {
                if self.qg.is_hidden(q_row, g_row) {
                    continue;
                }
                let scale = match self.distance {
                    Distance::Euclidean => q_sq + g_sq,
                    Distance::Cosine => 1.0,
                };
                let d = self.pair_distance(score, q_row, g_row, scale);
                self.count(acc, q_row, g_row, d, weight);
            }
        }
    }

    fn merge(&self, mut a: Self::Acc, b: Self::Acc) -> Self::Acc {
        add_into(&mut a.high, &b.high);
        for (x, y) in a.low.iter_mut().zip(&b.low) {
            add_into(x, y);
        }
        a.positives.extend(b.positives);
        a.n_negatives += b.n_negatives;
        a
    }
}

#[cfg_attr(not(feature = "parallel"), allow(dead_code))]
fn add_into(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}
