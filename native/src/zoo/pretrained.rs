//! "A zoo model and its weights", resolved the same way by every command.

use std::path::Path;

use burn::tensor::Device;
use oml_models::extractor::{AnyExtractor, WeightsError};
use oml_models::zoo::ZooEntry;

use super::{cache_dir, weights_for};

/// Why a zoo model could not be built: its weights could not be fetched (the network, the
/// cache: not the input's fault), or the file is not this architecture's.
#[derive(Debug, thiserror::Error)]
pub enum PretrainedError {
    #[error(transparent)]
    Fetch(anyhow::Error),
    #[error(transparent)]
    Load(#[from] WeightsError),
}

/// `entry`'s architecture on `device` with `weights` loaded: a file the user gave, else the
/// zoo's own weights from the cache (downloaded and checked unless `offline`).
pub fn pretrained(
    entry: &ZooEntry,
    weights: Option<&Path>,
    offline: bool,
    device: &Device,
) -> Result<AnyExtractor, PretrainedError> {
    let path = match weights {
        Some(path) => path.to_owned(),
        None => weights_for(entry, &cache_dir(), offline).map_err(PretrainedError::Fetch)?,
    };
    let mut model = entry.arch.init(device);
    model.load_weights(&path)?;
    Ok(model)
}
