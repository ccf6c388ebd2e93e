//! `oml-train`: config-driven training and validation (OML's `extractor_training_pipeline`).
//!
//! A run is set up ([`setup`]: data, sampler, pipelines, model, optimizer, resume), then runs
//! epochs ([`epoch`]: prefetch, steps through a [`strategy`], progress, weight average), each
//! followed by validation and a checkpoint, then writes its report ([`report`]). [`train`]
//! picks a one-model run ([`single`]) or an ensemble of them ([`ensemble`]).

mod average;
mod build;
pub(crate) mod checkpoint;
pub mod config;
mod criterion;
mod data;
mod ensemble;
mod epoch;
mod flat;
mod log;
mod mixed;
mod nodes;
mod replica;
mod report;
mod run;
mod setup;
mod single;
mod strategy;
mod validation;

use oml_core::metrics::MetricsReport;

pub use average::WeightAverage;
pub use build::{build_model, val_preprocess};
pub use checkpoint::{MODEL_FILE, TrainState, load_model};
pub use config::{
    ArcFaceSection, ConfigError, CriterionSection, EmaWarmup, NodesSection, TrainConfig,
};
pub use nodes::{Agreement, Cluster, NodesError};
pub use run::{RUN_BASE, RUN_CONFIG, Run, run_dir, start_run_dir};

/// Runs (or resumes) training: an ensemble when `extractor.members > 1`, else one model;
/// returns the final validation report, if the data has validation rows.
pub fn train(run: &Run, resume: bool) -> anyhow::Result<Option<MetricsReport>> {
    if run.config.extractor.members > 1 {
        ensemble::train(run, resume)
    } else {
        single::train(run, resume)
    }
}
