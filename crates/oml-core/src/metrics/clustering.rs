//! Agreement of a clustering with the labels: normalised and adjusted mutual information, as
//! scikit-learn 1.x computes them (`normalized_mutual_info_score` and
//! `adjusted_mutual_info_score` with `average_method="arithmetic"`), which is what PML's
//! `AccuracyCalculator` reports as NMI and AMI. Natural logarithms throughout.

use std::collections::{BTreeMap, HashMap};

/// Class sizes, cluster sizes and the non-zero cells of the contingency table, each as
/// `(n_ij, size of class i, size of cluster j)`.
struct Contingency {
    n: usize,
    rows: Vec<usize>,
    cols: Vec<usize>,
    cells: Vec<(usize, usize, usize)>,
}

impl Contingency {
    fn new(truth: &[u32], predicted: &[u32]) -> Self {
        let mut rows: HashMap<u32, usize> = HashMap::new();
        let mut cols: HashMap<u32, usize> = HashMap::new();
        let mut cells: HashMap<(u32, u32), usize> = HashMap::new();
        for (&t, &p) in truth.iter().zip(predicted) {
            *rows.entry(t).or_default() += 1;
            *cols.entry(p).or_default() += 1;
            *cells.entry((t, p)).or_default() += 1;
        }
        let cells = cells.iter().map(|(&(t, p), &nij)| (nij, rows[&t], cols[&p])).collect();
        Self {
            n: truth.len().min(predicted.len()),
            rows: rows.into_values().collect(),
            cols: cols.into_values().collect(),
            cells,
        }
    }

    /// sklearn's special case: one class and one cluster, or nothing at all, agree perfectly.
    fn trivially_equal(&self) -> bool {
        self.rows.len() == self.cols.len() && self.rows.len() <= 1
    }

    /// Mutual information of the two partitions, clipped at 0 as sklearn does.
    fn mutual_information(&self) -> f64 {
        let n = self.n as f64;
        let mi: f64 = self
            .cells
            .iter()
            .map(|&(nij, a, b)| {
                let (nij, a, b) = (nij as f64, a as f64, b as f64);
                nij / n * (n * nij / (a * b)).ln()
            })
            .sum();
        mi.max(0.0)
    }

    /// The arithmetic mean of the two entropies.
    fn mean_entropy(&self) -> f64 {
        (entropy(&self.rows, self.n) + entropy(&self.cols, self.n)) / 2.0
    }
}

/// Entropy of a partition with these part sizes.
fn entropy(sizes: &[usize], n: usize) -> f64 {
    let n = n as f64;
    -sizes.iter().map(|&s| s as f64 / n).map(|p| p * p.ln()).sum::<f64>()
}

/// NMI: `MI(U, V) / ((H(U) + H(V)) / 2)`; 1 for one class and one cluster (or no rows), 0 when
/// the mutual information is 0 otherwise (sklearn's conventions).
///
/// # Shapes
/// `truth`, `predicted`: `[N]`.
pub fn normalized_mutual_information(truth: &[u32], predicted: &[u32]) -> f64 {
    let c = Contingency::new(truth, predicted);
    if c.trivially_equal() {
        return 1.0;
    }
    let mi = c.mutual_information();
    if mi == 0.0 {
        return 0.0;
    }
    mi / c.mean_entropy()
}

/// AMI: `(MI − E[MI]) / ((H(U) + H(V)) / 2 − E[MI])`, the expectation under random
/// partitions of the same sizes (Vinh, Epps & Bailey 2010, "Information Theoretic Measures for
/// Clusterings Comparison", eq. 24a, as sklearn's `expected_mutual_information`), the
/// denominator kept at least `f64::EPSILON` away from 0 with its sign; 1 for one class and one
/// cluster (or no rows).
///
/// The expectation sums over pairs of class and cluster sizes; equal sizes are grouped, so
/// thousands of classes cost what their distinct sizes cost.
///
/// # Shapes
/// `truth`, `predicted`: `[N]`.
pub fn adjusted_mutual_information(truth: &[u32], predicted: &[u32]) -> f64 {
    let c = Contingency::new(truth, predicted);
    if c.trivially_equal() {
        return 1.0;
    }
    let emi = expected_mutual_information(&c.rows, &c.cols, c.n);
    let mut denominator = c.mean_entropy() - emi;
    denominator = if denominator < 0.0 {
        denominator.min(-f64::EPSILON)
    } else {
        denominator.max(f64::EPSILON)
    };
    (c.mutual_information() - emi) / denominator
}

/// E[MI] over partitions with row sizes `a` and column sizes `b` of `n` items.
fn expected_mutual_information(a: &[usize], b: &[usize], n: usize) -> f64 {
    // ln(k!) for k = 0..=n.
    let mut ln_fact = Vec::with_capacity(n + 1);
    let mut acc = 0.0f64;
    ln_fact.push(0.0);
    for k in 1..=n {
        acc += (k as f64).ln();
        ln_fact.push(acc);
    }
    let group = |sizes: &[usize]| {
        let mut m: BTreeMap<usize, usize> = BTreeMap::new();
        for &s in sizes {
            *m.entry(s).or_default() += 1;
        }
        m
    };
    let (a_sizes, b_sizes) = (group(a), group(b));
    let nf = n as f64;
    let mut emi = 0.0;
    for (&ai, &count_a) in &a_sizes {
        for (&bj, &count_b) in &b_sizes {
            let start = (ai + bj).saturating_sub(n).max(1);
            let end = ai.min(bj);
            let fixed = ln_fact[ai] + ln_fact[bj] + ln_fact[n - ai] + ln_fact[n - bj] - ln_fact[n];
            let mut term = 0.0;
            for nij in start..=end {
                let x = nij as f64;
                let log_ratio = (nf * x / (ai as f64 * bj as f64)).ln();
                let ln_p = fixed
                    - ln_fact[nij]
                    - ln_fact[ai - nij]
                    - ln_fact[bj - nij]
                    - ln_fact[n + nij - ai - bj];
                term += x / nf * log_ratio * ln_p.exp();
            }
            emi += (count_a * count_b) as f64 * term;
        }
    }
    emi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_and_independent_partitions() {
        let a = [0, 0, 1, 1, 2, 2];
        let renamed = [5, 5, 3, 3, 9, 9];
        assert!((normalized_mutual_information(&a, &renamed) - 1.0).abs() < 1e-12);
        assert!((adjusted_mutual_information(&a, &renamed) - 1.0).abs() < 1e-12);
        assert_eq!(normalized_mutual_information(&[0, 0, 0], &[1, 1, 1]), 1.0);
        assert_eq!(normalized_mutual_information(&[0, 0, 1, 1], &[0, 1, 0, 1]), 0.0);
        assert_eq!(adjusted_mutual_information(&[], &[]), 1.0);
    }
}
