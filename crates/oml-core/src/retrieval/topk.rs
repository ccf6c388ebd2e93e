//! Exact top-k: float32 GEMM tiles pick candidates with a proven error margin, then the
//! candidates are re-ranked by the f64-accumulated distance and sorted by
//! (distance, gallery index).

use super::blocked::{Block, BlockVisitor, PreparedGallery, sweep};
use super::distance::Distance;
use super::embeddings::Embeddings;
use super::error::RetrievalError;
use super::query_gallery::{QueryGallery, row_id};
use super::results::{RetrievalResults, RetrievalResultsBuilder};

/// Scores tested at once before looking at each.
const CHUNK: usize = 16;

/// Unit roundoff of f32.
const F32_UNIT_ROUNDOFF: f64 = f32::EPSILON as f64 / 2.0;

/// Retrieves the `top_k` nearest gallery items of every query.
///
/// Per query: gallery items hidden from it (itself, its sequence: see [`QueryGallery`]) are
/// never retrieved, so a query retrieves `min(top_k, n_retrievable)` items (possibly none).
/// Distances are exact to float32 ([`Distance::between`]) and ties are broken by gallery index,
/// so results are deterministic. (OML orders ties as `torch.topk` happens to, which is not
/// specified; its distances carry the error of `cdist`'s matrix-product formula.)
///
/// Memory is `O(gallery x dim + block tiles)`: the query x gallery matrix is never built.
pub fn retrieve(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    top_k: usize,
    distance: Distance,
) -> Result<RetrievalResults, RetrievalError> {
    if top_k == 0 {
        return Err(RetrievalError::ZeroTopK);
    }
    if emb.rows() != qg.n_rows() {
        return Err(RetrievalError::LengthMismatch {
            what: "the query/gallery description",
            got: qg.n_rows(),
            expected: emb.rows(),
        });
    }
    let gallery = PreparedGallery::<f32>::new(emb, qg.gallery_rows(), distance);
    let tolerances = gallery
        .sq_norms_of(emb, qg.query_rows())
        .into_iter()
        .map(|q_sq| tolerance(distance, emb.dim(), q_sq, gallery.max_sq_norm()))
        .collect();
    let visitor = TopKVisitor { emb, qg, k: top_k, distance, tolerances };
    let candidates = sweep(emb, qg.query_rows(), qg.gallery_rows(), &gallery, &visitor);

    #[cfg(feature = "parallel")]
    let hits: Vec<Hits> = {
        use rayon::prelude::*;
        candidates.into_par_iter().enumerate().map(|(q, c)| visitor.rerank(q, c)).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let hits: Vec<Hits> =
        candidates.into_iter().enumerate().map(|(q, c)| visitor.rerank(q, c)).collect();

    let by_label = qg.gallery_by_label();
    let mut builder = RetrievalResultsBuilder::new(qg.gallery_rows().len());
    for (query, (ids, dists)) in hits.into_iter().enumerate() {
        builder.push(&ids, &dists, &qg.gallery_positives(query, &by_label))?;
    }
    Ok(builder.build())
}

/// Twice a bound on the f32 tile score error: any item of the exact top k has an approximate
/// score within this of the k-th smallest approximate score. (Dot product of `dim` terms:
/// `dim·u·‖q‖‖g‖`; rounding of the prepared rows, norms and the final sum add a few
/// `u·(‖q‖² + ‖g‖²)`.)
fn tolerance(distance: Distance, dim: usize, query_sq_norm: f64, max_gallery_sq_norm: f64) -> f32 {
    let scale = match distance {
        Distance::Euclidean => query_sq_norm + max_gallery_sq_norm,
        Distance::Cosine => 2.0,
    };
    let tol = (2.0 * (dim as f64 + 8.0) * F32_UNIT_ROUNDOFF * scale) as f32;
    tol.max(f32::MIN_POSITIVE)
}

struct TopKVisitor<'a> {
    emb: &'a Embeddings<'a>,
    qg: &'a QueryGallery,
    k: usize,
    distance: Distance,
    /// Per query, see [`tolerance`].
    tolerances: Vec<f32>,
}

type Hits = (Vec<u32>, Vec<f32>);

impl TopKVisitor<'_> {
    /// Exact distances for the final candidates, sorted by (distance, gallery index), top k.
    fn rerank(&self, query: usize, candidates: Candidates) -> Hits {
        let q_row = self.qg.query_rows()[query] as usize;
        let q = self.emb.row(q_row);
        let mut exact: Vec<(f32, u32)> = candidates
            .finish()
            .into_iter()
            .map(|(_, g)| {
                let g_row = self.qg.gallery_rows()[g as usize] as usize;
                (self.distance.between(q, self.emb.row(g_row)), g)
            })
            .collect();
        exact.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        exact.truncate(self.k);
        exact.into_iter().map(|(d, g)| (g, d)).unzip()
    }
}

impl BlockVisitor<f32> for TopKVisitor<'_> {
    /// Candidates of every query, indexed like the query list.
    type Acc = Vec<Candidates>;

    fn empty(&self) -> Self::Acc {
        self.tolerances.iter().map(|&tol| Candidates::new(self.k, tol)).collect()
    }

    fn visit(&self, acc: &mut Self::Acc, tile: &Block<'_, f32>) {
        let (query_rows, gallery_rows) = (self.qg.query_rows(), self.qg.gallery_rows());
        let cols = &gallery_rows[tile.gallery.clone()];
        // Bounds of the column queries of a mirrored tile, kept in step with their candidates.
        let mut col_bounds: Vec<f32> = if tile.mirrored {
            tile.gallery.clone().map(|q| acc[q].bound).collect()
        } else {
            Vec::new()
        };
        for (i, query) in tile.queries.clone().enumerate() {
            let q_row = query_rows[query];
            let row = tile.row(i);
            let mut bound = acc[query].bound;
            // Most scores are far above the bound: test a chunk at a time (vectorised), then
            // look closer only at chunks with a hit.
            for (c, chunk) in row.chunks(CHUNK).enumerate() {
                if !chunk.iter().fold(false, |hit, &s| hit | (s <= bound)) {
                    continue;
                }
                for (jj, &score) in chunk.iter().enumerate() {
                    let j = c * CHUNK + jj;
                    if score <= bound && !self.qg.is_hidden(q_row, cols[j]) {
                        acc[query].push(score, row_id(tile.gallery.start + j));
                        bound = acc[query].bound;
                    }
                }
            }
            if tile.mirrored {
                // Element (i, j) is also gallery item `query` for query `tile.gallery.start + j`.
                for (c, (chunk, bounds)) in
                    row.chunks(CHUNK).zip(col_bounds.chunks_mut(CHUNK)).enumerate()
                {
                    if !chunk.iter().zip(bounds.iter()).fold(false, |hit, (&s, &b)| hit | (s <= b))
                    {
                        continue;
                    }
                    for (jj, (&score, b)) in chunk.iter().zip(bounds.iter_mut()).enumerate() {
                        let j = c * CHUNK + jj;
                        if score <= *b && !self.qg.is_hidden(cols[j], q_row) {
                            let other = tile.gallery.start + j;
                            acc[other].push(score, row_id(query));
                            *b = acc[other].bound;
                        }
                    }
                }
            }
        }
    }

    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc {
        a.into_iter().zip(b).map(|(a, b)| a.absorb(b)).collect()
    }
}

/// Candidates of one query: every item whose approximate score is within `tol` of the k-th
/// smallest seen so far. Pruned when it doubles, so pushes are amortised O(1).
#[derive(Debug)]
struct Candidates {
    k: usize,
    items: Vec<(f32, u32)>,
    /// Items scoring above this cannot enter the top k.
    bound: f32,
    tol: f32,
    prune_at: usize,
}

impl Candidates {
    fn new(k: usize, tol: f32) -> Self {
        Self { k, items: Vec::new(), bound: f32::INFINITY, tol, prune_at: (2 * k).max(64) }
    }

    fn push(&mut self, score: f32, gallery: u32) {
        self.items.push((score, gallery));
        if self.items.len() >= self.prune_at {
            self.prune();
        }
    }

    fn prune(&mut self) {
        if self.items.len() > self.k {
            let (_, kth, _) =
                self.items.select_nth_unstable_by(self.k - 1, |a, b| a.0.total_cmp(&b.0));
            // Round the bound up so the margin survives f32 rounding of the sum.
            self.bound = self.bound.min((kth.0 + self.tol).next_up());
            let bound = self.bound;
            self.items.retain(|&(s, _)| s <= bound);
        }
        self.prune_at = (2 * self.items.len()).max(2 * self.k).max(64);
    }

    /// Both sets of candidates of the same query (from two workers).
    fn absorb(mut self, other: Self) -> Self {
        if self.items.is_empty() {
            return Self { bound: self.bound.min(other.bound), ..other };
        }
        self.bound = self.bound.min(other.bound);
        self.items.extend(other.items);
        self.prune();
        self
    }

    /// The final candidate set.
    fn finish(mut self) -> Vec<(f32, u32)> {
        self.prune();
        self.items
    }
}
