use super::report::RetrievalMetric;
use crate::retrieval::Distance;

/// Which metrics to compute (OML's `EmbeddingMetrics` arguments, plus nDCG and the distance).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// k values for cmc@k. Default `[1, 5, 10]` (OML's default is `(5,)`).
    pub cmc_top_k: Vec<usize>,
    /// k values for precision@k. Default `[1, 5, 10]`.
    pub precision_top_k: Vec<usize>,
    /// k values for map@k. Default `[1, 5, 10]`.
    pub map_top_k: Vec<usize>,
    /// k values for ndcg@k. Default `[1, 5, 10]`.
    pub ndcg_top_k: Vec<usize>,
    /// FMR values in `[0, 1]` for fnmr@fmr; empty (the default, as OML) skips it: it needs two
    /// extra passes over all pairs.
    pub fmr_vals: Vec<f64>,
    /// Explained-variance fractions in `[0, 1]` for PCF. Default `[0.5]` (as OML).
    pub pcf_variance: Vec<f64>,
    /// map@R, R-precision and MRR (PML's `AccuracyCalculator` definitions): they need the rank
    /// of every positive, two extra passes over all pairs. Default on.
    pub ranking: bool,
    /// NMI and AMI of a k-means clustering of the queries into as many clusters as they have
    /// labels (PML's `AccuracyCalculator`); OVERALL only. Default off (k-means costs 25 passes
    /// of queries x clusters).
    pub clustering: bool,
    /// Default Euclidean (as OML).
    pub distance: Distance,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            cmc_top_k: vec![1, 5, 10],
            precision_top_k: vec![1, 5, 10],
            map_top_k: vec![1, 5, 10],
            ndcg_top_k: vec![1, 5, 10],
            fmr_vals: Vec::new(),
            pcf_variance: vec![0.5],
            ranking: true,
            clustering: false,
            distance: Distance::Euclidean,
        }
    }
}

/// A [`MetricsConfig`] value out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsConfigError {
    /// A `k = 0`.
    #[error("{metric}: k must be at least 1")]
    ZeroK {
        /// The metric it was given for.
        metric: &'static str,
    },
    /// A fraction outside `[0, 1]`.
    #[error("{what} must be in [0, 1], got {value}")]
    OutOfRange {
        /// Which list.
        what: &'static str,
        /// The value.
        value: f64,
    },
}

impl MetricsConfig {
    /// No metric at all, Euclidean distance: the start for a config that lists its own
    /// (`MetricsConfig { cmc_top_k: vec![1], ..MetricsConfig::none() }`).
    pub fn none() -> Self {
        Self {
            cmc_top_k: Vec::new(),
            precision_top_k: Vec::new(),
            map_top_k: Vec::new(),
            ndcg_top_k: Vec::new(),
            fmr_vals: Vec::new(),
            pcf_variance: Vec::new(),
            ranking: false,
            clustering: false,
            distance: Distance::Euclidean,
        }
    }

    /// cmc, precision, map and ndcg at each of `ks`; no fnmr@fmr, PCF or whole-ranking metrics;
    /// Euclidean.
    pub fn at_k(ks: &[usize]) -> Self {
        Self {
            cmc_top_k: ks.to_vec(),
            precision_top_k: ks.to_vec(),
            map_top_k: ks.to_vec(),
            ndcg_top_k: ks.to_vec(),
            ..Self::none()
        }
    }

    /// Checks every k and fraction.
    pub fn validate(&self) -> Result<(), MetricsConfigError> {
        for (metric, ks) in self.top_k_lists() {
            if ks.contains(&0) {
                return Err(MetricsConfigError::ZeroK { metric: metric.name() });
            }
        }
        for (what, values) in [("fmr", &self.fmr_vals), ("pcf variance", &self.pcf_variance)] {
            if let Some(&value) = values.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(MetricsConfigError::OutOfRange { what, value });
            }
        }
        Ok(())
    }

    /// How many items each query must retrieve: the largest k of any metric (at least 1).
    pub fn max_k(&self) -> usize {
        self.top_k_lists().iter().flat_map(|(_, ks)| ks.iter().copied()).max().unwrap_or(1).max(1)
    }

    /// Each ranked-list metric with its k values.
    pub(crate) fn top_k_lists(&self) -> [(RetrievalMetric, &[usize]); 4] {
        [
            (RetrievalMetric::Cmc, &self.cmc_top_k),
            (RetrievalMetric::Precision, &self.precision_top_k),
            (RetrievalMetric::Map, &self.map_top_k),
            (RetrievalMetric::Ndcg, &self.ndcg_top_k),
        ]
    }
}
