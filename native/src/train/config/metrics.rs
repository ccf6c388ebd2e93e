//! `[metric_args]`: which retrieval metrics validation computes.

use oml_core::metrics::MetricsConfig;
use serde::{Deserialize, Serialize};

/// Which retrieval metrics validation computes (OML's `metric_args`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricArgs {
    #[serde(default = "default_ks")]
    pub cmc_top_k: Vec<usize>,
    #[serde(default = "default_ks")]
    pub precision_top_k: Vec<usize>,
    #[serde(default = "default_ks")]
    pub map_top_k: Vec<usize>,
    #[serde(default)]
    pub fmr_vals: Vec<f64>,
    /// map@r, r_precision and mrr (PML's definitions; two extra passes over all pairs).
    #[serde(default = "default_ranking")]
    pub ranking: bool,
    /// nmi and ami of a k-means clustering of the validation queries (OVERALL only).
    #[serde(default)]
    pub clustering: bool,
}

fn default_ranking() -> bool {
    true
}

fn default_ks() -> Vec<usize> {
    vec![1, 5, 10]
}

impl Default for MetricArgs {
    fn default() -> Self {
        Self {
            cmc_top_k: default_ks(),
            precision_top_k: default_ks(),
            map_top_k: default_ks(),
            fmr_vals: Vec::new(),
            ranking: true,
            clustering: false,
        }
    }
}

impl MetricArgs {
    /// The metrics validation computes: these lists and the whole-ranking metrics, no nDCG or
    /// PCF, Euclidean distances.
    pub fn metrics_config(&self) -> MetricsConfig {
        MetricsConfig {
            cmc_top_k: self.cmc_top_k.clone(),
            precision_top_k: self.precision_top_k.clone(),
            map_top_k: self.map_top_k.clone(),
            fmr_vals: self.fmr_vals.clone(),
            ranking: self.ranking,
            clustering: self.clustering,
            ..MetricsConfig::none()
        }
    }
}
