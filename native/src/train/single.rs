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
use super::report::{self, Outcome};
use super::run::Run;
use super::setup::{Progress, Setup};
use super::strategy::{self, connect};
use super::validation::{Validation, validate};

/// Runs (or resumes) a one-model run; returns the final validation report, if any.
pub fn train(run: &Run, resume: bool) -> anyhow::Result<Option<MetricsReport>> {
    let started = Instant::now();
    let config = &run.config;
    let (setup, trainee, criterion) = Setup::new(run)?;
    let mut progress = Progress::start(run, trainee, resume)?;
    // Other machines: connect before anything long runs, so a mistake shows at once.
    let cluster = if config.nodes.count > 1 {
        let (cluster, trainee) = connect(
            config,
            &setup.data.train_labels,
            progress.trainee,
            progress.state.epochs_done,
        )?;
        progress.trainee = trainee;
        if cluster.rank() != 0 && !resume {
            progress.average = progress.average.map(|a| a.restarted_at(&progress.trainee.model));
        }
        Some(cluster)
    } else {
        None
    };
    let mut before = None;
    if !resume {
        progress.trainee = setup.imprint(config, progress.trainee)?;
        if config.valid_before_training
            && let Some(v) = validation(run, &setup, &progress.trainee.model)?
        {
            println!("before training:\n{}", crate::tables::terminal(&v.report));
            log_metrics(run, 0, None, &v.report)?;
            before = v.report.get(&config.metric_for_checkpointing);
        }
    }
    let devices: Vec<Device> =
        config.device.devices(config.devices)?.into_iter().map(Device::autodiff).collect();
    let mixed = Mixed::new(config.precision);
    let mut strategy = strategy::choose(devices, criterion, setup.normalise, cluster, mixed);
    let mut last = None;
    for e in progress.state.epochs_done..config.max_epochs {
        let mean_loss = epoch::run(run, &setup, strategy.as_mut(), &mut progress, e)?;
        progress.state.epochs_done = e + 1;
        if let Some(v) = end_of_epoch(run, &setup, &mut progress, mean_loss)? {
            last = Some(v);
        }
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
        println!("after epoch {done}:\n{}", crate::tables::terminal(&v.report));
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
