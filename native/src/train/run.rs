//! The training loop: epochs of sampled batches, validation, checkpoints, logs, resume.

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::{Context, anyhow};
use burn::module::Module;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use oml_core::metrics::MetricsReport;
use oml_models::extractor::{
    Extractor, freeze_batch_norm_statistics, freeze_depthwise_weights, freeze_paths,
};
use oml_models::zoo;

use super::average::WeightAverage;
use super::build::{
    augment, build_model, optimizer, preprocess, sampler, train_categories, train_domains,
};
use super::checkpoint::{self, TrainState};
use super::config::TrainConfig;
use super::criterion::{self as crit, CriterionSection, Trainee};
use super::data::{ImagePipeline, TrainData};
use super::flat::{self, Tensors};
use super::log::{forget_metrics_after, log_metrics, log_step};
use super::nodes::{Agreement, Cluster};
use super::step::{Batch, Criterion, Trainer};
use super::validation::{Validation, embed_valid, validate};
use crate::cli::table::render_report;

/// What one run is: its folder, resolved config and where the config's paths start.
#[derive(Debug)]
pub struct Run {
    pub dir: PathBuf,
    pub config: TrainConfig,
    /// Folder of the original config file (paths in the config are relative to it).
    pub base: PathBuf,
}

impl Run {
    /// The run's name for reports: its folder's path.
    pub fn config_name(&self) -> String {
        self.dir.display().to_string()
    }
}

/// Runs (or resumes) training; returns the final validation report, if any.
pub fn train(run: &Run, resume: bool) -> anyhow::Result<Option<MetricsReport>> {
    if run.config.extractor.members > 1 {
        return super::ensemble::train_ensemble(run, resume);
    }
    let run_started = Instant::now();
    let config = &run.config;
    let entry = zoo::find(&config.extractor.model)?;
    let device = config.device.device()?;
    crate::device::check_precision(&device, config.precision)?;
    device.seed(config.seed);
    let root = run.base.join(&config.dataset_root);
    let skip_bad = config.bad_images == super::config::BadImages::Skip;
    let data = TrainData::load(&root.join(&config.dataframe), &root, skip_bad)?;
    let sampler = sampler(config, &data)?;
    let normalise = config.extractor.normalise_features.unwrap_or(entry.normalise_features);
    let val_pre = preprocess(entry, &config.transforms_val);
    let train_pre = preprocess(entry, &config.transforms_train);
    let val_pipeline = ImagePipeline { preprocess: val_pre, augment: None, seed: config.seed };
    let train_pipeline = ImagePipeline {
        preprocess: train_pre,
        augment: augment(&config.transforms_train, &train_pre),
        seed: config.seed,
    };
    let train_device = device.clone().autodiff();

    let mut model = build_model(config, &run.base, entry, &train_device)?;
    if config.extractor.freeze_depthwise {
        // Checked before anything runs; applied again after each epoch's (un)freeze below.
        let (frozen, n) = freeze_depthwise_weights(model);
        anyhow::ensure!(
            n > 0,
            "extractor.freeze_depthwise: {} has no depthwise convolutions",
            config.extractor.model
        );
        model = frozen;
    }
    if !config.extractor.freeze.is_empty() {
        let (frozen, counts) = freeze_paths(model, &config.extractor.freeze);
        if let Some((path, _)) = config.extractor.freeze.iter().zip(&counts).find(|(_, n)| **n == 0)
        {
            anyhow::bail!(
                "extractor.freeze: `{path}` names no weights of {} (paths as in `oml export`'s \
                 tensor names, e.g. `blocks.0`)",
                config.extractor.model
            );
        }
        model = frozen;
    }
    // ArcFace's class ids: the training labels, dense.
    let (classes, n_classes) = crit::class_ids(&data.train_labels);
    // Each training row's domain, for cross-domain mining.
    let domains = match &config.criterion {
        CriterionSection::TripletWithMiner(c) if c.cross_domain => Some(train_domains(&data)?),
        _ => None,
    };
    let (criterion, arcface) = match &config.criterion {
        CriterionSection::TripletWithMiner(c) => (Criterion::Triplet(c.init()?), None),
        CriterionSection::ArcFace(a) => {
            let label2category = if a.smooth_within_categories {
                Some(crit::class_categories(&classes, &train_categories(&data)?, n_classes))
            } else {
                None
            };
            let c = crit::arcface_config(a, model.feat_dim(), n_classes, label2category);
            let loss = c.init(&train_device)?;
            (Criterion::ArcFace, Some((c, loss)))
        }
    };
    let (arcface_config, arcface) = arcface.unzip();
    let mut trainee = Trainee { model, arcface };
    let mut optim = optimizer(config);
    let mut state = TrainState { epochs_done: 0, best: None, steps: 0 };
    let mut start_value = None;
    let mut average =
        config.ema_decay.map(|d| WeightAverage::new(&trainee.model, d, config.ema_warmup));
    let last_dir = run.dir.join("last");
    if resume {
        let dir = checkpoint::find_for_resume(&last_dir)?;
        let loaded = checkpoint::load(&dir, trainee, Some(optim))?;
        if loaded.state.epochs_done > config.max_epochs {
            return Err(checkpoint::ResumeError::PastEnd {
                path: dir.join("state.json"),
                done: loaded.state.epochs_done,
                max: config.max_epochs,
            }
            .into());
        }
        trainee = loaded.trainee;
        optim = loaded.optimizer.unwrap_or_else(|| optimizer(config));
        state = loaded.state;
        // A run resumed with `ema_decay` newly set starts its average here.
        average = config.ema_decay.map(|d| {
            let start = loaded.average.as_ref().unwrap_or(&trainee.model);
            WeightAverage::new(start, d, config.ema_warmup)
        });
        forget_metrics_after(run, state.epochs_done)?;
        eprintln!("resuming {} after epoch {}", run.dir.display(), state.epochs_done);
    }
    // Other machines: connect before anything long runs, so a mistake shows at once.
    let cluster = if config.nodes.count > 1 {
        let agreement = Agreement {
            fingerprint: fingerprint(config, &data.train_labels, &trainee),
            epochs_done: state.epochs_done,
        };
        eprintln!(
            "node {} of {}: connecting through {}",
            config.nodes.rank, config.nodes.count, config.nodes.address
        );
        let mut cluster = Cluster::connect(&config.nodes, &agreement)?;
        eprintln!("node {}: all {} nodes connected", config.nodes.rank, config.nodes.count);
        // Every node starts from node 0's weights, as PyTorch DDP does.
        let mut values = flat::values(&trainee, Tensors::All);
        cluster.broadcast(&mut values)?;
        if cluster.rank() != 0 {
            trainee = flat::with_values(trainee, Tensors::All, &values);
            if !resume {
                average = config
                    .ema_decay
                    .map(|d| WeightAverage::new(&trainee.model, d, config.ema_warmup));
            }
        }
        Some(cluster)
    } else {
        None
    };
    if !resume {
        if let (CriterionSection::ArcFace(a), Some(c), Some(loss)) =
            (&config.criterion, &arcface_config, &trainee.arcface)
            && a.imprint
        {
            let started = Instant::now();
            let e = embed_valid(&trainee.model, &data.train, &val_pipeline, true, &device, 64)?;
            let weight = crit::imprinted_weight(&e, loss.weight.dims()[1], &classes, n_classes);
            trainee.arcface = Some(crit::with_weight(c, loss, weight, &train_device)?);
            eprintln!(
                "arcface: {n_classes} class weights imprinted from {} images in {:.1} s",
                data.train.len(),
                started.elapsed().as_secs_f64()
            );
        }
        if config.valid_before_training
            && let Some(Validation { report, .. }) =
                validate(run, &data, &trainee.model, &val_pipeline, normalise, &device)?
        {
            println!("before training:\n{}", render_report(&report));
            log_metrics(run, 0, None, &report)?;
            start_value = report.get(&config.metric_for_checkpointing);
        }
    }

    // What the progress bar shows besides the loss: the share of active triplets, or
    // ArcFace's accuracy on the batch.
    let watch_name = criterion.watched();
    let devices: Vec<Device> =
        config.device.devices(config.devices)?.into_iter().map(Device::autodiff).collect();
    let mixed = super::mixed::Mixed::new(config.precision);
    let mut trainer = Trainer::new(devices, criterion, normalise, cluster, mixed);
    let per_step = trainer.batches_per_step();
    let (n_nodes, rank) = trainer.nodes();
    let batch_size = sampler.batch_size();
    let (w, h) = train_pre.output_size();
    let mut last_report = None;
    for epoch in state.epochs_done..config.max_epochs {
        let lr = config.scheduler.lr(config.optimizer.lr, epoch, config.max_epochs);
        let frozen = epoch < config.freeze_n_epochs;
        let mut model = trainee.model;
        if frozen {
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
        trainee.model = model;
        // The epoch's steps: groups of `per_step` batches per node; this node's share of each
        // group, and the group's size.
        let steps: Vec<(Vec<Vec<usize>>, usize)> = sampler
            .epoch(epoch)
            .chunks(per_step * n_nodes)
            .map(|group| {
                (group.iter().skip(rank * per_step).take(per_step).cloned().collect(), group.len())
            })
            .collect();
        let local_batches: usize = steps.iter().map(|(b, _)| b.len()).sum();
        let bar = ProgressBar::new(local_batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:25}] {pos}/{len} batches {msg} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", epoch + 1, config.max_epochs));
        let started = Instant::now();
        let (mut loss_sum, mut active_sum, mut n_total, mut n_batches) = (0.0, 0.0, 0u64, 0u64);
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let (tx, rx) = sync_channel(1);
            let items = &data.train;
            let pipeline = &train_pipeline;
            let steps = &steps;
            scope.spawn(move || {
                for (group, total) in steps {
                    let mut loaded = Vec::with_capacity(group.len());
                    for rows in group {
                        let refs: Vec<_> = rows.iter().map(|&r| &items[r]).collect();
                        let keys: Vec<(u64, u64)> =
                            rows.iter().map(|&r| (epoch, r as u64)).collect();
                        match pipeline.load_batch(&refs, &keys) {
                            Ok(pixels) => loaded.push((pixels, rows)),
                            Err(e) => {
                                tx.send(Err(e)).ok();
                                return;
                            }
                        }
                    }
                    if tx.send(Ok((loaded, *total))).is_err() {
                        return;
                    }
                }
            });
            for loaded in rx {
                let (group, total) = loaded?;
                let n = group.len() as u64;
                let step_batches = group
                    .into_iter()
                    .map(|(pixels, rows)| Batch {
                        pixels,
                        shape: [rows.len(), 3, h as usize, w as usize],
                        labels: rows.iter().map(|&r| data.train_labels[r]).collect(),
                        classes: rows.iter().map(|&r| classes[r]).collect(),
                        domains: domains.as_ref().map(|d| rows.iter().map(|&r| d[r]).collect()),
                    })
                    .collect();
                let (t, stats) = trainer
                    .step(trainee.clone(), &mut optim, lr, step_batches, total)
                    .with_context(|| format!("epoch {}", epoch + 1))?;
                trainee = t;
                if let Some(average) = &mut average {
                    average.update(&trainee.model, state.steps)?;
                }
                state.steps += 1;
                log_step(run, epoch + 1, state.steps, stats.loss, stats.watched, lr)?;
                #[allow(clippy::cast_precision_loss)]
                {
                    loss_sum += stats.loss * total as f64;
                    active_sum += stats.watched * total as f64;
                }
                n_total += total as u64;
                n_batches += n;
                #[allow(clippy::cast_precision_loss)]
                let ips = (n_batches as f64 * batch_size as f64) / started.elapsed().as_secs_f64();
                #[allow(clippy::cast_precision_loss)]
                bar.set_message(format!(
                    "loss {:.4} {watch_name} {:.2} {ips:.1} img/s lr {lr:.2e}",
                    loss_sum / n_total as f64,
                    active_sum / n_total as f64,
                ));
                bar.inc(n);
            }
            Ok(())
        })?;
        bar.finish_and_clear();
        #[allow(clippy::cast_precision_loss)]
        let mean_loss = loss_sum / n_total.max(1) as f64;
        #[allow(clippy::cast_precision_loss)]
        let ips = (n_batches as f64 * batch_size as f64) / started.elapsed().as_secs_f64();
        eprintln!(
            "epoch {}/{}: loss {mean_loss:.4}, {n_batches} batches, {ips:.1} images/s, {:.1} s",
            epoch + 1,
            config.max_epochs,
            started.elapsed().as_secs_f64()
        );
        state.epochs_done = epoch + 1;
        let is_last = epoch + 1 == config.max_epochs;
        let due = (epoch + 1) % config.valid_period == 0 || is_last;
        // What is validated and saved as the model: the weight average, if any.
        let averaged = average.as_ref().map(|a| &a.model);
        if due
            && let Some(validation) = validate(
                run,
                &data,
                averaged.unwrap_or(&trainee.model),
                &val_pipeline,
                normalise,
                &device,
            )?
        {
            let report = &validation.report;
            println!("after epoch {}:\n{}", epoch + 1, render_report(report));
            log_metrics(run, epoch + 1, Some(mean_loss), report)?;
            let value = report.get(&config.metric_for_checkpointing).ok_or_else(|| {
                anyhow!(
                    "metric_for_checkpointing `{}` is not among the computed metrics",
                    config.metric_for_checkpointing
                )
            })?;
            if state.best.is_none_or(|(b, _)| value > b) {
                state.best = Some((value, epoch + 1));
                checkpoint::save(&run.dir.join("best"), &trainee, averaged, None, &state)?;
            }
            last_report = Some(validation);
        }
        checkpoint::save(&last_dir, &trainee, averaged, Some(&optim), &state)
            .with_context(|| "cannot write the checkpoint")?;
    }
    let metric = &config.metric_for_checkpointing;
    if let (Some(v), Some(qg)) = (&last_report, &data.valid_qg) {
        let name = run.config_name();
        super::report::write_report(&super::report::ReportInput {
            run_dir: &run.dir,
            config_name: &name,
            items: &data.valid,
            qg,
            embeddings: &v.embeddings,
            dim: v.dim,
            report: &v.report,
            metric,
            before: start_value,
            best: state.best,
            epochs: config.max_epochs,
            members: 0,
            seconds: run_started.elapsed().as_secs_f64(),
        })
        .with_context(|| format!("cannot write the report in {}", run.dir.display()))?;
    }
    if let Some(report) = last_report.as_ref().map(|v| &v.report) {
        let before =
            start_value.map_or_else(String::new, |v| format!("{v:.4} before training -> "));
        let after = report.get(metric).unwrap_or(f64::NAN);
        let best =
            state.best.map_or_else(String::new, |(v, e)| format!(" (best {v:.4} after epoch {e})"));
        println!(
            "{metric}: {before}{after:.4} after {} epochs{best}; run folder {}",
            config.max_epochs,
            run.dir.display()
        );
    }
    Ok(last_report.map(|v| v.report))
}

/// What every node of a cluster must share: the config but for each machine's own settings,
/// the training rows' labels, and the shapes of the tensors that train.
fn fingerprint(config: &TrainConfig, labels: &[u32], trainee: &Trainee) -> String {
    use sha2::{Digest, Sha256};
    let mut shared = config.clone();
    shared.nodes.rank = 0;
    shared.nodes.address = String::new();
    shared.nodes.timeout_s = 0;
    shared.run_dir = None;
    shared.dataset_root = PathBuf::new();
    shared.device = crate::device::DeviceChoice::default();
    let mut hash = Sha256::new();
    hash.update(shared.to_toml().as_bytes());
    for label in labels {
        hash.update(label.to_le_bytes());
    }
    let (trainable, buffers) = flat::sizes(trainee);
    hash.update((trainable as u64).to_le_bytes());
    hash.update((buffers as u64).to_le_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
