//! The blocked sweep over query x gallery: distance tiles of at most
//! `QUERY_BLOCK x GALLERY_BLOCK` are computed with one GEMM each and handed to a visitor, so the
//! full query x gallery matrix never exists. Query blocks run in parallel with the `parallel`
//! feature; each worker folds its blocks into its own accumulator.

use std::ops::Range;

use super::distance::{Distance, NORM_EPS};
use super::embeddings::Embeddings;
use super::gemm::GemmScalar;

/// Queries per block (rows of a tile).
pub(crate) const QUERY_BLOCK: usize = 256;
/// Gallery items per tile (columns of a tile).
pub(crate) const GALLERY_BLOCK: usize = 2048;

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
            gallery: Prepared {
                rows: Vec::new(),
                sq_norms: Vec::new(),
            },
            max_sq_norm: 0.0,
        };
        prepared.gallery = prepared.transform(emb, gallery_rows);
        prepared.max_sq_norm = prepared
            .gallery
            .sq_norms
            .iter()
            .map(|s| s.to_f64())
            .fold(0.0, f64::max);
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
        Prepared {
            rows: out,
            sq_norms,
        }
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
pub(crate) struct Tile<'a, S> {
    /// Query indices (into the query list) of the tile's rows.
    pub(crate) queries: Range<usize>,
    /// Gallery indices of the tile's columns.
    pub(crate) gallery: Range<usize>,
    /// `[queries.len(), gallery.len()]`, row-major. Euclidean: squared distance (≥ 0);
    /// cosine: the distance `1 − q̂·ĝ` clamped to `[0, 2]`. Hidden pairs are not masked here.
    pub(crate) scores: &'a [S],
    /// Squared norms of the tile's prepared queries, `[queries.len()]`.
    pub(crate) query_sq_norms: &'a [S],
    /// Squared norms of the tile's prepared gallery items, `[gallery.len()]`.
    pub(crate) gallery_sq_norms: &'a [S],
}

impl<S: GemmScalar> Tile<'_, S> {
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

/// What a sweep does with its tiles.
pub(crate) trait TileVisitor<S>: Sync {
    /// State for one query block while its gallery tiles stream by.
    type Block;
    /// What a worker folds finished blocks into.
    type Acc: Send;
    fn start(&self, queries: Range<usize>) -> Self::Block;
    fn visit(&self, acc: &mut Self::Acc, block: &mut Self::Block, tile: &Tile<'_, S>);
    fn empty(&self) -> Self::Acc;
    fn finish(&self, acc: &mut Self::Acc, block: Self::Block);
    #[cfg_attr(not(feature = "parallel"), allow(dead_code))]
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
}

/// Streams every query block against every gallery tile through `visitor`.
pub(crate) fn sweep<S: GemmScalar, V: TileVisitor<S>>(
    emb: &Embeddings<'_>,
    query_rows: &[u32],
    gallery: &PreparedGallery<S>,
    visitor: &V,
) -> V::Acc {
    let n_blocks = query_rows.len().div_ceil(QUERY_BLOCK);
    let run_block = |acc: &mut V::Acc, block: usize| {
        let queries = block * QUERY_BLOCK..((block + 1) * QUERY_BLOCK).min(query_rows.len());
        let prepared = gallery.transform(emb, &query_rows[queries.clone()]);
        let mut state = visitor.start(queries.clone());
        let mut scores = vec![S::default(); queries.len() * GALLERY_BLOCK.min(gallery.len())];
        for g_start in (0..gallery.len()).step_by(GALLERY_BLOCK) {
            let g_range = g_start..(g_start + GALLERY_BLOCK).min(gallery.len());
            let tile_scores = &mut scores[..queries.len() * g_range.len()];
            fill_scores(gallery, &prepared, g_range.clone(), tile_scores);
            let g_range_norms = g_range.clone();
            let tile = Tile {
                queries: queries.clone(),
                gallery: g_range,
                scores: tile_scores,
                query_sq_norms: &prepared.sq_norms,
                gallery_sq_norms: &gallery.gallery.sq_norms[g_range_norms],
            };
            visitor.visit(acc, &mut state, &tile);
        }
        visitor.finish(acc, state);
    };

    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        (0..n_blocks)
            .into_par_iter()
            .fold(
                || visitor.empty(),
                |mut acc, block| {
                    run_block(&mut acc, block);
                    acc
                },
            )
            .reduce(|| visitor.empty(), |a, b| visitor.merge(a, b))
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut acc = visitor.empty();
        for block in 0..n_blocks {
            run_block(&mut acc, block);
        }
        acc
    }
}

/// One GEMM, then the score formula, in place.
fn fill_scores<S: GemmScalar>(
    gallery: &PreparedGallery<S>,
    queries: &Prepared<S>,
    g_range: Range<usize>,
    out: &mut [S],
) {
    let dim = gallery.dim;
    let (m, n) = (queries.sq_norms.len(), g_range.len());
    let g_rows = &gallery.gallery.rows[g_range.start * dim..g_range.end * dim];
    S::matmul_transposed(&queries.rows, g_rows, out, m, n, dim);
    let g_norms = &gallery.gallery.sq_norms[g_range];
    for (row, &q_norm) in out.chunks_exact_mut(n).zip(&queries.sq_norms) {
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
