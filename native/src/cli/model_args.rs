//! Arguments shared by the tools that run a trained model over a dataset.

use std::path::PathBuf;

use clap::Args;
use oml_models::embedder::Embedder;

use crate::device::DeviceChoice;
use crate::failure::{Failure, bad_input};
use crate::saved::load_trained;
use oml_models::model_file::FileModel;

/// A checkpoint of an oml-train run and a dataset to run it on.
#[derive(Debug, Args)]
pub struct ModelOnDataset {
    /// A checkpoint folder of an oml-train run (RUN/best, RUN/last), the run folder, or a
    /// model file from `oml export` (.safetensors).
    #[arg(long, value_name = "CK")]
    pub checkpoint: PathBuf,
    /// Dataset in OML's CSV format (its validation rows are used).
    #[arg(long, value_name = "CSV")]
    pub dataset: PathBuf,
    /// Where the dataset's relative paths start. Default: the CSV's folder.
    #[arg(long, value_name = "DIR")]
    pub dataset_root: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
}

impl ModelOnDataset {
    /// The trained model on the chosen device.
    pub fn embedder(&self) -> Result<Embedder<FileModel>, Failure> {
        let device = self.device.device().map_err(bad_input)?;
        load_trained(&self.checkpoint, &device).map_err(bad_input)
    }
}

/// A model to embed with: a zoo model, or a trained one (a model file or a checkpoint).
pub enum AnyEmbedder {
    Zoo(Embedder<oml_models::extractor::AnyExtractor>),
    Trained(Embedder<FileModel>),
}

impl AnyEmbedder {
    /// The model named by `--model` (a zoo name, a model file or a checkpoint folder), on
    /// `device` in `precision`, and its identity: `zoo:<name>` (with `@sha256:<hex>` of
    /// `--weights`), or `sha256:<hex>` of the trained model's file.
    pub fn load(
        model: &str,
        weights: Option<&std::path::Path>,
        offline: bool,
        device: DeviceChoice,
        precision: oml_models::precision::Precision,
    ) -> Result<(Self, String), Failure> {
        let device = device.device().map_err(bad_input)?;
        crate::device::check_precision(&device, precision).map_err(bad_input)?;
        let path = std::path::Path::new(model);
        if path.exists() {
            if weights.is_some() {
                return Err(bad_input(anyhow::anyhow!("--weights goes with a zoo model")));
            }
            let identity = crate::saved::trained_identity(path).map_err(bad_input)?;
            let embedder = load_trained(path, &device).map_err(bad_input)?;
            return Ok((Self::Trained(embedder.with_precision(precision)), identity));
        }
        let (embedder, name) = super::embed::zoo_embedder(model, weights, offline, device)?;
        let identity = match weights {
            Some(w) => {
                format!("zoo:{name}@sha256:{}", crate::saved::file_sha256(w).map_err(bad_input)?)
            }
            None => format!("zoo:{name}"),
        };
        Ok((Self::Zoo(embedder.with_precision(precision)), identity))
    }

    /// The embedding size.
    pub fn feat_dim(&self) -> usize {
        match self {
            Self::Zoo(e) => e.feat_dim(),
            Self::Trained(e) => e.feat_dim(),
        }
    }

    /// `[items, feat_dim]` embeddings, row-major; a progress bar on a terminal.
    pub fn embed(
        &self,
        items: &[crate::embed::ImageItem],
        batch_size: usize,
    ) -> Result<Vec<f32>, Failure> {
        let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
        match self {
            Self::Zoo(e) => crate::embed::embed_items(e, items, batch_size, show),
            Self::Trained(e) => crate::embed::embed_items(e, items, batch_size, show),
        }
        .map_err(crate::failure::embed_failure)
    }
}

/// The model options of the commands that embed with any model (`oml predict`, `oml index`).
#[derive(Debug, Args)]
pub struct ModelOptions {
    /// A zoo model (`oml embed --model help` lists them), a model file from `oml export`
    /// (.safetensors), or a checkpoint folder of an oml-train run.
    #[arg(long, value_name = "NAME|FILE|CK")]
    pub model: String,
    /// With a zoo model: weights to load instead of the zoo's download.
    #[arg(long, value_name = "PATH")]
    pub weights: Option<PathBuf>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// The float type the model computes in on a GPU: 32, 16 (f16) or bf16.
    #[arg(long, default_value = "32", value_name = "32|16|bf16")]
    pub precision: oml_models::precision::Precision,
    /// Never download: use the cache or --weights only.
    #[arg(long)]
    pub offline: bool,
}

impl ModelOptions {
    /// The model and its identity ([`AnyEmbedder::load`]).
    pub fn load(&self) -> Result<(AnyEmbedder, String), Failure> {
        AnyEmbedder::load(
            &self.model,
            self.weights.as_deref(),
            self.offline,
            self.device,
            self.precision,
        )
    }
}
