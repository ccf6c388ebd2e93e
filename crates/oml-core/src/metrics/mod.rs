//! Retrieval metrics: the formulas, pure functions of one query ([`formulas`]), the ranks of every
//! positive (for PML's map@R, R-precision and MRR), FNMR@FMR, PCF, the reduction
//! into OVERALL and per-category groups ([`evaluate`]), and an accumulator for validation loops.

mod accumulator;
pub mod clustering;
mod config;
mod curves;
mod evaluate;
mod fnmr;
pub mod formulas;
mod histogram;
mod kmeans;
mod pcf;
mod ranks;
mod report;

pub use accumulator::{AccumulatorError, MetricsAccumulator};
pub use config::{MetricsConfig, MetricsConfigError};
pub use curves::{cmc_curve, worst_queries};
pub use evaluate::{Evaluation, MetricsError, PerQueryMetrics, evaluate};
pub use fnmr::{fnmr_at_fmr, fnmr_at_fmr_streaming};
pub use histogram::{DistanceHistogram, distance_histogram};
pub use pcf::pcf;
pub use report::{
    GroupMetrics, MetricsReport, OVERALL, ReportEntry, RetrievalMetric, ScalarMetric,
};
