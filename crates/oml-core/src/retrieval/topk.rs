//! Exact top-k: float32 GEMM tiles pick candidates with a proven error margin, then the
//! candidates are re-ranked by the f64-accumulated distance and sorted by
//! (distance, gallery index).

use std::ops::Range;

use super::distance::Distance;
use super::embeddings::Embeddings;
use super::error::RetrievalError;
use super::query_gallery::{QueryGallery, row_id};
use super::results::{RetrievalResults, RetrievalResultsBuilder};
use super::tiles::{PreparedGallery, Tile, TileVisitor, sweep};

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
    let visitor = TopKVisitor {
        emb,
        qg,
        k: top_k,
        distance,
        max_gallery_sq_norm: gallery.max_sq_norm(),
        dim: emb.dim(),
    };
    let mut blocks = sweep(emb, qg.query_rows(), &gallery, &visitor);
    blocks.sort_unstable_by_key(|(start, _)| *start);

    let by_label = qg.gallery_by_label();
    let mut builder = RetrievalResultsBuilder::new(qg.gallery_rows().len());
    let hits = blocks.into_iter().flat_map(|(_, hits)| hits);
    for (query, (ids, dists)) in hits.enumerate() {
        builder.push(&ids, &dists, &qg.gallery_positives(query, &by_label))?;
    }
    Ok(builder.build())
}

struct TopKVisitor<'a> {
    emb: &'a Embeddings<'a>,
    qg: &'a QueryGallery,
    k: usize,
    distance: Distance,
    max_gallery_sq_norm: f64,
    dim: usize,
}

type Hits = (Vec<u32>, Vec<f32>);

impl TopKVisitor<'_> {
    /// Twice a bound on the f32 tile score error for a query: any item of the exact top k
    /// has an approximate score within this of the k-th smallest approximate score.
    /// (Dot product of `dim` terms: `dim·u·‖q‖‖g‖`; rounding of the prepared rows, norms and
    /// the final sum add a few `u·(‖q‖² + ‖g‖²)`.)
    fn tolerance(&self, query_sq_norm: f32) -> f32 {
        let scale = match self.distance {
            Distance::Euclidean => f64::from(query_sq_norm) + self.max_gallery_sq_norm,
            Distance::Cosine => 2.0,
        };
        #[allow(clippy::cast_possible_truncation)]
        let tol = (2.0 * (self.dim as f64 + 8.0) * F32_UNIT_ROUNDOFF * scale) as f32;
        tol.max(f32::MIN_POSITIVE)
    }

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

impl TileVisitor<f32> for TopKVisitor<'_> {
    type Block = (usize, Vec<Candidates>);
    type Acc = Vec<(usize, Vec<Hits>)>;

    fn start(&self, queries: Range<usize>) -> Self::Block {
        (
            queries.start,
            (0..queries.len())
                .map(|_| Candidates::new(self.k))
                .collect(),
        )
    }

    fn visit(&self, _acc: &mut Self::Acc, block: &mut Self::Block, tile: &Tile<'_, f32>) {
        let gallery_rows = &self.qg.gallery_rows()[tile.gallery.clone()];
        for (i, candidates) in block.1.iter_mut().enumerate() {
            let query = tile.queries.start + i;
            let q_row = self.qg.query_rows()[query];
            let tol = self.tolerance(tile.query_sq_norms[i]);
            for ((&score, &g_row), g) in tile
                .row(i)
                .iter()
                .zip(gallery_rows)
                .zip(tile.gallery.clone())
            {
                if score <= candidates.bound && !self.qg.is_hidden(q_row, g_row) {
                    candidates.push(score, row_id(g), tol);
                }
            }
        }
    }

    fn empty(&self) -> Self::Acc {
        Vec::new()
    }

    fn finish(&self, acc: &mut Self::Acc, (start, block): Self::Block) {
        let hits = block
            .into_iter()
            .enumerate()
            .map(|(i, c)| self.rerank(start + i, c))
            .collect();
        acc.push((start, hits));
    }

    fn merge(&self, mut a: Self::Acc, b: Self::Acc) -> Self::Acc {
        a.extend(b);
        a
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
    fn new(k: usize) -> Self {
        let prune_at = (2 * k).max(64);
        Self {
            k,
            items: Vec::new(),
            bound: f32::INFINITY,
            tol: 0.0,
            prune_at,
        }
    }

    fn push(&mut self, score: f32, gallery: u32, tol: f32) {
        self.tol = tol;
        self.items.push((score, gallery));
        if self.items.len() >= self.prune_at {
            self.prune();
        }
    }

    fn prune(&mut self) {
        if self.items.len() > self.k {
            let (_, kth, _) = self
                .items
                .select_nth_unstable_by(self.k - 1, |a, b| a.0.total_cmp(&b.0));
            // Round the bound up so the margin survives f32 rounding of the sum.
            self.bound = (kth.0 + self.tol).next_up();
            let bound = self.bound;
            self.items.retain(|&(s, _)| s <= bound);
        }
        self.prune_at = (2 * self.items.len()).max(2 * self.k).max(64);
    }

    /// The final candidate set.
    fn finish(mut self) -> Vec<(f32, u32)> {
        self.prune();
        self.items
    }
}
