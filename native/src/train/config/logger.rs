//! `[logger]`: experiment loggers beside the run folder's CSV/JSONL logs (which stay).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where else a run logs its per-step loss, learning rate and throughput, its per-validation
/// metrics, its config and its report's pictures.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggerSection {
    /// TensorBoard event files in this folder (relative to the run folder, e.g.
    /// `"tensorboard"`). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensorboard: Option<PathBuf>,
    /// An MLflow tracking server. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<MlflowSection>,
}

/// An MLflow tracking server and where in it the run goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlflowSection {
    /// The server, e.g. `"http://127.0.0.1:5000"` (`mlflow server`'s address).
    pub tracking_uri: String,
    /// The experiment (created when missing). Default `"oml-train"`.
    #[serde(default = "default_experiment")]
    pub experiment: String,
    /// The MLflow run's name. Default: the run folder's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_name: Option<String>,
}

fn default_experiment() -> String {
    "oml-train".to_owned()
}

impl LoggerSection {
    /// Every value out of range, named.
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(m) = &self.mlflow
            && !(m.tracking_uri.starts_with("http://") || m.tracking_uri.starts_with("https://"))
        {
            errors.push(format!(
                "logger.mlflow.tracking_uri must be an http:// or https:// address, got `{}`",
                m.tracking_uri
            ));
        }
        if self.tensorboard.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            errors.push("logger.tensorboard must name a folder".into());
        }
        errors
    }
}
