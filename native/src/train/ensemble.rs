//! `extractor.members = K`: a deep ensemble. The members are trained one after another, each
//! an ordinary run in `RUN/members/<k>` with seed `seed + k` (its own sampler order,
//! augmentations and checkpoints, so a kill loses at most one member's epoch); their final
//! models are then joined into one [`AnyExtractor::Ensemble`] (distances = the members'
//! mean), validated, and written as the run's `best` and `last` checkpoints, which the tools
//! (`oml validate`, `search`, `visualize`, `export`) load like any other.
//!
//! Why: on small training sets the seed-to-seed spread of one recipe is large (0.02-0.04
//! CMC@1 on the emoji benchmark), and averaging independently trained members' distances
//! removes much of it and lifts the mean (benches/README.md, "Ensembles").

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use oml_core::metrics::{MetricsReport, evaluate};
use oml_core::retrieval::Embeddings;
use oml_models::extractor::{AnyExtractor, ExtractorWithMlp, MlpHead};
use oml_models::zoo;

use oml_models::model_file::FileModel;

use super::build::{build_model, preprocess};
use super::checkpoint::{self, MODEL_FILE, TrainState};
use super::config::{BadImages, TrainConfig};
use super::criterion::Trainee;
use super::data::{ImagePipeline, TrainData};
use super::log::{forget_metrics_after, log_metrics};
use super::processes::Processes;
use super::report::{self, Outcome};
use super::run::{Run, start_run_dir};
use super::single;
use super::validation::{Validation, validate};
use crate::tables;

/// Member `k` of an ensemble run: an ordinary one-model run in `RUN/members/<k>`, seed
/// `seed + k`, without the pretrained validation (the ensemble run does it once).
pub fn member_run(run: &Run, k: usize) -> Run {
    let mut config = run.config.clone();
    config.extractor.members = 1;
    config.seed = run.config.seed.wrapping_add(k as u64);
    config.valid_before_training = false;
    config.run_dir = None;
    Run {
        dir: run.dir.join("members").join(k.to_string()),
        config,
        base: run.base.clone(),
        loggers: run.loggers.with_prefix(&format!("member{k}/")),
    }
}

/// Trains (or resumes) every member, then joins, validates and saves the ensemble; returns
/// the ensemble's validation report, if the data has validation rows.
pub fn train(run: &Run, resume: bool) -> anyhow::Result<Option<MetricsReport>> {
    let started = Instant::now();
    let config = &run.config;
    let members = config.extractor.members;
    let entry = zoo::find(&config.extractor.model)?;
    let device = config.device.device()?;
    let root = run.base.join(&config.dataset_root);
    let skip_bad = config.bad_images == BadImages::Skip;
    let data = TrainData::load(&root.join(&config.dataframe), &root, skip_bad)?;
    let normalise = config.extractor.normalise_features.unwrap_or(entry.normalise_features);
    let val_pipeline = ImagePipeline {
        preprocess: preprocess(entry, &config.transforms_val),
        augment: None,
        seed: config.seed,
    };
    let metric = &config.metric_for_checkpointing;
    let metrics = config.metric_args.metrics_config();

    // The pretrained model's metrics, once for all members.
    let mut before = if resume { logged_value(run, 0, metric) } else { None };
    if resume {
        // A kill after the ensemble's line was logged but before its checkpoint.
        forget_metrics_after(run, 0)?;
    } else if config.valid_before_training {
        let mut single = config.clone();
        single.extractor.members = 1;
        let model = build_model(&single, &run.base, entry, &device)?;
        if let Some(v) = validate(&data, &model, &val_pipeline, normalise, &device, &metrics)? {
            println!(
                "before training: validation {:.1} s: {}",
                v.seconds,
                tables::compact(&v.report)
            );
            log_metrics(run, 0, None, &v.report)?;
            before = v.report.get(metric);
        }
    }

    let (joined, steps) = train_members(run, entry, &device)?;
    let ensemble: FileModel = ExtractorWithMlp {
        extractor: AnyExtractor::Ensemble(joined),
        projection: MlpHead { layers: Vec::new() },
    };
    let trainee = Trainee::model_only(ensemble);
    let epochs = config.max_epochs;
    let mut state = TrainState { epochs_done: epochs, best: None, steps };

    let validation = validate(&data, &trainee.model, &val_pipeline, normalise, &device, &metrics)?;
    if let (Some(v), Some(qg)) = (&validation, &data.valid_qg) {
        println!(
            "ensemble of {members}: validation {:.1} s: {}",
            v.seconds,
            tables::compact(&v.report)
        );
        log_metrics(run, epochs, None, &v.report)?;
        let value = v.report.get(metric);
        state.best = value.map(|x| (x, epochs));
        let alone = member_values(v, qg, members, run, metric)?;
        let seconds = started.elapsed().as_secs_f64();
        report::finish(run, &data, v, &Outcome { before, best: None, members, seconds })?;
        let before = before.map_or_else(String::new, |v| format!("{v:.4} before training -> "));
        let alone: Vec<String> = alone.iter().map(|v| format!("{v:.4}")).collect();
        println!(
            "{metric}: {before}{:.4} with {members} members of {epochs} epochs (each alone: {}); \
             run folder {}",
            value.unwrap_or(f64::NAN),
            alone.join(", "),
            run.dir.display()
        );
    }
    checkpoint::save(&run.dir.join("best"), &trainee, None, None, &state)?;
    checkpoint::save(&run.dir.join("last"), &trainee, None, None, &state)
        .context("cannot write the checkpoint")?;
    Ok(validation.map(|v| v.report))
}

/// Trains (or resumes, or finds trained) every member; returns their trained extractors and
/// the optimizer steps they took.
fn train_members(
    run: &Run,
    entry: &zoo::ZooEntry,
    device: &burn::tensor::Device,
) -> anyhow::Result<(Vec<AnyExtractor>, u64)> {
    let members = run.config.extractor.members;
    let mut joined = Vec::with_capacity(members);
    let mut steps = 0;
    for k in 0..members {
        let member = member_run(run, k);
        let last = member.dir.join("last");
        let done = checkpoint::find(&last).and_then(|d| checkpoint::epochs_done(&d));
        match done {
            Some(e) if e >= member.config.max_epochs => {
                eprintln!("member {}/{members}: trained ({})", k + 1, member.dir.display());
            }
            Some(_) => {
                eprintln!("member {}/{members} (seed {}): resuming", k + 1, member.config.seed);
                single::train(&member, true, &Processes::alone())?;
            }
            None => {
                eprintln!(
                    "member {}/{members} (seed {}): {}",
                    k + 1,
                    member.config.seed,
                    member.dir.display()
                );
                start_run_dir(&member.dir, &member.config, &member.base)?;
                single::train(&member, false, &Processes::alone())?;
            }
        }
        let state = read_state(&last)?;
        steps += state.steps;
        let model = build_model(&unpretrained(&member), &member.base, entry, device)?;
        let model = checkpoint::load_model(&last.join(MODEL_FILE), model)
            .with_context(|| format!("member {}", k + 1))?;
        joined.push(model.extractor);
    }
    Ok((joined, steps))
}

/// The member's config for rebuilding its trained model: no pretrained weights to fetch.
fn unpretrained(member: &Run) -> TrainConfig {
    let mut config = member.config.clone();
    config.extractor.pretrained = false;
    config.extractor.weights = None;
    config
}

fn read_state(last: &Path) -> anyhow::Result<TrainState> {
    let path = last.join("state.json");
    let text = crate::io::read_regular_text(&path, crate::io::MAX_TEXT_BYTES)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a training state", path.display()))
}

/// Each member's `metric` on the validation rows, from its block of the ensemble's
/// embeddings (the same ranking as the member alone: its normalised embedding, scaled).
fn member_values(
    v: &Validation,
    qg: &oml_core::retrieval::QueryGallery,
    members: usize,
    run: &Run,
    metric: &str,
) -> anyhow::Result<Vec<f64>> {
    let rows = v.embeddings.len() / v.dim.max(1);
    let width = v.dim / members;
    (0..members)
        .map(|k| {
            let block: Vec<f32> = v
                .embeddings
                .chunks_exact(v.dim)
                .flat_map(|row| &row[k * width..(k + 1) * width])
                .copied()
                .collect();
            let emb = Embeddings::new(&block, rows, width)?;
            let report = evaluate(&emb, qg, &run.config.metric_args.metrics_config())?.report;
            Ok(report.get(metric).unwrap_or(f64::NAN))
        })
        .collect()
}

/// `metric` on the line of `epoch` in the run's metrics.jsonl, if logged.
fn logged_value(run: &Run, epoch: u64, metric: &str) -> Option<f64> {
    let text = std::fs::read_to_string(run.dir.join("metrics.jsonl")).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|row| row["epoch"].as_u64() == Some(epoch))
        .and_then(|row| row[metric].as_f64())
}
