//! The training loop: epochs of sampled batches, validation, checkpoints, logs, resume.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::{Context, anyhow};
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use oml_core::metrics::{MetricsConfig, MetricsReport, evaluate};
use oml_core::retrieval::{Distance, Embeddings};
use oml_core::sampler::{
    BalanceSampler, BalanceSamplerConfig, BatchSampler, CategoryBalanceSampler,
    CategoryBalanceSamplerConfig, DistinctCategoryBalanceSampler,
    DistinctCategoryBalanceSamplerConfig,
};
use oml_data::augment::{Augment, ColorJitter, RandomResizedCrop};
use oml_data::image::{Preprocess, ResizePolicy};
use oml_models::embedder::l2_normalise;
use oml_models::extractor::{AnyExtractor, Extractor, ExtractorWithMlp, MlpHead};
use oml_models::zoo::{self, ZooEntry};

use super::checkpoint::{self, TrainState};
use super::config::{OptimizerName, ResizeMode, SamplerSection, TrainConfig, TransformsSection};
use super::data::{ImagePipeline, TrainData};
use crate::cli::table::render_report;
use crate::zoo::{cache_dir, weights_for};

/// The trained module: a zoo extractor and an optional projection head.
pub type TrainModel = ExtractorWithMlp<AnyExtractor>;

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

fn preprocess(entry: &ZooEntry, t: &TransformsSection) -> Preprocess {
    let resize = match t.resize {
        ResizeMode::Resize => ResizePolicy::Resize { width: t.size, height: t.size },
        ResizeMode::Pad => ResizePolicy::LongestSidePad { size: t.size, fill: t.fill },
    };
    Preprocess { resize, filter: entry.preprocess.filter, norm: entry.preprocess.norm }
}

/// The validation (inference) preprocessing of a config: what tools use on a trained model.
pub fn val_preprocess(entry: &ZooEntry, config: &TrainConfig) -> Preprocess {
    preprocess(entry, &config.transforms_val)
}

fn augment(t: &TransformsSection, base: &Preprocess) -> Option<Augment> {
    let crop = t.random_resized_crop.map(|c| RandomResizedCrop {
        width: t.size,
        height: t.size,
        scale: (c.scale[0], c.scale[1]),
        ratio: (c.ratio[0], c.ratio[1]),
    });
    let jitter = t.color_jitter.map(|j| ColorJitter {
        brightness: j.brightness,
        contrast: j.contrast,
        saturation: j.saturation,
        hue: j.hue,
    });
    (crop.is_some() || t.hflip > 0.0 || jitter.is_some()).then_some(Augment {
        crop,
        flip_p: t.hflip,
        jitter,
        filter: base.filter,
    })
}

fn sampler(
    config: &TrainConfig,
    data: &TrainData,
) -> anyhow::Result<Box<dyn BatchSampler + Send + Sync>> {
    let seed = config.seed;
    let categories = || -> anyhow::Result<Vec<u32>> {
        // Dense category ids of the training rows, in first-appearance order.
        let mut ids = std::collections::HashMap::new();
        data.train_rows
            .iter()
            .map(|&r| {
                let record = &data.dataset.records()[r];
                let name = record.category.clone().ok_or_else(|| {
                    anyhow!(
                        "{} line {}: the sampler needs a category on every training row",
                        data.dataset.source_name(),
                        record.line
                    )
                })?;
                let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                Ok(*ids.entry(name).or_insert(next))
            })
            .collect()
    };
    let labels = &data.train_labels;
    Ok(match config.sampler {
        SamplerSection::Balance { n_labels, n_instances } => Box::new(BalanceSampler::new(
            labels,
            BalanceSamplerConfig { n_labels, n_instances, seed },
        )?),
        SamplerSection::CategoryBalance {
            n_categories,
            n_labels,
            n_instances,
            resample_labels,
            weight_categories,
        } => Box::new(CategoryBalanceSampler::new(
            labels,
            &categories()?,
            CategoryBalanceSamplerConfig {
                n_categories,
                n_labels,
                n_instances,
                resample_labels,
                weight_categories,
                seed,
            },
        )?),
        SamplerSection::DistinctCategoryBalance {
            n_categories,
            n_labels,
            n_instances,
            epoch_size,
        } => Box::new(DistinctCategoryBalanceSampler::new(
            labels,
            &categories()?,
            DistinctCategoryBalanceSamplerConfig {
                n_categories,
                n_labels,
                n_instances,
                epoch_size,
                seed,
            },
        )?),
    })
}

fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let o = config.optimizer;
    #[allow(clippy::cast_possible_truncation)]
    let decay = |default: f64| {
        let penalty = o.weight_decay.unwrap_or(default);
        (penalty > 0.0).then(|| WeightDecayConfig::new(penalty as f32))
    };
    match o.name {
        // PyTorch's epsilon (burn's default is 1e-5).
        OptimizerName::Adam => {
            AdamConfig::new().with_epsilon(1e-8).with_weight_decay(decay(0.0)).init()
        }
        #[allow(clippy::cast_possible_truncation)]
        OptimizerName::AdamW => AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(o.weight_decay.unwrap_or(0.01) as f32)
            .init(),
        OptimizerName::Sgd => SgdConfig::new()
            .with_weight_decay(decay(0.0))
            .with_momentum(
                (o.momentum > 0.0)
                    .then(|| MomentumConfig::new().with_momentum(o.momentum).with_dampening(0.0)),
            )
            .init(),
    }
}

/// A model of the configured architecture with its starting weights.
pub fn build_model(
    config: &TrainConfig,
    base: &Path,
    entry: &ZooEntry,
    device: &Device,
) -> anyhow::Result<TrainModel> {
    let mut backbone = entry.arch.init(device);
    let weights = match &config.extractor.weights {
        Some(w) => Some(base.join(w)),
        None if config.extractor.pretrained => Some(weights_for(entry, &cache_dir(), false)?),
        None => None,
    };
    if let Some(w) = weights {
        backbone.load_weights(&w)?;
    }
    let projection = MlpHead::new(backbone.feat_dim(), &config.extractor.head, device);
    Ok(ExtractorWithMlp { extractor: backbone, projection })
}

/// Embeddings of the validation images (no augmentation, inference mode), row by row.
fn embed_valid(
    model: &TrainModel,
    items: &[crate::embed::ImageItem],
    pipeline: &ImagePipeline,
    normalise: bool,
    device: &Device,
    batch: usize,
) -> anyhow::Result<Vec<f32>> {
    let model = model.valid();
    let (w, h) = pipeline.preprocess.output_size();
    let mut out = Vec::new();
    for chunk in items.chunks(batch.max(1)) {
        let refs: Vec<_> = chunk.iter().collect();
        let keys = vec![(0, 0); chunk.len()];
        let pixels = pipeline.load_batch(&refs, &keys)?;
        let x = Tensor::<4>::from_data(
            TensorData::new(pixels, [chunk.len(), 3, h as usize, w as usize]),
            &device.clone().inner(),
        );
        let mut e = model.extract(x);
        if normalise {
            e = l2_normalise(e);
        }
        out.extend(e.try_into_vec_as::<f32>().map_err(|e| anyhow!("{e:?}"))?);
    }
    Ok(out)
}

fn metrics_config(config: &TrainConfig) -> MetricsConfig {
    let m = &config.metric_args;
    MetricsConfig {
        cmc_top_k: m.cmc_top_k.clone(),
        precision_top_k: m.precision_top_k.clone(),
        map_top_k: m.map_top_k.clone(),
        ndcg_top_k: Vec::new(),
        fmr_vals: m.fmr_vals.clone(),
        pcf_variance: Vec::new(),
        distance: Distance::Euclidean,
    }
}

/// The validation report, and the embeddings it was computed from (`[rows, dim]`).
struct Validation {
    report: MetricsReport,
    embeddings: Vec<f32>,
    dim: usize,
}

fn validate(
    run: &Run,
    data: &TrainData,
    model: &TrainModel,
    pipeline: &ImagePipeline,
    normalise: bool,
    device: &Device,
) -> anyhow::Result<Option<Validation>> {
    let Some(qg) = &data.valid_qg else { return Ok(None) };
    let started = Instant::now();
    let values = embed_valid(model, &data.valid, pipeline, normalise, device, 64)?;
    let dim = values.len() / data.valid.len().max(1);
    let emb = Embeddings::new(&values, data.valid.len(), dim)?;
    let evaluation = evaluate(&emb, qg, &metrics_config(&run.config))?;
    eprintln!(
        "validation: {} images in {:.1} s",
        data.valid.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Some(Validation { report: evaluation.report, embeddings: values, dim }))
}

/// One line of metrics.csv / metrics.jsonl.
fn log_metrics(
    run: &Run,
    epoch: u64,
    train_loss: Option<f64>,
    report: &MetricsReport,
) -> anyhow::Result<()> {
    let mut row = serde_json::Map::new();
    row.insert("epoch".into(), epoch.into());
    row.insert("train_loss".into(), train_loss.into());
    let overall = serde_json::to_value(report)?;
    let mut flat = Vec::new();
    if let Some(groups) = overall.as_object() {
        for (group, metrics) in groups {
            for (metric, by_k) in metrics.as_object().into_iter().flatten() {
                for (k, v) in by_k.as_object().into_iter().flatten() {
                    flat.push((format!("{group}/{metric}/{k}"), v.clone()));
                }
            }
        }
    }
    for (k, v) in &flat {
        row.insert(k.clone(), v.clone());
    }
    let jsonl = run.dir.join("metrics.jsonl");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&jsonl)?;
    writeln!(f, "{}", serde_json::Value::Object(row))?;
    let csv = run.dir.join("metrics.csv");
    let new = !csv.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&csv)?;
    if new {
        let names: Vec<&str> = flat.iter().map(|(k, _)| k.as_str()).collect();
        writeln!(f, "epoch,train_loss,{}", names.join(","))?;
    }
    let values: Vec<String> = flat.iter().map(|(_, v)| v.to_string()).collect();
    let loss = train_loss.map(|l| format!("{l}")).unwrap_or_default();
    writeln!(f, "{epoch},{loss},{}", values.join(","))?;
    Ok(())
}

/// Drops metric lines of epochs after `epochs_done`: a kill between logging an epoch and
/// checkpointing it would otherwise leave that epoch twice once it is run again.
fn forget_metrics_after(run: &Run, epochs_done: u64) -> anyhow::Result<()> {
    let keep = |epoch: Option<u64>| epoch.is_none_or(|e| e <= epochs_done);
    for (file, epoch_of) in [
        (
            "metrics.jsonl",
            (|line: &str| serde_json::from_str::<serde_json::Value>(line).ok()?["epoch"].as_u64())
                as fn(&str) -> Option<u64>,
        ),
        ("metrics.csv", |line: &str| line.split(',').next()?.parse().ok()),
    ] {
        let path = run.dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let kept: String =
            text.lines().filter(|l| keep(epoch_of(l))).map(|l| format!("{l}\n")).collect();
        if kept != text {
            crate::io::write_atomically(&path, kept.as_bytes())?;
        }
    }
    Ok(())
}

/// Runs (or resumes) training; returns the final validation report, if any.
pub fn train(run: &Run, resume: bool) -> anyhow::Result<Option<MetricsReport>> {
    let run_started = Instant::now();
    let config = &run.config;
    let entry = zoo::find(&config.extractor.model)?;
    let device = config.device.device()?;
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
    let criterion = config.criterion.init()?;
    let train_device = device.clone().autodiff();

    let mut model = build_model(config, &run.base, entry, &train_device)?;
    let mut optim = optimizer(config);
    let mut state = TrainState { epochs_done: 0, best: None, steps: 0 };
    let mut start_value = None;
    let last_dir = run.dir.join("last");
    if resume {
        let dir = checkpoint::find(&last_dir)
            .ok_or_else(|| anyhow!("{}: no checkpoint to resume from", last_dir.display()))?;
        let (m, o, s) = checkpoint::load(&dir, model, Some(optim))?;
        model = m;
        optim = o.unwrap_or_else(|| optimizer(config));
        state = s;
        forget_metrics_after(run, state.epochs_done)?;
        eprintln!("resuming {} after epoch {}", run.dir.display(), state.epochs_done);
    } else if config.valid_before_training
        && let Some(Validation { report, .. }) =
            validate(run, &data, &model, &val_pipeline, normalise, &device)?
    {
        println!("before training:\n{}", render_report(&report));
        log_metrics(run, 0, None, &report)?;
        start_value = report.get(&config.metric_for_checkpointing);
    }

    let batches_per_epoch = sampler.batches_per_epoch();
    let batch_size = sampler.batch_size();
    let (w, h) = train_pre.output_size();
    let mut last_report = None;
    for epoch in state.epochs_done..config.max_epochs {
        let lr = config.scheduler.lr(config.optimizer.lr, epoch, config.max_epochs);
        let frozen = epoch < config.freeze_n_epochs;
        if frozen {
            model.extractor = model.extractor.freeze();
        } else {
            model.extractor = model.extractor.unfreeze();
        }
        let bar = ProgressBar::new(batches_per_epoch as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:25}] {pos}/{len} batches {msg} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", epoch + 1, config.max_epochs));
        let started = Instant::now();
        let batches = sampler.epoch(epoch);
        let (mut loss_sum, mut n_batches, mut active_sum) = (0.0, 0u64, 0.0);
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let (tx, rx) = sync_channel(1);
            let items = &data.train;
            let pipeline = &train_pipeline;
            let batches = &batches;
            scope.spawn(move || {
                for rows in batches {
                    let refs: Vec<_> = rows.iter().map(|&r| &items[r]).collect();
                    let keys: Vec<(u64, u64)> = rows.iter().map(|&r| (epoch, r as u64)).collect();
                    let loaded = pipeline.load_batch(&refs, &keys);
                    let stop = loaded.is_err();
                    if tx.send(loaded.map(|p| (p, rows.clone()))).is_err() || stop {
                        return;
                    }
                }
            });
            for loaded in rx {
                let (pixels, rows) = loaded?;
                let labels: Vec<u32> = rows.iter().map(|&r| data.train_labels[r]).collect();
                let x = Tensor::<4>::from_data(
                    TensorData::new(pixels, [rows.len(), 3, h as usize, w as usize]),
                    &train_device,
                );
                let mut e = model.extract(x);
                if normalise {
                    e = l2_normalise(e);
                }
                let out = criterion.forward(e, &labels)?;
                let loss_value = f64::from(out.loss.clone().into_scalar::<f32>());
                if !loss_value.is_finite() {
                    anyhow::bail!("the loss became {loss_value} at epoch {}", epoch + 1);
                }
                let grads = GradientsParams::from_grads(out.loss.backward(), &model);
                model = optim.step(lr, model.clone(), grads);
                state.steps += 1;
                loss_sum += loss_value;
                active_sum += out.logs.map_or(f64::NAN, |l| l.active_tri);
                n_batches += 1;
                #[allow(clippy::cast_precision_loss)]
                let ips = (n_batches as f64 * batch_size as f64) / started.elapsed().as_secs_f64();
                #[allow(clippy::cast_precision_loss)]
                bar.set_message(format!(
                    "loss {:.4} active {:.2} {ips:.1} img/s lr {lr:.2e}",
                    loss_sum / n_batches as f64,
                    active_sum / n_batches as f64,
                ));
                bar.inc(1);
            }
            Ok(())
        })?;
        bar.finish_and_clear();
        #[allow(clippy::cast_precision_loss)]
        let mean_loss = loss_sum / n_batches.max(1) as f64;
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
        if due
            && let Some(validation) =
                validate(run, &data, &model, &val_pipeline, normalise, &device)?
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
                checkpoint::save(&run.dir.join("best"), &model, None, &state)?;
            }
            last_report = Some(validation);
        }
        checkpoint::save(&last_dir, &model, Some(&optim), &state)
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
