//! What the reports draw: the CMC curve and the worst queries.

use crate::retrieval::RetrievalResults;

/// CMC@k for k = 1..=`max_k`: the share of queries with a correct item among their first k
/// results (OML's cmc@k at every k). `results` should hold at least `max_k` items per query;
/// a query with fewer counts only what it holds.
pub fn cmc_curve(results: &RetrievalResults, max_k: usize) -> Vec<f64> {
    let mut curve = vec![0.0; max_k];
    for q in results.iter() {
        if let Some(first) = q.is_correct().iter().position(|&c| c)
            && let Some(rest) = curve.get_mut(first..)
        {
            rest.iter_mut().for_each(|v| *v += 1.0);
        }
    }
    let n = results.n_queries().max(1) as f64;
    curve.iter_mut().for_each(|v| *v /= n);
    curve
}

/// The `n` worst queries, worst first: `scores` ascending (e.g. AP@5), ties by `tie_break`
/// ascending (e.g. CMC@1) when given, then by index. NaN sorts last.
pub fn worst_queries(scores: &[f64], tie_break: Option<&[f64]>, n: usize) -> Vec<usize> {
    let second = |i: usize| tie_break.and_then(|t| t.get(i)).copied().unwrap_or(0.0);
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        scores[a].total_cmp(&scores[b]).then(second(a).total_cmp(&second(b))).then(a.cmp(&b))
    });
    order.truncate(n);
    order
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::retrieval::RetrievalResultsBuilder;

    #[test]
    fn the_curve_counts_each_query_from_its_first_correct_item() {
        let mut b = RetrievalResultsBuilder::new(4);
        // Query 0: correct at rank 2; query 1: at rank 1; query 2: never.
        b.push(&[3, 1, 2], &[0.1, 0.2, 0.3], &[1]).unwrap();
        b.push(&[0, 1, 2], &[0.1, 0.2, 0.3], &[0]).unwrap();
        b.push(&[0, 1, 2], &[0.1, 0.2, 0.3], &[3]).unwrap();
        let curve = cmc_curve(&b.build(), 3);
        let third = 1.0 / 3.0;
        assert_eq!(curve, vec![third, 2.0 * third, 2.0 * third]);
    }

    #[test]
    fn worst_first_with_ties_broken() {
        assert_eq!(worst_queries(&[0.5, 0.1, 0.5, f64::NAN], None, 3), vec![1, 0, 2]);
        assert_eq!(worst_queries(&[0.5, 0.1, 0.5], Some(&[1.0, 0.0, 0.0]), 2), vec![1, 2]);
    }
}
