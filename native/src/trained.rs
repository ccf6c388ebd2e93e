//! Models trained by `oml-train`, loaded back for the tools (`validate`, `search`,
//! `visualize`): a checkpoint folder (`runs/<name>/<time>/best` or `last`) inside a run folder
//! whose `config.toml` says the architecture, head and preprocessing.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use burn::tensor::Device;
use oml_models::embedder::Embedder;
use oml_models::zoo;

use crate::train::{MODEL_FILE, TrainConfig, TrainModel, load_model};

/// The run folder and the model file of a checkpoint given as a checkpoint folder, its
/// `model.bpk`, or a run folder (then its `best/` checkpoint).
fn locate(checkpoint: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (dir, model) = if checkpoint.is_file() {
        let dir = checkpoint.parent().unwrap_or(Path::new(".")).to_owned();
        (dir, checkpoint.to_owned())
    } else if checkpoint.join("best").join(MODEL_FILE).is_file() {
        (checkpoint.join("best"), checkpoint.join("best").join(MODEL_FILE))
    } else {
        (checkpoint.to_owned(), checkpoint.join(MODEL_FILE))
    };
    if !model.is_file() {
        anyhow::bail!(
            "{}: no {MODEL_FILE}; pass a checkpoint folder of an oml-train run (RUN/best or \
             RUN/last) or the run folder",
            checkpoint.display()
        );
    }
    let run = dir.parent().filter(|r| r.join("config.toml").is_file()).ok_or_else(|| {
        anyhow!("{}: no config.toml in the run folder above the checkpoint", dir.display())
    })?;
    Ok((run.to_owned(), model))
}

/// The trained model with its validation preprocessing, ready to embed.
pub fn load_trained(checkpoint: &Path, device: &Device) -> anyhow::Result<Embedder<TrainModel>> {
    let (run, model_file) = locate(checkpoint)?;
    let config_path = run.join("config.toml");
    let mut config = TrainConfig::load(&config_path, &[])?;
    config.extractor.pretrained = false;
    config.extractor.weights = None;
    let entry = zoo::find(&config.extractor.model)?;
    let model = crate::train::build_model(&config, &run, entry, device)?;
    let model = load_model(&model_file, model)
        .with_context(|| format!("loading {}", model_file.display()))?;
    let preprocess = crate::train::val_preprocess(entry, &config);
    let normalise = config.extractor.normalise_features.unwrap_or(entry.normalise_features);
    Ok(Embedder { model, preprocess, normalise, device: device.clone() })
}
