//! One epoch: the sampler's batches grouped into steps, decoded one step ahead on a prefetch
//! thread, stepped by the strategy, with the weight average, the step log and a progress bar.

use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use indicatif::{ProgressBar, ProgressStyle};
use oml_models::extractor::{freeze_batch_norm_statistics, freeze_depthwise_weights, freeze_paths};
use oml_models::model_file::FileModel;

use super::config::{Position, TrainConfig};
use super::data::ImagePipeline;
use super::log::log_step;
use super::replica::Batch;
use super::run::Run;
use super::setup::{Progress, Setup};
use super::strategy::{Step, Strategy};
use super::update::Update;
use crate::embed::{ImageLoadError, prefetched};

/// A step's batches as this rank takes them (its share of a group of `per_step × ranks`
/// batches), and the group's size.
type StepRows = (Vec<Vec<usize>>, usize);
/// A step's batches decoded (pixels and rows of each), and the group's size.
type LoadedStep = (Vec<(Vec<f32>, Vec<usize>)>, usize);

/// What an epoch did: its mean training loss, batches over all ranks, speed and time.
#[derive(Debug, Clone, Copy)]
pub struct EpochStats {
    pub loss: f64,
    pub batches: u64,
    pub images_per_second: f64,
    pub seconds: f64,
}

impl std::fmt::Display for EpochStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "loss {:.4}, {} batches, {:.1} images/s, {:.1} s",
            self.loss, self.batches, self.images_per_second, self.seconds
        )
    }
}

/// Runs epoch `epoch` (0-based).
pub fn run(
    run: &Run,
    setup: &Setup,
    strategy: &mut dyn Strategy,
    progress: &mut Progress,
    epoch: u64,
) -> anyhow::Result<EpochStats> {
    let config = &run.config;
    progress.trainee.model = frozen_for(config, progress.trainee.model.clone(), epoch);
    let (n_ranks, rank) = strategy.ranks();
    // Rank 0 alone shows progress and writes the step log.
    let leads = rank == 0;
    let steps = steps(setup.sampler.epoch(epoch), strategy.batches_per_step(), n_ranks, rank);
    let bar = if leads {
        bar(steps.iter().map(|(_, total)| total).sum(), epoch, config.max_epochs)
    } else {
        ProgressBar::hidden()
    };
    let mut meter = Meter::new(setup.sampler.batch_size());
    let (items, pipeline) = (&setup.data.train, &setup.train_pipeline);
    let load = |step: &StepRows| load_step(step, items, pipeline, epoch);
    let steps_per_epoch = steps.len() as u64;
    let mut step_in_epoch = 0u64;
    let mut lr = config.optimizer.lr;
    prefetched(&steps, load, |(group, total): LoadedStep| -> anyhow::Result<()> {
        let batches = group.into_iter().map(|(pixels, rows)| batch(setup, pixels, rows));
        let at =
            Position { epoch, epochs: config.max_epochs, step: step_in_epoch, steps_per_epoch };
        lr = config.lr_at(at, progress.state.steps);
        step_in_epoch += 1;
        let o = &config.optimizer;
        let update = Update {
            lr,
            backbone_lr: o.backbone_lr.map(|b| b * lr / o.lr),
            clip_grad_norm: o.clip_grad_norm,
        };
        let (t, stats) = strategy
            .step(
                progress.trainee.clone(),
                &mut progress.optim,
                Step { update, batches: batches.collect(), total },
            )
            .with_context(|| format!("epoch {}", epoch + 1))?;
        progress.trainee = t;
        if let Some(average) = &mut progress.average {
            average.update(&progress.trainee.model, progress.state.steps)?;
        }
        progress.state.steps += 1;
        meter.add(stats.loss, stats.watched, total);
        if leads {
            log_step(run, epoch + 1, progress.state.steps, stats.loss, stats.watched, lr)?;
            run.loggers.scalars(
                progress.state.steps,
                &[
                    ("train/loss".into(), stats.loss),
                    ("train/lr".into(), lr),
                    (format!("train/{}", setup.watched), stats.watched),
                    ("train/images_per_s".into(), meter.images_per_second()),
                ],
            );
        }
        bar.set_message(meter.message(setup.watched, lr));
        bar.inc(total as u64);
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(EpochStats {
        loss: meter.mean_loss(),
        batches: meter.total,
        images_per_second: meter.images_per_second(),
        seconds: meter.started.elapsed().as_secs_f64(),
    })
}

/// The model with what is frozen in `epoch`: the extractor during the first
/// `freeze_n_epochs`, and the config's frozen parts.
fn frozen_for(config: &TrainConfig, mut model: FileModel, epoch: u64) -> FileModel {
    if epoch < config.freeze_n_epochs {
        model.extractor = model.extractor.freeze();
    } else {
        model.extractor = model.extractor.unfreeze();
    }
    if config.extractor.freeze_batch_norm {
        model = freeze_batch_norm_statistics(model);
    }
    if config.extractor.freeze_depthwise {
        model = freeze_depthwise_weights(model).0;
    }
    if !config.extractor.freeze.is_empty() {
        model = freeze_paths(model, &config.extractor.freeze).0;
    }
    model
}

/// The epoch's steps: groups of `per_step` batches per rank; this rank's share of each
/// group, and the group's size.
fn steps(batches: Vec<Vec<usize>>, per_step: usize, n_ranks: usize, rank: usize) -> Vec<StepRows> {
    batches
        .chunks(per_step * n_ranks)
        .map(|group| {
            (group.iter().skip(rank * per_step).take(per_step).cloned().collect(), group.len())
        })
        .collect()
}

/// Decodes a step's images (each device's batch, its images on the rayon pool).
fn load_step(
    (group, total): &StepRows,
    items: &[crate::embed::ImageItem],
    pipeline: &ImagePipeline,
    epoch: u64,
) -> Result<LoadedStep, ImageLoadError> {
    let mut loaded = Vec::with_capacity(group.len());
    for rows in group {
        let refs: Vec<_> = rows.iter().map(|&r| &items[r]).collect();
        let keys: Vec<(u64, u64)> = rows.iter().map(|&r| (epoch, r as u64)).collect();
        loaded.push((pipeline.load_batch(&refs, &keys)?, rows.clone()));
    }
    Ok((loaded, *total))
}

/// A device's batch of training rows `rows`, from their decoded `pixels`.
fn batch(setup: &Setup, pixels: Vec<f32>, rows: Vec<usize>) -> Batch {
    let (w, h) = setup.train_pipeline.preprocess.output_size();
    let labels = &setup.data.train_labels;
    Batch {
        pixels,
        shape: [rows.len(), 3, h as usize, w as usize],
        labels: rows.iter().map(|&r| labels[r]).collect(),
        classes: rows.iter().map(|&r| setup.classes[r]).collect(),
        domains: setup.domains.as_ref().map(|d| rows.iter().map(|&r| d[r]).collect()),
    }
}

fn bar(batches: usize, epoch: u64, epochs: u64) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:25}] {pos}/{len} batches {msg} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{}/{epochs}", epoch + 1));
    bar
}

/// The epoch's running means (weighted by each step's batches) and speed.
struct Meter {
    started: Instant,
    batch_size: usize,
    loss: f64,
    watched: f64,
    /// Batches over all ranks.
    total: u64,
}

impl Meter {
    fn new(batch_size: usize) -> Self {
        Self { started: Instant::now(), batch_size, loss: 0.0, watched: 0.0, total: 0 }
    }

    fn add(&mut self, loss: f64, watched: f64, total: usize) {
        self.loss += loss * total as f64;
        self.watched += watched * total as f64;
        self.total += total as u64;
    }

    fn mean_loss(&self) -> f64 {
        self.loss / self.total.max(1) as f64
    }

    fn images_per_second(&self) -> f64 {
        // Over all ranks: what the job trains on.
        (self.total as f64 * self.batch_size as f64) / self.started.elapsed().as_secs_f64()
    }

    fn message(&self, watch: &str, lr: f64) -> String {
        let n = self.total.max(1) as f64;
        format!(
            "loss {:.4} {watch} {:.2} {:.1} img/s lr {lr:.2e}",
            self.loss / n,
            self.watched / n,
            self.images_per_second()
        )
    }
}
