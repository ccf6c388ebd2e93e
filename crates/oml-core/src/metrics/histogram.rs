//! Histograms of query-gallery distances, positive pairs (same label) and negative pairs
//! apart: the picture of how well an embedding separates identities (the browser app's and the
//! training report's "distance histograms").

use serde::Serialize;

use crate::retrieval::{Distance, Embeddings, QueryGallery};

/// Counts of query-gallery distances of positive and negative pairs in `bins` equal-width bins
/// from 0 to the largest distance seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistanceHistogram {
    /// `bins + 1` bin edges, from 0.
    pub edges: Vec<f32>,
    /// Positive pairs per bin.
    pub positive: Vec<u64>,
    /// Negative pairs per bin.
    pub negative: Vec<u64>,
}

/// The distance histogram of `qg`'s query-gallery pairs (a row never paired with itself),
/// over at most `max_queries` queries taken evenly (every ⌈n/max⌉-th), so the cost stays
/// bounded: `max_queries × gallery × dim` work in two passes (the range, then the counts), and
/// no memory beyond the bins.
pub fn distance_histogram(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    distance: Distance,
    bins: usize,
    max_queries: usize,
) -> DistanceHistogram {
    let bins = bins.max(1);
    let queries = qg.query_rows();
    let step = queries.len().div_ceil(max_queries.max(1)).max(1);
    let pairs = |visit: &mut dyn FnMut(f32, bool)| {
        for &q in queries.iter().step_by(step) {
            for &g in qg.gallery_rows() {
                if q != g {
                    let d = distance.between(emb.row(q as usize), emb.row(g as usize));
                    visit(d, qg.label(q) == qg.label(g));
                }
            }
        }
    };
    let mut max = 0.0f32;
    pairs(&mut |d, _| {
        if d.is_finite() {
            max = max.max(d);
        }
    });
    let width = max.max(f32::MIN_POSITIVE) / bins as f32;
    let (mut positive, mut negative) = (vec![0u64; bins], vec![0u64; bins]);
    pairs(&mut |d, same| {
        // A NaN distance lands in bin 0 (`as usize` saturates), never out of range.
        let bin = ((d / width) as usize).min(bins - 1);
        if same { positive[bin] += 1 } else { negative[bin] += 1 }
    });
    let edges = (0..=bins).map(|i| i as f32 * width).collect();
    DistanceHistogram { edges, positive, negative }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pairs_land_in_their_bins_and_self_pairs_are_left_out() {
        // 1-d points; labels 0 0 1; every row is a query and in the gallery.
        let data = [0.0f32, 1.0, 4.0];
        let emb = Embeddings::new(&data, 3, 1).unwrap();
        let qg = QueryGallery::new(vec![0, 0, 1], &[true; 3], &[true; 3]).unwrap();
        let h = distance_histogram(&emb, &qg, Distance::Euclidean, 4, 100);
        assert_eq!(h.edges, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        // Positives: (0,1) both ways, d = 1 -> bin 1. Negatives: d = 4 twice (0-2, 2-0) -> last
        // bin; d = 3 twice (1-2, 2-1) -> bin 3.
        assert_eq!(h.positive, vec![0, 2, 0, 0]);
        assert_eq!(h.negative, vec![0, 0, 0, 4]);
        // Every second query (rows 0 and 2): row 0 has a positive and a negative, row 2 two
        // negatives.
        let h = distance_histogram(&emb, &qg, Distance::Euclidean, 4, 2);
        assert_eq!((h.positive.iter().sum::<u64>(), h.negative.iter().sum::<u64>()), (1, 3));
    }
}
