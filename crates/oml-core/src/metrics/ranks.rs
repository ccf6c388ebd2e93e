//! The rank of every gallery positive of every query in the query's whole ranking, streamed:
//! what map@R, R-precision and MRR need (see [`super::formulas`]) without sorting, or even
//! holding, any query's full list.
//!
//! Two passes over the query x gallery tiles ([`sweep`]): the first keeps the f64 tile score of
//! each (query, positive) pair; the second counts, for each query, the negatives ranked before
//! each of its positives. Items are ordered by (score, gallery index), as [`retrieve`] orders
//! them (PML orders ties as its k-NN search happens to, which is not specified), so positive j
//! (from 1) ranks `j + #negatives before it`, and with one positive map@R equals cmc@1. Hidden
//! pairs (the query itself, its sequence: [`QueryGallery`]) take no part.
//!
//! [`retrieve`]: crate::retrieval::retrieve
//!
//! Memory is the number of (query, positive) pairs: queries are taken in chunks of at most
//! [`MAX_PAIRS_PER_CHUNK`] pairs, so a dataset with one huge class costs more passes, never more
//! memory (PML's `AccuracyCalculator` holds a `[queries, k]` k-NN matrix).

use crate::retrieval::blocked::{Block, BlockVisitor, PreparedGallery, sweep};
use crate::retrieval::{Distance, Embeddings, QueryGallery};

/// Largest number of (query, positive) pairs one chunk of queries holds (16 bytes each in
/// the two passes).
pub(crate) const MAX_PAIRS_PER_CHUNK: usize = 1 << 22;

/// For every query, the 1-based ranks of its non-hidden gallery positives in its whole ranking,
/// ascending (as many as it has positives; empty for a query without any).
///
/// # Shapes
/// `emb`: `[qg.n_rows(), dim]`; the result has one list per query of `qg`.
pub(crate) fn positive_ranks(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    distance: Distance,
) -> Vec<Vec<u64>> {
    ranks_in_chunks(emb, qg, distance, MAX_PAIRS_PER_CHUNK)
}

/// [`positive_ranks`], queries taken in chunks of at most `max_pairs` (query, positive) pairs.
fn ranks_in_chunks(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    distance: Distance,
    max_pairs: usize,
) -> Vec<Vec<u64>> {
    let gallery = PreparedGallery::<f64>::new(emb, qg.gallery_rows(), distance);
    let by_label = qg.gallery_by_label();
    let n_positives: Vec<usize> =
        (0..qg.query_rows().len()).map(|q| qg.gallery_positives(q, &by_label).len()).collect();
    let mut ranks = Vec::with_capacity(n_positives.len());
    let mut start = 0;
    while start < n_positives.len() {
        // At least one query per chunk, however many positives it has.
        let mut end = start + 1;
        let mut pairs = n_positives[start];
        while end < n_positives.len() && pairs + n_positives[end] <= max_pairs {
            pairs += n_positives[end];
            end += 1;
        }
        ranks.extend(chunk_ranks(emb, qg, &gallery, start..end));
        start = end;
    }
    ranks
}

/// [`positive_ranks`] of the queries `queries` (indices into the query list).
fn chunk_ranks(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    gallery: &PreparedGallery<f64>,
    queries: std::ops::Range<usize>,
) -> Vec<Vec<u64>> {
    let query_rows = &qg.query_rows()[queries];
    let positives =
        sweep(emb, query_rows, qg.gallery_rows(), gallery, &PositiveScores { qg, query_rows });
    let positives: Vec<Vec<(f64, u32)>> = positives
        .into_iter()
        .map(|mut scores| {
            scores.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            scores
        })
        .collect();
    let counter = NegativesBelow { qg, query_rows, positives: &positives };
    let below = sweep(emb, query_rows, qg.gallery_rows(), gallery, &counter);
    below
        .into_iter()
        .map(|counts| {
            // counts[j]: negatives scoring in (score_{j-1}, score_j]; ranks accumulate them.
            let mut negatives = 0u64;
            counts
                .iter()
                .enumerate()
                .map(|(j, &c)| {
                    negatives += c;
                    j as u64 + 1 + negatives
                })
                .collect()
        })
        .collect()
}

/// Visits the pairs of a tile that are not hidden: `f(query index, gallery row, score)`, where
/// the query index is into the tile's query list. A mirrored tile is visited both ways.
fn for_each_pair<F: FnMut(usize, u32, u32, f64)>(
    qg: &QueryGallery,
    query_rows: &[u32],
    tile: &Block<'_, f64>,
    mut f: F,
) {
    let gallery_rows = &qg.gallery_rows()[tile.gallery.clone()];
    for (i, query) in tile.queries.clone().enumerate() {
        let q_row = query_rows[query];
        for (j, (&score, &g_row)) in tile.row(i).iter().zip(gallery_rows).enumerate() {
            if !qg.is_hidden(q_row, g_row) {
                f(query, q_row, g_row, score);
            }
            // Element (i, j) is also the pair (query tile.gallery.start + j, gallery `query`).
            if tile.mirrored && !qg.is_hidden(g_row, q_row) {
                f(tile.gallery.start + j, g_row, q_row, score);
            }
        }
    }
}

/// First pass: the (score, gallery row) of each query's positives.
struct PositiveScores<'a> {
    qg: &'a QueryGallery,
    query_rows: &'a [u32],
}

impl BlockVisitor<f64> for PositiveScores<'_> {
    type Acc = Vec<Vec<(f64, u32)>>;

    fn empty(&self) -> Self::Acc {
        vec![Vec::new(); self.query_rows.len()]
    }

    fn visit(&self, acc: &mut Self::Acc, tile: &Block<'_, f64>) {
        for_each_pair(self.qg, self.query_rows, tile, |q, q_row, g_row, score| {
            if self.qg.label(q_row) == self.qg.label(g_row) {
                acc[q].push((score, g_row));
            }
        });
    }

    fn merge(&self, mut a: Self::Acc, b: Self::Acc) -> Self::Acc {
        for (x, y) in a.iter_mut().zip(b) {
            x.extend(y);
        }
        a
    }
}

/// Second pass: per query, how many negatives fall in each interval between its sorted
/// positives in (score, gallery row) order (`counts[j]`: after positive j − 1 and before
/// positive j; after the last is not kept).
struct NegativesBelow<'a> {
    qg: &'a QueryGallery,
    query_rows: &'a [u32],
    positives: &'a [Vec<(f64, u32)>],
}

impl BlockVisitor<f64> for NegativesBelow<'_> {
    type Acc = Vec<Vec<u64>>;

    fn empty(&self) -> Self::Acc {
        self.positives.iter().map(|p| vec![0; p.len()]).collect()
    }

    fn visit(&self, acc: &mut Self::Acc, tile: &Block<'_, f64>) {
        for_each_pair(self.qg, self.query_rows, tile, |q, q_row, g_row, score| {
            let positives = &self.positives[q];
            let before = |p: &(f64, u32)| p.0 < score || (p.0 == score && p.1 < g_row);
            match positives.last() {
                Some(last) if !before(last) && self.qg.label(q_row) != self.qg.label(g_row) => {
                    acc[q][positives.partition_point(before)] += 1;
                }
                _ => {}
            }
        });
    }

    fn merge(&self, mut a: Self::Acc, b: Self::Acc) -> Self::Acc {
        for (x, y) in a.iter_mut().zip(b) {
            x.iter_mut().zip(y).for_each(|(x, y)| *x += y);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Ranks by sorting each query's whole list by (f64 distance, gallery row).
    fn brute_force(data: &[f32], dim: usize, qg: &QueryGallery) -> Vec<Vec<u64>> {
        let emb = Embeddings::new(data, qg.n_rows(), dim).unwrap();
        qg.query_rows()
            .iter()
            .map(|&q| {
                let mut list: Vec<(f64, u32, bool)> = qg
                    .gallery_rows()
                    .iter()
                    .filter(|&&g| !qg.is_hidden(q, g))
                    .map(|&g| {
                        let (a, b) = (emb.row(q as usize), emb.row(g as usize));
                        let d: f64 = a
                            .iter()
                            .zip(b)
                            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                            .sum();
                        (d, g, qg.label(g) == qg.label(q))
                    })
                    .collect();
                list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                (1..=list.len() as u64).zip(&list).filter(|(_, p)| p.2).map(|(r, _)| r).collect()
            })
            .collect()
    }

    fn same(got: Vec<Vec<u64>>, want: Vec<Vec<u64>>) {
        assert_eq!(got.len(), want.len());
        for (q, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "query {q}");
        }
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn ranks_equal_sorting_the_whole_list() {
        let (n, dim) = (700, 5);
        let data = pseudo_random(n * dim, 7);
        let labels: Vec<u32> = (0..n as u32).map(|i| i % 37).collect();
        // Every row both query and gallery (the symmetric, mirrored sweep).
        let both = QueryGallery::new(labels.clone(), &vec![true; n], &vec![true; n]).unwrap();
        let emb = Embeddings::new(&data, n, dim).unwrap();
        same(positive_ranks(&emb, &both, Distance::Euclidean), brute_force(&data, dim, &both));
        // Separate queries and gallery.
        let is_query: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let is_gallery: Vec<bool> = (0..n).map(|i| i % 3 != 0 || i % 2 == 0).collect();
        let split = QueryGallery::new(labels, &is_query, &is_gallery).unwrap();
        same(positive_ranks(&emb, &split, Distance::Euclidean), brute_force(&data, dim, &split));
        // Queries in chunks of at most 50 pairs (one per chunk when a query has more).
        for max_pairs in [1, 50] {
            same(
                ranks_in_chunks(&emb, &both, Distance::Euclidean, max_pairs),
                brute_force(&data, dim, &both),
            );
        }
    }

    /// A negative at exactly the positive's distance ranks before it only when its gallery
    /// index is lower, as `retrieve` orders ties.
    #[test]
    fn ties_go_by_gallery_index() {
        // Query row 0; gallery rows 1 and 2 coincide; row 3 farther away.
        let data = [0.0f32, 0.0, 1.0, 0.0, 1.0, 0.0, 5.0, 0.0];
        let emb = Embeddings::new(&data, 4, 2).unwrap();
        let roles = ([true, false, false, false], [false, true, true, true]);
        let positive_second = QueryGallery::new(vec![0, 1, 0, 1], &roles.0, &roles.1).unwrap();
        assert_eq!(positive_ranks(&emb, &positive_second, Distance::Euclidean), vec![vec![2]]);
        let positive_first = QueryGallery::new(vec![0, 0, 1, 1], &roles.0, &roles.1).unwrap();
        assert_eq!(positive_ranks(&emb, &positive_first, Distance::Euclidean), vec![vec![1]]);
    }
}
