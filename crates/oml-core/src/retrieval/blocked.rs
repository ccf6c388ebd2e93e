//! The blocked sweep over query x gallery: distance tiles of at most
//! `QUERY_BLOCK x GALLERY_BLOCK` are computed with one GEMM each and handed to a visitor, so the
//! full query x gallery matrix never exists. Work items run in parallel with the `parallel`
//! feature; each worker folds its tiles into its own accumulator.
//!
//! When the queries are exactly the gallery (OML's usual validation set: every row both), the
//! distance matrix is symmetric: only tiles on and above the diagonal are computed, and each
//! off-diagonal tile is visited as "mirrored", standing for its transpose too. That halves the
//! GEMM work.

use std::ops::Range;

use super::distance::{Distance, NORM_EPS};
use super::embeddings::Embeddings;
use super::gemm::GemmScalar;

/// Queries per block (rows of a tile).
pub(crate) const QUERY_BLOCK: usize = 256;
/// Gallery items per tile (columns of a tile).
pub(crate) const GALLERY_BLOCK: usize = 2048;
/// Rows and columns of a tile when queries and gallery are the same rows.
pub(crate) const SYMMETRIC_BLOCK: usize = 512;

/// Rows transformed for the tile formula, with their squared norms.
///
/// Euclidean: rows are centred on the gallery mean (distances do not change, and the
/// `‖q‖² + ‖g‖² − 2 q·g` formula loses less to cancellation). Cosine: rows are L2-normalised.
#[derive(Debug)]
pub(crate) struct Prepared<S> {
    pub(crate) rows: Vec<S>,
    pub(crate) sq_norms: Vec<S>,
}

/// The transform shared by queries and gallery, and the prepared gallery.
#[derive(Debug)]
pub(crate) struct PreparedGallery<S> {
    distance: Distance,
    dim: usize,
    shift: Vec<f64>,
    gallery: Prepared<S>,
    max_sq_norm: f64,
}

impl<S: GemmScalar> PreparedGallery<S> {
    pub(crate) fn new(emb: &Embeddings<'_>, gallery_rows: &[u32], distance: Distance) -> Self {
        let dim = emb.dim();
        let mut shift = vec![0.0f64; dim];
        if distance == Distance::Euclidean {
            for &r in gallery_rows {
                for (m, &v) in shift.iter_mut().zip(emb.row(r as usize)) {
                    *m += f64::from(v);
                }
            }
            let n = gallery_rows.len().max(1) as f64;
            shift.iter_mut().for_each(|m| *m /= n);
        }
        let mut prepared = Self {
            distance,
            dim,
            shift,
            gallery: Prepared { rows: Vec::new(), sq_norms: Vec::new() },
            max_sq_norm: 0.0,
        };
        prepared.gallery = prepared.transform(emb, gallery_rows);
        prepared.max_sq_norm =
            prepared.gallery.sq_norms.iter().map(|s| s.to_f64()).fold(0.0, f64::max);
        prepared
    }

    /// The transform applied to some embedding rows (computed in f64, rounded once to `S`).
    pub(crate) fn transform(&self, emb: &Embeddings<'_>, rows: &[u32]) -> Prepared<S> {
        let mut out = Vec::with_capacity(rows.len() * self.dim);
        let mut sq_norms = Vec::with_capacity(rows.len());
        let mut buf = vec![0.0f64; self.dim];
        for &r in rows {
            for ((b, &v), s) in buf.iter_mut().zip(emb.row(r as usize)).zip(&self.shift) {
                *b = f64::from(v) - s;
            }
            if self.distance == Distance::Cosine {
                let norm: f64 = buf.iter().map(|v| v * v).sum::<f64>().sqrt();
                let scale = 1.0 / norm.max(NORM_EPS);
                buf.iter_mut().for_each(|v| *v *= scale);
            }
            let start = out.len();
            out.extend(buf.iter().map(|&v| S::from_f64(v)));
            let sq: f64 = out[start..].iter().map(|v| v.to_f64() * v.to_f64()).sum();
            sq_norms.push(S::from_f64(sq));
        }
        Prepared { rows: out, sq_norms }
    }

    /// Squared norms the transform gives these rows (without storing the rows).
    pub(crate) fn sq_norms_of(&self, emb: &Embeddings<'_>, rows: &[u32]) -> Vec<f64> {
        rows.iter()
            .map(|&r| match self.distance {
                Distance::Euclidean => emb
                    .row(r as usize)
                    .iter()
                    .zip(&self.shift)
                    .map(|(&v, s)| (f64::from(v) - s).powi(2))
                    .sum(),
                Distance::Cosine => 1.0,
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.gallery.sq_norms.len()
    }

    /// Largest squared norm of a prepared gallery row (for error bounds).
    pub(crate) fn max_sq_norm(&self) -> f64 {
        self.max_sq_norm
    }
}

/// One tile of scores.
#[derive(Debug)]
pub(crate) struct Block<'a, S> {
    /// Query indices (into the query list) of the tile's rows.
    pub(crate) queries: Range<usize>,
    /// Gallery indices of the tile's columns.
    pub(crate) gallery: Range<usize>,
    /// `[queries.len(), gallery.len()]`, row-major. Euclidean: squared distance (≥ 0);
    /// cosine: the distance `1 − q̂·ĝ` clamped to `[0, 2]`. Hidden pairs are not masked here.
    pub(crate) scores: &'a [S],
    /// Squared norms of the tile's prepared gallery items, `[gallery.len()]`.
    pub(crate) gallery_sq_norms: &'a [S],
    /// Squared norms of the tile's prepared queries, `[queries.len()]`.
    pub(crate) query_sq_norms: &'a [S],
    /// Queries and gallery are the same list (query `i` is gallery item `i`) and this tile is
    /// off the diagonal: element `(a, b)` is also the pair (query `b`, gallery item `a`).
    pub(crate) mirrored: bool,
}

impl<S: GemmScalar> Block<'_, S> {
    /// The row of scores of query `queries.start + i`.
    pub(crate) fn row(&self, i: usize) -> &[S] {
        let width = self.gallery.len();
        &self.scores[i * width..(i + 1) * width]
    }
}

/// Converts a score to the reported distance (f64 so that f64 tiles keep their precision).
pub(crate) fn score_to_distance(distance: Distance, score: f64) -> f64 {
    match distance {
        Distance::Euclidean => score.sqrt(),
        Distance::Cosine => score,
    }
}

/// What a sweep does with its tiles. Each worker folds tiles into its own accumulator; the
/// accumulators are merged at the end.
pub(crate) trait BlockVisitor<S>: Sync {
    type Acc: Send;
    fn empty(&self) -> Self::Acc;
    fn visit(&self, acc: &mut Self::Acc, tile: &Block<'_, S>);
    #[cfg_attr(not(feature = "parallel"), allow(dead_code))]
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
}

/// Streams every (query, gallery) pair through `visitor`, tile by tile. `gallery` must have been
/// prepared from `gallery_rows`.
pub(crate) fn sweep<S: GemmScalar, V: BlockVisitor<S>>(
    emb: &Embeddings<'_>,
    query_rows: &[u32],
    gallery_rows: &[u32],
    gallery: &PreparedGallery<S>,
    visitor: &V,
) -> V::Acc {
    if query_rows == gallery_rows {
        let n_blocks = gallery.len().div_ceil(SYMMETRIC_BLOCK);
        let pairs: Vec<(usize, usize)> =
            (0..n_blocks).flat_map(|i| (i..n_blocks).map(move |j| (i, j))).collect();
        let block = |i: usize| i * SYMMETRIC_BLOCK..((i + 1) * SYMMETRIC_BLOCK).min(gallery.len());
        let mut scores = Vec::new();
        let run = |acc: &mut V::Acc, scores: &mut Vec<S>, &(i, j): &(usize, usize)| {
            let (rows, cols) = (block(i), block(j));
            let dim = gallery.dim;
            let g = &gallery.gallery;
            let q_rows = &g.rows[rows.start * dim..rows.end * dim];
            scores.resize(rows.len() * cols.len(), S::default());
            fill_scores(gallery, q_rows, &g.sq_norms[rows.clone()], cols.clone(), scores);
            let tile = Block {
                queries: rows.clone(),
                gallery: cols.clone(),
                scores,
                gallery_sq_norms: &g.sq_norms[cols],
                query_sq_norms: &g.sq_norms[rows],
                mirrored: i != j,
            };
            visitor.visit(acc, &tile);
        };
        return fold_items(&pairs, visitor, &mut scores, run);
    }

    let blocks: Vec<usize> = (0..query_rows.len().div_ceil(QUERY_BLOCK)).collect();
    let mut scores = Vec::new();
    let run = |acc: &mut V::Acc, scores: &mut Vec<S>, &block: &usize| {
        let queries = block * QUERY_BLOCK..((block + 1) * QUERY_BLOCK).min(query_rows.len());
        let prepared = gallery.transform(emb, &query_rows[queries.clone()]);
        for g_start in (0..gallery.len()).step_by(GALLERY_BLOCK) {
            let cols = g_start..(g_start + GALLERY_BLOCK).min(gallery.len());
            scores.resize(queries.len() * cols.len(), S::default());
            fill_scores(gallery, &prepared.rows, &prepared.sq_norms, cols.clone(), scores);
            let tile = Block {
                queries: queries.clone(),
                gallery: cols.clone(),
                scores,
                gallery_sq_norms: &gallery.gallery.sq_norms[cols],
                query_sq_norms: &prepared.sq_norms,
                mirrored: false,
            };
            visitor.visit(acc, &tile);
        }
    };
    fold_items(&blocks, visitor, &mut scores, run)
}

/// Runs `run` on every item, in parallel with the `parallel` feature (one accumulator and one
/// score buffer per worker), and merges the accumulators.
fn fold_items<S, V, T, F>(items: &[T], visitor: &V, scores: &mut Vec<S>, run: F) -> V::Acc
where
    S: GemmScalar,
    V: BlockVisitor<S>,
    T: Sync,
    F: Fn(&mut V::Acc, &mut Vec<S>, &T) + Sync,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        let _ = scores;
        // One contiguous run of items per thread, one accumulator each (they can be large:
        // more runs measured slower, the merges cost more than stealing saves).
        let per_worker = items.len().div_ceil(rayon::current_num_threads()).max(1);
        items
            .par_chunks(per_worker)
            .map(|chunk| {
                let (mut acc, mut buf) = (visitor.empty(), Vec::new());
                for item in chunk {
                    run(&mut acc, &mut buf, item);
                }
                acc
            })
            .reduce(|| visitor.empty(), |a, b| visitor.merge(a, b))
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut acc = visitor.empty();
        for item in items {
            run(&mut acc, scores, item);
        }
        acc
    }
}

/// One GEMM, then the score formula, in place: `out[m, n]` for the prepared query rows
/// `[m, dim]` against gallery columns `cols`.
fn fill_scores<S: GemmScalar>(
    gallery: &PreparedGallery<S>,
    query_rows: &[S],
    query_sq_norms: &[S],
    cols: Range<usize>,
    out: &mut [S],
) {
    let dim = gallery.dim;
    let (m, n) = (query_sq_norms.len(), cols.len());
    let g_rows = &gallery.gallery.rows[cols.start * dim..cols.end * dim];
    S::matmul_transposed(query_rows, g_rows, out, m, n, dim);
    let g_norms = &gallery.gallery.sq_norms[cols];
    for (row, &q_norm) in out.chunks_exact_mut(n).zip(query_sq_norms) {
        match gallery.distance {
            Distance::Euclidean => {
                for (v, &g_norm) in row.iter_mut().zip(g_norms) {
                    *v = S::euclidean_score(q_norm, g_norm, *v);
                }
            }
            Distance::Cosine => row.iter_mut().for_each(|v| *v = S::cosine_score(*v)),
        }
    }
}
