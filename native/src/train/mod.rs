//! `oml-train`: config-driven training and validation (OML's `extractor_training_pipeline`).
//!
//! A run is set up ([`setup`]: data, sampler, pipelines, model, optimizer, resume), then runs
//! epochs ([`epoch`]: prefetch, steps through a [`strategy`], progress, weight average), each
//! followed by validation and a checkpoint, then writes its report ([`report`]). [`train`]
//! picks a one-model run ([`single`]) or an ensemble of them ([`ensemble`]).

mod average;
mod build;
mod charts;
pub(crate) mod checkpoint;
pub mod config;
mod criterion;
mod data;
mod ensemble;
mod epoch;
mod flat;
pub mod launch;
mod log;
pub mod loggers;
mod mixed;
#[cfg(feature = "mpi")]
mod mpi;
pub mod processes;
mod replica;
mod report;
mod run;
mod setup;
mod share;
mod single;
mod strategy;
mod triplets;
mod update;
mod validation;

use oml_core::metrics::MetricsReport;

pub use average::WeightAverage;
pub use build::{build_model, val_preprocess};
pub use checkpoint::{MODEL_FILE, TrainState, load_model};
pub use config::{ArcFaceSection, ConfigError, CriterionSection, EmaWarmup, TrainConfig};
pub use processes::Processes;
pub use run::{RUN_BASE, RUN_CONFIG, Run, run_dir, start_run_dir};
pub use share::run as share_run;

/// Runs (or resumes) training: an ensemble when `extractor.members > 1`, else one model, in
/// this process or with the other ranks of `processes`; returns the final validation report,
/// if the data has validation rows (on rank 0).
pub fn train(
    run: &Run,
    resume: bool,
    processes: &Processes,
) -> anyhow::Result<Option<MetricsReport>> {
    if run.config.extractor.members > 1 {
        anyhow::ensure!(
            processes.size() == 1,
            "extractor.members = {} trains its members in one process: start it without \
             mpirun, or train each member as a run of its own",
            run.config.extractor.members
        );
        ensemble::train(run, resume)
    } else {
        single::train(run, resume, processes)
    }
}
