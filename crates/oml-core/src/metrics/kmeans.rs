//! k-means (Lloyd's algorithm) on plain rows, for the clustering metrics.
//!
//! Written here rather than taken from a crate: the assignment step is the float32 GEMM the
//! retrieval code already has (blocks of rows against all centroids, so memory is
//! `block x k`), and the crates that offer k-means (linfa-clustering, kmeans) would bring
//! ndarray or nightly SIMD into a core that builds for wasm32.
//!
//! Seeding is k-means++ (Arthur & Vassilvitskii 2007: each next centroid a row drawn with
//! probability proportional to its squared distance to the nearest centroid so far; seeded, so
//! runs repeat), then a fixed number of Lloyd iterations; an emptied cluster takes over the row
//! farthest from its centroid. faiss's `Kmeans`, which PML's `AccuracyCalculator` runs, seeds
//! with `k` random rows instead: cheaper, but it leaves two centroids in one well-separated
//! identity and none in another often enough to move NMI by tenths on small sets.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::retrieval::Embeddings;
use crate::retrieval::gemm::GemmScalar;

/// Rows assigned per GEMM block, at most.
const BLOCK: usize = 1024;
/// Largest block of scores (rows x clusters) held at once: 64 MiB of f32.
const MAX_SCORES: usize = 1 << 24;

/// Cluster ids `[rows]` in `0..k` of `emb`'s rows after `iterations` rounds of Lloyd's
/// algorithm on squared Euclidean distances (ties to the lowest cluster id). `k` is clamped to
/// `1..=rows`; no rows give no ids.
pub(crate) fn kmeans(emb: &Embeddings<'_>, k: usize, iterations: usize, seed: u64) -> Vec<u32> {
    let n = emb.rows();
    if n == 0 {
        return Vec::new();
    }
    let k = k.clamp(1, n);
    let mut centroids = seed_plus_plus(emb, k, seed);
    let mut assignment = vec![0u32; n];
    let mut distances = vec![0f32; n];
    for round in 0..=iterations {
        let changed = assign(emb, &centroids, k, &mut assignment, &mut distances);
        if round == iterations || (round > 0 && !changed) {
            break;
        }
        update(emb, &mut centroids, k, &assignment, &distances);
    }
    assignment
}

/// k-means++ seeding: `k` rows as the first centroids, `[k, dim]`.
fn seed_plus_plus(emb: &Embeddings<'_>, k: usize, seed: u64) -> Vec<f32> {
    let (n, dim) = (emb.rows(), emb.dim());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centroids = Vec::with_capacity(k * dim);
    let first = rng.random_range(0..n);
    centroids.extend_from_slice(emb.row(first));
    let sq = |a: &[f32], b: &[f32]| -> f64 {
        a.iter().zip(b).map(|(&x, &y)| f64::from(x - y) * f64::from(x - y)).sum()
    };
    let mut nearest: Vec<f64> = (0..n).map(|r| sq(emb.row(r), emb.row(first))).collect();
    for _ in 1..k {
        let total: f64 = nearest.iter().sum();
        // Every row coincides with a centroid: any row will do.
        let next = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            nearest
                .iter()
                .position(|&d| {
                    target -= d;
                    target < 0.0
                })
                .unwrap_or_else(|| nearest.iter().rposition(|&d| d > 0.0).unwrap_or(0))
        } else {
            rng.random_range(0..n)
        };
        let c = emb.row(next);
        centroids.extend_from_slice(c);
        for (r, d) in nearest.iter_mut().enumerate() {
            *d = d.min(sq(emb.row(r), c));
        }
    }
    centroids
}

/// Nearest centroid of every row; whether any assignment changed.
fn assign(
    emb: &Embeddings<'_>,
    centroids: &[f32],
    k: usize,
    assignment: &mut [u32],
    distances: &mut [f32],
) -> bool {
    let dim = emb.dim();
    let c_sq: Vec<f32> =
        centroids.chunks_exact(dim).map(|c| c.iter().map(|v| v * v).sum()).collect();
    let block = (MAX_SCORES / k.max(1)).clamp(1, BLOCK);
    let mut scores = vec![0f32; block.min(emb.rows()) * k];
    let mut changed = false;
    for start in (0..emb.rows()).step_by(block) {
        let end = (start + block).min(emb.rows());
        let copied;
        let rows = match emb.contiguous() {
            Some(all) => &all[start * dim..end * dim],
            None => {
                copied = emb.select(&(start..end).collect::<Vec<_>>());
                &copied[..]
            }
        };
        let out = &mut scores[..(end - start) * k];
        f32::matmul_transposed(rows, centroids, out, end - start, k, dim);
        for (i, dots) in out.chunks_exact(k).enumerate() {
            let x_sq: f32 = emb.row(start + i).iter().map(|v| v * v).sum();
            let (best, d) = dots
                .iter()
                .zip(&c_sq)
                .map(|(&dot, &c)| f32::euclidean_score(x_sq, c, dot))
                .enumerate()
                .fold((0, f32::INFINITY), |b, (j, d)| if d < b.1 { (j, d) } else { b });
            let best = u32::try_from(best).unwrap_or(u32::MAX);
            changed |= assignment[start + i] != best;
            assignment[start + i] = best;
            distances[start + i] = d;
        }
    }
    changed
}

/// Centroids to their rows' means; an empty cluster takes the row farthest from its centroid
/// (which then leaves its own cluster's mean as it is until the next round).
fn update(
    emb: &Embeddings<'_>,
    centroids: &mut [f32],
    k: usize,
    assignment: &[u32],
    distances: &[f32],
) {
    let dim = emb.dim();
    let mut sums = vec![0f64; k * dim];
    let mut counts = vec![0usize; k];
    for (r, &c) in assignment.iter().enumerate() {
        let c = c as usize;
        counts[c] += 1;
        for (s, &v) in sums[c * dim..(c + 1) * dim].iter_mut().zip(emb.row(r)) {
            *s += f64::from(v);
        }
    }
    let mut by_distance: Vec<usize> = (0..assignment.len()).collect();
    by_distance.sort_unstable_by(|&a, &b| distances[b].total_cmp(&distances[a]).then(a.cmp(&b)));
    let mut far = by_distance.into_iter();
    for c in 0..k {
        let centroid = &mut centroids[c * dim..(c + 1) * dim];
        if counts[c] > 0 {
            let n = counts[c] as f64;
            for (x, s) in centroid.iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                *x = (s / n) as f32;
            }
        } else if let Some(r) = far.next() {
            centroid.copy_from_slice(emb.row(r));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn well_separated_blobs_are_found() {
        // 5 blobs of 40 points in 3-d, far apart, with small deterministic jitter.
        let (k, per, dim) = (5, 40, 3);
        let mut data = Vec::new();
        for c in 0..k {
            for i in 0..per {
                for d in 0..dim {
                    let centre = if d == c % dim { 10.0 * (c + 1) as f32 } else { -(c as f32) };
                    data.push(centre + ((i * 7 + d * 3) % 11) as f32 * 0.01);
                }
            }
        }
        let emb = Embeddings::new(&data, k * per, dim).unwrap();
        let ids = kmeans(&emb, k, 20, 0);
        for c in 0..k {
            let first = ids[c * per];
            assert!(ids[c * per..(c + 1) * per].iter().all(|&x| x == first), "blob {c}");
        }
        let mut distinct: Vec<u32> = (0..k).map(|c| ids[c * per]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), k, "one cluster per blob");
    }

    #[test]
    fn edge_sizes() {
        let data = [1.0f32, 2.0, 3.0];
        let emb = Embeddings::new(&data, 3, 1).unwrap();
        assert_eq!(kmeans(&emb, 10, 5, 0).len(), 3, "k above the rows is clamped");
        let ids = kmeans(&emb, 3, 5, 0);
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 1, 2], "three rows, three clusters");
        let empty = Embeddings::new(&[], 0, 4);
        if let Ok(e) = empty {
            assert!(kmeans(&e, 3, 5, 0).is_empty());
        }
    }
}
