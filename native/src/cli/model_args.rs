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
