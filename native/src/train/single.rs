//! A one-model run: the setup, then epochs, each followed by validation when due and a
//! checkpoint, then the report. `--resume` continues after the last checkpoint.

use std::time::Instant;

use anyhow::{Context, anyhow};
use burn::tensor::Device;
use oml_core::metrics::MetricsReport;

use super::checkpoint;
use super::epoch;
use super::log::log_metrics;
use super::mixed::Mixed;
use super::processes::Processes;
use super::report::{self, Outcome};
use super::run::Run;
use super::setup::{Progress, Setup};
use super::share;
use super::strategy;
use super::validation::{Validation, validate};

/// Runs (or resumes) a one-model run; returns the final validation report, if any (on rank
/// 0; the other ranks of an MPI job train alongside and return `None`).
pub fn train(
    run: &Run,
    resume: bool,
    processes: &Processes,
) -> anyhow::Result<Option<MetricsReport>> {
    let started = Instant::now();
    let config = &run.config;
    let (ranks, leads) = (processes.collective(), processes.leads());
    anyhow::ensure!(
        ranks.is_none() || config.precision == oml_models::precision::Precision::F32,
        "precision = {}: half precision trains in one process for now (its loss scale is not \
         agreed between ranks)",
        config.precision
    );
    let (setup, trainee, criterion) = Setup::new(run)?;
    // Other ranks: the same data and model, checked before anything long runs.
    if let Some(c) = ranks {
        share::agree_on_data(c, &setup.data.train_labels, &trainee)?;
    }
    let mut progress = Progress::start(run, trainee, resume && leads)?;
    let mut before = None;
    if leads && !resume {
        progress.trainee = setup.imprint(config, progress.trainee)?;
        if config.valid_before_training
            && let Some(v) = validation(run, &setup, &progress.trainee.model)?
        {
            println!(
                "before training: validation {:.1} s: {}",
                v.seconds,
                crate::tables::compact(&v.report)
            );
            log_metrics(run, 0, None, &v.report)?;
            before = v.report.get(&config.metric_for_checkpointing);
        }
    }
    // On the other ranks, the resumed checkpoint's files, read as training goes.
    let mut _resumed_from = None;
    if let Some(c) = ranks {
        (progress, _resumed_from) = share::start(c, run, progress, resume)?;
    }
    let devices: Vec<Device> =
        config.device.devices(config.devices)?.into_iter().map(Device::autodiff).collect();
    let mixed = Mixed::new(config.precision);
    let mut strategy = strategy::choose(devices, criterion, setup.normalise, ranks, mixed);
    let mut last = None;
    let (first, epochs_started) = (progress.state.epochs_done, Instant::now());
    for e in progress.state.epochs_done..config.max_epochs {
        let stats = epoch::run(run, &setup, strategy.as_mut(), &mut progress, e)?;
        progress.state.epochs_done = e + 1;
        if let Some(c) = ranks {
            share::agree_on_weights(c, &progress.trainee, &progress.state)?;
        }
        if leads {
            let validated = end_of_epoch(run, &setup, &mut progress, stats.loss)?;
            // The time left: the mean epoch of this process (validation included) per epoch
            // still to run.
            let per_epoch = epochs_started.elapsed().as_secs_f64() / (e + 1 - first) as f64;
            let left = per_epoch * (config.max_epochs - e - 1) as f64;
            println!("{}", epoch_line(run, &progress, &stats, validated.as_ref(), left));
            last = validated.or(last);
        }
    }
    if ranks.is_some() {
        super::processes::say(&format!(
            "rank {} of {}: trained weights sha256 {}",
            processes.rank(),
            processes.size(),
            share::digest(&progress.trainee)
        ));
    }
    let Some(last) = last else { return Ok(None) };
    let outcome = Outcome {
        before,
        best: progress.state.best,
        members: 0,
        seconds: started.elapsed().as_secs_f64(),
    };
    report::finish(run, &setup.data, &last, &outcome)?;
    let metric = &config.metric_for_checkpointing;
    let before = before.map_or_else(String::new, |v| format!("{v:.4} before training -> "));
    let after = last.report.get(metric).unwrap_or(f64::NAN);
    let best =
        outcome.best.map_or_else(String::new, |(v, e)| format!(" (best {v:.4} after epoch {e})"));
    println!(
        "{metric}: {before}{after:.4} after {} epochs{best}; run folder {}",
        config.max_epochs,
        run.dir.display()
    );
    Ok(Some(last.report))
}

/// The validation of `model` (none without validation rows).
fn validation(
    run: &Run,
    setup: &Setup,
    model: &oml_models::model_file::FileModel,
) -> anyhow::Result<Option<Validation>> {
    let metrics = run.config.metric_args.metrics_config();
    validate(&setup.data, model, &setup.val_pipeline, setup.normalise, &setup.device, &metrics)
}

/// The one line a person reads after an epoch: the epoch's loss, speed and time, OVERALL's
/// metrics when validated (the full table is in metrics.csv, metrics.jsonl and the report),
/// the best value so far and the time left.
fn epoch_line(
    run: &Run,
    progress: &Progress,
    stats: &epoch::EpochStats,
    validated: Option<&Validation>,
    seconds_left: f64,
) -> String {
    let config = &run.config;
    let done = progress.state.epochs_done;
    let mut line = format!("after epoch {done}/{}: {stats}", config.max_epochs);
    if let Some(v) = validated {
        line.push_str(&format!(
            "; validation {:.1} s: {}",
            v.seconds,
            crate::tables::compact(&v.report)
        ));
        if let Some((best, at)) = progress.state.best {
            line.push_str(&format!(
                "; best {} {best:.4} (epoch {at})",
                config.metric_for_checkpointing
            ));
        }
    }
    if done < config.max_epochs {
        line.push_str(&format!("; {} left", crate::tables::duration(seconds_left)));
    }
    line
}

/// After an epoch: validation when due (and the best checkpoint when it improved), then the
/// last checkpoint. What is validated and saved as the model is the weight average, if any.
fn end_of_epoch(
    run: &Run,
    setup: &Setup,
    progress: &mut Progress,
    mean_loss: f64,
) -> anyhow::Result<Option<Validation>> {
    let config = &run.config;
    let done = progress.state.epochs_done;
    let due = done.is_multiple_of(config.valid_period) || done == config.max_epochs;
    let averaged = progress.average.as_ref().map(|a| &a.model);
    let mut out = None;
    if due && let Some(v) = validation(run, setup, averaged.unwrap_or(&progress.trainee.model))? {
        log_metrics(run, done, Some(mean_loss), &v.report)?;
        let value = v.report.get(&config.metric_for_checkpointing).ok_or_else(|| {
            anyhow!(
                "metric_for_checkpointing `{}` is not among the computed metrics",
                config.metric_for_checkpointing
            )
        })?;
        if progress.state.best.is_none_or(|(b, _)| value > b) {
            progress.state.best = Some((value, done));
            let best = run.dir.join("best");
            checkpoint::save(&best, &progress.trainee, averaged, None, &progress.state)?;
        }
        out = Some(v);
    }
    let last = run.dir.join("last");
    checkpoint::save(&last, &progress.trainee, averaged, Some(&progress.optim), &progress.state)
        .with_context(|| "cannot write the checkpoint")?;
    Ok(out)
}
