//! Trained models loaded back for the tools (`validate`, `search`, `visualize`, `export`):
//! a checkpoint folder of an `oml-train` run (`runs/<name>/<time>/best` or `last`) inside a
//! run folder whose `config.toml` says the architecture, head and preprocessing, or a model
//! file written by `oml export`.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use burn::tensor::Device;
use oml_data::image::Preprocess;
use oml_models::embedder::Embedder;
use oml_models::model_file::{self, SourceSpec};
use oml_models::zoo::{self, Arch};
use sha2::{Digest, Sha256};

use crate::train::{MODEL_FILE, TrainConfig, load_model};
use oml_models::model_file::FileModel;

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
             RUN/last), the run folder, or a model file from `oml export`",
            checkpoint.display()
        );
    }
    let run = dir.parent().filter(|r| r.join("config.toml").is_file()).ok_or_else(|| {
        anyhow!("{}: no config.toml in the run folder above the checkpoint", dir.display())
    })?;
    Ok((run.to_owned(), model))
}

/// Whether `path` is a model file (`oml export`'s output) rather than a run checkpoint.
pub fn is_model_file(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("safetensors"))
}

/// A trained model as `oml export` needs it: the unfolded model and what the model file
/// says about it.
#[derive(Debug)]
pub struct Trained {
    pub model: FileModel,
    pub arch: Arch,
    pub preprocess: Preprocess,
    pub normalise: bool,
    pub source: SourceSpec,
}

/// Loads a run checkpoint (not folded).
pub fn load_checkpoint(checkpoint: &Path, device: &Device) -> anyhow::Result<Trained> {
    let (run, model_file) = locate(checkpoint)?;
    let config_path = run.join("config.toml");
    let config_bytes = crate::io::read_regular(&config_path, crate::io::MAX_TEXT_BYTES)
        .with_context(|| format!("{}: cannot read", config_path.display()))?;
    let mut config = TrainConfig::load(&config_path, &[])?;
    config.extractor.pretrained = false;
    config.extractor.weights = None;
    let entry = zoo::find(&config.extractor.model)?;
    let model = crate::train::build_model(&config, &run, entry, device)?;
    let model = load_model(&model_file, model)
        .with_context(|| format!("loading {}", model_file.display()))?;
    let hash: String = Sha256::digest(&config_bytes).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Trained {
        model,
        arch: entry.arch,
        preprocess: crate::train::val_preprocess(entry, &config),
        normalise: config.extractor.normalise_features.unwrap_or(entry.normalise_features),
        source: SourceSpec {
            zoo_model: Some(entry.name.to_owned()),
            training_config_sha256: Some(hash),
            producer: producer(),
        },
    })
}

/// The identity of a trained model, recorded in indexes so that queries embedded by another
/// model are refused: `sha256:<hex>` of the model file, or of the checkpoint's weights.
pub fn trained_identity(checkpoint: &Path) -> anyhow::Result<String> {
    let file =
        if is_model_file(checkpoint) { checkpoint.to_owned() } else { locate(checkpoint)?.1 };
    Ok(format!("sha256:{}", file_sha256(&file)?))
}

/// The SHA-256 of a file's bytes, in hex, read in blocks.
pub fn file_sha256(path: &Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    let mut file = crate::io::open_regular(path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n =
            file.read(&mut block).with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `oml-rs <version>`: the producer written into model files.
pub fn producer() -> String {
    format!("oml-rs {}", env!("CARGO_PKG_VERSION"))
}

/// A model file from `oml export`, ready to embed (BatchNorms folded).
pub fn load_model_file(path: &Path, device: &Device) -> anyhow::Result<Embedder<FileModel>> {
    let bytes = crate::io::read_regular(path, u64::MAX)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let (_, embedder) = model_file::load_embedder(&bytes, device)
        .with_context(|| format!("{}: not a usable model file", path.display()))?;
    Ok(embedder)
}

/// The trained model with its validation preprocessing, ready to embed: a model file, or a
/// run checkpoint.
pub fn load_trained(checkpoint: &Path, device: &Device) -> anyhow::Result<Embedder<FileModel>> {
    if is_model_file(checkpoint) {
        return load_model_file(checkpoint, device);
    }
    let t = load_checkpoint(checkpoint, device)?;
    Ok(Embedder {
        model: t.model,
        preprocess: t.preprocess,
        normalise: t.normalise,
        device: device.clone(),
        precision: Default::default(),
    })
}
