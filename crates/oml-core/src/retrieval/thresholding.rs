//! OML's retrieval postprocessors that cut each query's result list by distance
//! (`oml/retrieval/postprocessors/algo.py`): a constant threshold, and an adaptive one at the
//! first large gap. Both return how many of each query's results to keep (a prefix: the lists
//! are sorted by distance).

use serde::{Deserialize, Serialize};

/// How to cut result lists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Thresholding {
    /// OML `ConstantThresholding(th)`: keep the results with distance `< th`.
    Constant {
        /// The distance threshold.
        th: f32,
    },
    /// OML `AdaptiveThresholding(n_std)`: with `g` the mean of every gap between consecutive
    /// distances over all queries' lists, cut each list after its first gap `> n_std · g`
    /// (keep the whole list when it has none).
    Adaptive {
        /// How many mean gaps make a large one.
        n_std: f32,
    },
}

impl Thresholding {
    /// The number of results to keep of each list in `distances` (each non-decreasing).
    pub fn kept(&self, distances: &[&[f32]]) -> Vec<usize> {
        match *self {
            Self::Constant { th } => {
                distances.iter().map(|d| d.iter().take_while(|&&x| x < th).count()).collect()
            }
            Self::Adaptive { n_std } => {
                let (sum, n) = distances
                    .iter()
                    .flat_map(|d| d.windows(2))
                    .fold((0.0f64, 0usize), |(s, n), w| (s + f64::from(w[1] - w[0]), n + 1));
                let mean = if n == 0 { 0.0 } else { sum / n as f64 };
                let big = f64::from(n_std) * mean;
                distances
                    .iter()
                    .map(|d| {
                        d.windows(2)
                            .position(|w| f64::from(w[1] - w[0]) > big)
                            .map_or(d.len(), |i| i + 1)
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_thresholding_keeps_distances_below_the_threshold() {
        // OML's tests/test_oml/test_postprocessor/test_thresholding.py, th = 0.2: the first
        // list keeps [0, 0.05, 0.07, 0.1, 0.12], the others nothing.
        let lists: [&[f32]; 3] = [&[0.0, 0.05, 0.07, 0.1, 0.12, 0.2, 0.2, 0.4], &[], &[0.21, 0.25]];
        assert_eq!(Thresholding::Constant { th: 0.2 }.kept(&lists), vec![5, 0, 0]);
    }

    #[test]
    fn adaptive_thresholding_cuts_after_the_first_big_gap() {
        // Gaps: list 1: 0.1, 0.1, 1.0; list 2: 0.1; list 3: none. Mean gap 1.3 / 4 = 0.325;
        // n_std 2 -> cut after gaps > 0.65: list 1 keeps 3, list 2 keeps both, list 3 its one.
        let lists: [&[f32]; 3] = [&[0.0, 0.1, 0.2, 1.2], &[0.5, 0.6], &[0.3]];
        assert_eq!(Thresholding::Adaptive { n_std: 2.0 }.kept(&lists), vec![3, 2, 1]);
        // A large n_std cuts nothing; no gaps at all cut nothing.
        assert_eq!(Thresholding::Adaptive { n_std: 10.0 }.kept(&lists), vec![4, 2, 1]);
        assert_eq!(Thresholding::Adaptive { n_std: 1.0 }.kept(&[&[1.0]]), vec![1]);
    }
}
