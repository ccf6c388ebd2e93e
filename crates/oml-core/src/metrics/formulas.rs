//! The retrieval metrics' formulas: pure functions of one query's ranked relevance (OML's
//! metrics at k) or of its positives' ranks (PML's map@R, R-precision and MRR).
//!
//! Inputs: `is_correct[i]` says whether the i-th retrieved item (nearest first) is a gallery
//! positive; `R = is_correct.len()` is how many were retrieved; `n_gt` is how many gallery
//! positives the query has in total (retrieved or not); `k ≥ 1`; `k' = min(k, R)`.
//! Formulas follow OML 4.0.0 `oml/functional/metrics.py` (`calc_cmc`, `calc_precision`,
//! `calc_map`); the two conventions they share:
//! * nothing retrievable (`n_gt == 0 && R == 0`: everything hidden by self/sequence) scores 1;
//! * positives exist but nothing was retrieved (`n_gt > 0 && R == 0`) scores 0.

/// Hits among the first `k'` retrieved items.
fn hits_at(is_correct: &[bool], k: usize) -> usize {
    is_correct.iter().take(k).filter(|&&c| c).count()
}

/// The shared edge cases; `None` when the regular formula applies.
fn edge_case(is_correct: &[bool], n_gt: usize) -> Option<f64> {
    match (n_gt, is_correct.is_empty()) {
        (0, true) => Some(1.0),
        (_, true) => Some(0.0),
        _ => None,
    }
}

/// cmc@k: 1 if any of the first `k'` retrieved items is a positive, else 0
/// (OML `calc_cmc`, `functional/metrics.py:142`). A query with no positive that retrieves
/// something scores 0.
pub fn cmc_at_k(is_correct: &[bool], n_gt: usize, k: usize) -> f64 {
    edge_case(is_correct, n_gt).unwrap_or_else(|| f64::from(u8::from(hits_at(is_correct, k) > 0)))
}

/// precision@k = hits@k' / min(n_gt, k') (OML `calc_precision`, `functional/metrics.py:198`):
/// normalised by the number of positives that *could* be in the top k', so a perfect ranking
/// scores 1 even when `n_gt < k`.
///
/// **Differs from OML** when the query has no positive but retrieves something
/// (`n_gt == 0 && R ≥ 1`): OML divides 0 by 0 and returns NaN, which then turns the mean over
/// all queries into NaN. Here it scores 0, as cmc@k and map@k do for the same query in OML.
pub fn precision_at_k(is_correct: &[bool], n_gt: usize, k: usize) -> f64 {
    if let Some(v) = edge_case(is_correct, n_gt) {
        return v;
    }
    if n_gt == 0 {
        return 0.0;
    }
    let k = k.min(is_correct.len());
    hits_at(is_correct, k) as f64 / n_gt.min(k) as f64
}

/// map@k = Σ_{i ≤ k'} precision@i · is_correct_i / hits@k' (OML `calc_map`,
/// `functional/metrics.py:292`).
///
/// OML normalises by the number of hits within the top k' (not by `min(n_gt, k)` as some
/// definitions do), so hits at ranks 2 and 4 give (1/2 + 2/4) / 2 = 0.5 whatever `n_gt` is.
/// No hit in the top k' scores 0.
pub fn map_at_k(is_correct: &[bool], n_gt: usize, k: usize) -> f64 {
    if let Some(v) = edge_case(is_correct, n_gt) {
        return v;
    }
    let (mut hits, mut sum) = (0usize, 0.0f64);
    for (i, _) in is_correct.iter().take(k).enumerate().filter(|&(_, &c)| c) {
        hits += 1;
        sum += hits as f64 / (i + 1) as f64;
    }
    if hits == 0 { 0.0 } else { sum / hits as f64 }
}

/// nDCG@k with binary relevance (not in OML 4.0.0):
/// DCG@k = Σ_{i ≤ k'} is_correct_i / log2(i + 1), IDCG@k = Σ_{i ≤ min(k, n_gt)} 1 / log2(i + 1),
/// nDCG@k = DCG@k / IDCG@k (Järvelin & Kekäläinen 2002, with the usual log2(i + 1) discount).
/// Edge cases follow OML's conventions above; a query with no positive that retrieves something
/// scores 0.
pub fn ndcg_at_k(is_correct: &[bool], n_gt: usize, k: usize) -> f64 {
    if let Some(v) = edge_case(is_correct, n_gt) {
        return v;
    }
    if n_gt == 0 {
        return 0.0;
    }
    let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 =
        is_correct.iter().take(k).enumerate().filter(|&(_, &c)| c).map(|(i, _)| discount(i)).sum();
    let idcg: f64 = (0..k.min(n_gt)).map(discount).sum();
    dcg / idcg
}

/// R-precision (PML 2.8.1 `r_precision`, `utils/accuracy_calculator.py`): with `R` the number
/// of gallery positives, the share of positives among the first `R` retrieved,
/// `#{j : rank_j ≤ R} / R`.
///
/// `ranks` are the 1-based ranks of all the query's positives in its whole ranking, ascending
/// (so `R = ranks.len()`). `None` for a query without positives: PML leaves such "lone" queries
/// out of the mean, and so do the groups here.
pub fn r_precision(ranks: &[u64]) -> Option<f64> {
    let r = ranks.len() as u64;
    (r > 0).then(|| ranks.iter().filter(|&&rank| rank <= r).count() as f64 / r as f64)
}

/// MAP@R (PML 2.8.1 `mean_average_precision` with `at_r=True`; Musgrave et al., "A Metric
/// Learning Reality Check", 2020): average precision over the first `R` retrieved, normalised
/// by `R` (not by the hits, unlike OML's map@k): `(1/R) Σ_{j : rank_j ≤ R} j / rank_j`, the
/// j-th positive being at `rank_j`. `ranks` and `None` as for [`r_precision`].
pub fn map_at_r(ranks: &[u64]) -> Option<f64> {
    let r = ranks.len() as u64;
    let sum: f64 = (1..=r)
        .zip(ranks)
        .take_while(|&(_, &rank)| rank <= r)
        .map(|(j, &rank)| j as f64 / rank as f64)
        .sum();
    (r > 0).then(|| sum / r as f64)
}

/// Reciprocal rank of the first positive (PML 2.8.1 `mean_reciprocal_rank` over the whole
/// reference set, its default `k=None`): `1 / rank_1`. `ranks` and `None` as for
/// [`r_precision`].
pub fn reciprocal_rank(ranks: &[u64]) -> Option<f64> {
    ranks.first().map(|&first| 1.0 / first as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: bool = true;
    const F: bool = false;

    #[test]
    fn cmc_looks_at_the_first_k() {
        assert_eq!(cmc_at_k(&[F, T, F], 2, 1), 0.0);
        assert_eq!(cmc_at_k(&[F, T, F], 2, 2), 1.0);
        assert_eq!(cmc_at_k(&[F, F], 1, 10), 0.0);
    }

    #[test]
    fn precision_normalises_by_possible_hits() {
        // OML docstring example: hits at 1 and 3 of 5 with n_gt = 2.
        assert_eq!(precision_at_k(&[T, F, T, F, F], 2, 1), 1.0);
        assert_eq!(precision_at_k(&[T, F, T, F, F], 2, 2), 0.5);
        assert_eq!(precision_at_k(&[T, F, T, F, F], 2, 5), 1.0);
        // Gallery shorter than k: denominator min(n_gt, R).
        assert_eq!(precision_at_k(&[F, T], 3, 5), 0.5);
    }

    #[test]
    fn map_normalises_by_hits_in_top_k() {
        assert_eq!(map_at_k(&[F, T, F, T, F], 9, 5), 0.5);
        assert_eq!(map_at_k(&[F, F, F, F, T], 1, 5), 0.2);
        assert_eq!(map_at_k(&[F, F, F], 1, 3), 0.0);
    }

    #[test]
    fn ndcg_matches_hand_computation() {
        assert_eq!(ndcg_at_k(&[T, T, F], 2, 3), 1.0);
        // Hit at rank 2 only, one positive: (1/log2 3) / 1.
        let want = 1.0 / 3f64.log2();
        assert!((ndcg_at_k(&[F, T, F], 1, 3) - want).abs() < 1e-15);
        // Two positives, hits at ranks 1 and 3, k = 3: (1 + 1/2) / (1 + 1/log2 3).
        let want = 1.5 / (1.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at_k(&[T, F, T], 2, 3) - want).abs() < 1e-15);
        assert_eq!(ndcg_at_k(&[F, F], 2, 2), 0.0);
    }

    #[test]
    fn shared_edge_cases() {
        for f in [cmc_at_k, precision_at_k, map_at_k, ndcg_at_k] {
            assert_eq!(f(&[], 0, 5), 1.0, "nothing retrievable scores 1");
            assert_eq!(f(&[], 3, 5), 0.0, "positives but nothing retrieved scores 0");
            assert_eq!(f(&[F, F], 0, 5), 0.0, "no positive, something retrieved scores 0");
        }
    }

    #[test]
    fn r_metrics_follow_pml() {
        // Positives at ranks 1, 3, 4 of R = 3: two of the first three are positives.
        assert_eq!(r_precision(&[1, 3, 4]), Some(2.0 / 3.0));
        assert_eq!(map_at_r(&[1, 3, 4]), Some((1.0 + 2.0 / 3.0) / 3.0));
        assert_eq!(reciprocal_rank(&[1, 3, 4]), Some(1.0));
        assert_eq!(map_at_r(&[2, 5]), Some(0.5 / 2.0));
        assert_eq!(reciprocal_rank(&[2, 5]), Some(0.5));
        assert_eq!(r_precision(&[3, 4]), Some(0.0));
        for f in [r_precision, map_at_r, reciprocal_rank] {
            assert_eq!(f(&[]), None, "a query without positives is left out");
        }
    }
}
