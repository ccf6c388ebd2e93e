//! The training config: a TOML file with OML's pipeline keys (`extractor_training_pipeline`),
//! typed. Unknown keys and wrong types are errors that name the key.

use std::path::{Path, PathBuf};

mod average;
mod criterion;
mod extractor;
mod limits;
mod logger;
mod metrics;
mod optim;
#[cfg(test)]
mod props;
mod transforms;

use oml_core::sampler::SamplerConfig;
use oml_models::precision::Precision;
use serde::{Deserialize, Serialize};

pub use average::{EmaWarmup, decay_at};

/// Largest layer of `arcface_with_mlp`'s projector a config may ask for.
pub const MAX_MLP_FEATURES: usize = 1 << 16;
pub use criterion::{
    ArcFaceSection, ArcFaceWithMlpSection, CriterionSection, PairLossSection, ProxyAnchorSection,
    SurrogatePrecisionSection, TripletPlainSection,
};
pub use extractor::ExtractorSection;
pub use logger::{LoggerSection, MlflowSection};
pub use metrics::MetricArgs;
pub use optim::{
    Anneal, OptimizerName, OptimizerSection, Position, SchedulerSection, WarmupSection,
};
pub use transforms::{CropSection, JitterSection, ResizeMode, TransformsSection};

use crate::device::DeviceChoice;

/// Everything a training run needs. Paths are relative to the config file's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of the sampler, the augmentations and the model's random initialisation. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// Folder the dataset's image paths are relative to.
    pub dataset_root: PathBuf,
    /// The dataset CSV, relative to `dataset_root` (OML `dataframe_name`). Default `df.csv`.
    #[serde(default = "default_dataframe")]
    pub dataframe: PathBuf,
    /// `auto`, `cpu`, `wgpu` or `cuda`. Default `auto`.
    #[serde(default)]
    pub device: DeviceChoice,
    /// Train data-parallel on this many devices of that kind (`cuda` 0..n, `wgpu` discrete
    /// GPUs 0..n): each takes its own batch from the sampler and the optimizer steps on the
    /// mean of their gradients, so a step consumes `devices` batches (OML: `devices` with
    /// DDP). With `cpu` the replicas share the one CPU (it works, it is not faster). Default 1.
    #[serde(default = "one_device")]
    pub devices: usize,
    /// Number of training epochs.
    pub max_epochs: u64,
    /// Validate every this many epochs (and after the last). Default 1.
    #[serde(default = "one")]
    pub valid_period: u64,
    /// Validate once before the first epoch, to report where training starts. Default true.
    #[serde(default = "yes")]
    pub valid_before_training: bool,
    /// The metric that picks the best checkpoint (OML's `metric_for_checkpointing`), higher is
    /// better. Default `OVERALL/cmc/1`.
    #[serde(default = "default_metric")]
    pub metric_for_checkpointing: String,
    /// Train only the projection head for this many first epochs (needs `extractor.head`).
    /// Default 0.
    #[serde(default)]
    pub freeze_n_epochs: u64,
    /// Validate and checkpoint an exponential moving average of the weights instead of the
    /// raw weights: after step n, `avg = d·avg + (1 − d)·θ` with
    /// `d = min(ema_decay, warm-up)` (see `ema_warmup`). Smooths the step-to-step noise of
    /// small-batch training; the raw weights still train and resume. E.g. `0.99` (about the
    /// last 100 steps once warmed up). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema_decay: Option<f64>,
    /// How the average's decay grows to `ema_decay`: `tensorflow` (default,
    /// `(1 + n) / (10 + n)`, slow: 0.987 after 672 steps), `mean` (the plain mean of the
    /// weights so far until its window reaches `1 / (1 − ema_decay)` steps) or `none`.
    #[serde(default)]
    pub ema_warmup: EmaWarmup,
    /// The float type of the forward and backward passes: `32` (default), `16` (f16, with
    /// dynamic loss scaling) or `"bf16"`, on a GPU device (Lightning's `precision`, which OML
    /// passes through). Weights, optimizer state, validation and checkpoints stay in f32;
    /// BatchNorms compute in f32. One device per node for now.
    #[serde(default, with = "precision_key")]
    pub precision: Precision,
    /// What to do with an image that cannot be read: `fail` (default) or `skip` (training rows
    /// only; reported with their line).
    #[serde(default)]
    pub bad_images: BadImages,
    /// Where the run's files go. Default `runs/<config file name>`.
    #[serde(default)]
    pub run_dir: Option<PathBuf>,
    pub extractor: ExtractorSection,
    pub transforms_train: TransformsSection,
    pub transforms_val: TransformsSection,
    /// How batches are drawn: `name` and that sampler's keys ([`SamplerConfig`]).
    pub sampler: SamplerConfig,
    /// The loss: `name = "triplet_with_miner"` (default) with its miner, `"arcface"`,
    /// `"arcface_with_mlp"`, `"surrogate_precision"`, `"proxy_anchor"` or a pair loss
    /// ([`CriterionSection`]).
    pub criterion: CriterionSection,
    pub optimizer: OptimizerSection,
    #[serde(default)]
    pub scheduler: SchedulerSection,
    /// A linear warm-up of the learning rate over the first steps (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<WarmupSection>,
    #[serde(default)]
    pub metric_args: MetricArgs,
    /// TensorBoard and MLflow, beside the run folder's logs (none by default).
    #[serde(default, skip_serializing_if = "is_default")]
    pub logger: LoggerSection,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn default_dataframe() -> PathBuf {
    PathBuf::from("df.csv")
}
fn one_device() -> usize {
    1
}
fn one() -> u64 {
    1
}
fn yes() -> bool {
    true
}
/// `precision` as TOML writes it: the numbers 32 and 16, or a string (`"bf16"`, `"16"`).
mod precision_key {
    use oml_models::precision::Precision;
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(i64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Precision, D::Error> {
        let text = match Written::deserialize(d)? {
            Written::Number(n) => n.to_string(),
            Written::Text(t) => t,
        };
        text.parse().map_err(serde::de::Error::custom)
    }

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
    pub fn serialize<S: Serializer>(p: &Precision, s: S) -> Result<S::Ok, S::Error> {
        match p {
            Precision::F32 => s.serialize_i64(32),
            Precision::F16 => s.serialize_i64(16),
            Precision::Bf16 => s.serialize_str("bf16"),
        }
    }
}
fn default_metric() -> String {
    "OVERALL/cmc/1".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadImages {
    #[default]
    Fail,
    Skip,
}

/// A config that cannot be used, naming the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("--set {assignment}: {message}")]
    BadSet { assignment: String, message: String },
}

impl TrainConfig {
    /// The learning rate of the optimizer step at `at`, the run's `step`-th (0-based): the
    /// schedule's, times the warm-up's factor.
    pub fn lr_at(&self, at: Position, step: u64) -> f64 {
        let lr = self.scheduler.lr(self.optimizer.lr, at);
        self.warmup.map_or(lr, |w| lr * w.factor(step))
    }

    /// Reads `path` and applies `--set key=value` overrides (dotted keys; the value is TOML,
    /// or a plain string when it does not parse as TOML).
    pub fn load(path: &Path, sets: &[String]) -> Result<Self, ConfigError> {
        let text = crate::io::read_regular_text(path, crate::io::MAX_TEXT_BYTES)
            .map_err(|source| ConfigError::Io { path: path.to_owned(), source })?;
        Self::parse(&text, path, sets)
    }

    pub fn parse(text: &str, path: &Path, sets: &[String]) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid { path: path.to_owned(), message };
        let mut table: toml::Table =
            text.parse().map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        for assignment in sets {
            apply_set(&mut table, assignment)?;
        }
        if table.contains_key("nodes") {
            return Err(invalid(
                "`[nodes]` (oml-train's own TCP protocol) is gone: several machines train \
                 under MPI, `mpirun -np N oml-train --config C.toml` (or srun), with \
                 oml-train built with `--features mpi`; see README, \"Several GPUs, several \
                 machines\""
                    .into(),
            ));
        }
        let config: Self = table
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string().trim().to_owned()))?;
        config.check().map_err(invalid)?;
        Ok(config)
    }

    /// Every value checked before anything is loaded or built; all problems are reported at
    /// once.
    fn check(&self) -> Result<(), String> {
        let mut errors: Vec<String> = Vec::new();
        if self.max_epochs == 0 {
            errors.push("max_epochs must be at least 1".into());
        }
        if self.precision != Precision::F32 && self.devices > 1 {
            errors.push(format!(
                "precision = {}: half precision trains on one device per process for now",
                self.precision
            ));
        }
        if self.freeze_n_epochs > 0 && self.extractor.head.is_empty() {
            errors.push("freeze_n_epochs needs a projection head (extractor.head) to train".into());
        }
        if !(self.optimizer.lr.is_finite() && self.optimizer.lr > 0.0) {
            errors.push(format!("optimizer.lr must be positive, got {}", self.optimizer.lr));
        }
        errors.extend(self.optimizer.problems());
        errors.extend(self.scheduler.problems());
        errors.extend(self.warmup.iter().flat_map(WarmupSection::problems));
        errors.extend(self.logger.problems());
        let grouped =
            self.optimizer.backbone_lr.is_some() || self.optimizer.clip_grad_norm.is_some();
        if grouped && self.devices > 1 {
            errors.push(
                "optimizer.backbone_lr and clip_grad_norm step on one device per process for \
                 now; train on several GPUs as MPI ranks (README, \"Several GPUs, several \
                 machines\")"
                    .into(),
            );
        }
        for (name, p) in [
            ("transforms_train.hflip", self.transforms_train.hflip),
            ("transforms_train.grayscale", self.transforms_train.grayscale),
        ] {
            if !(0.0..=1.0).contains(&p) {
                errors.push(format!("{name} is a probability, got {p}"));
            }
        }
        let degrees = self.transforms_train.rotation;
        if !(0.0..=180.0).contains(&degrees) {
            errors
                .push(format!("transforms_train.rotation is in degrees, 0 to 180, got {degrees}"));
        }
        for size in [self.transforms_train.size, self.transforms_val.size] {
            if !(16..=1024).contains(&size) {
                errors.push(format!("transforms size {size} is outside 16..=1024"));
            }
        }
        if !(1..=16).contains(&self.extractor.members) {
            errors
                .push(format!("extractor.members must be 1 to 16, got {}", self.extractor.members));
        }
        if self.extractor.members > 1 && !self.extractor.head.is_empty() {
            errors.push("extractor.members > 1 joins backbones: it takes no extractor.head".into());
        }
        if self.devices == 0 {
            errors.push("devices must be at least 1".into());
        }
        if let Some(d) = self.ema_decay
            && !(d > 0.0 && d < 1.0)
        {
            errors.push(format!("ema_decay must be between 0 and 1 (exclusive), got {d}"));
        }
        self.check_ranges(&mut errors);
        match &self.criterion {
            CriterionSection::SurrogatePrecision(p) => {
                if let Err(e) = p.config().init() {
                    errors.push(format!("criterion (surrogate_precision): {e}"));
                }
            }
            CriterionSection::Pairs(p) => {
                if let Err(e) = p.init() {
                    errors.push(format!("criterion ({}): {e}", p.name()));
                }
            }
            CriterionSection::ProxyAnchor(p) => {
                let (alpha, margin) = (p.alpha, p.margin);
                if !(alpha.is_finite() && alpha > 0.0 && margin.is_finite()) {
                    errors.push(format!(
                        "criterion (proxy_anchor): alpha must be positive and margin finite, \
                         got alpha {alpha}, margin {margin}"
                    ));
                }
            }
            CriterionSection::ArcFaceWithMlp(a) => {
                let sizes = &a.mlp_features;
                if sizes.is_empty() || sizes.iter().any(|&n| n == 0 || n > MAX_MLP_FEATURES) {
                    errors.push(format!(
                        "criterion (arcface_with_mlp): mlp_features must list at least one \
                         layer size, each between 1 and {MAX_MLP_FEATURES}, got {sizes:?}"
                    ));
                }
            }
            CriterionSection::TripletPlain(t) => {
                if let Err(e) = t.init() {
                    errors.push(format!("criterion (triplet_plain): {e}"));
                }
                if let Some(n) = t.triplets_per_batch
                    && !(1..=oml_core::sampler::MAX_TRIPLETS).contains(&n)
                {
                    errors.push(format!(
                        "criterion (triplet_plain): triplets_per_batch must be between 1 and {}, \
                         got {n}",
                        oml_core::sampler::MAX_TRIPLETS
                    ));
                }
            }
            CriterionSection::TripletWithMiner(_) | CriterionSection::ArcFace(_) => {}
        }
        if self.valid_period == 0 {
            errors.push("valid_period must be at least 1".into());
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            n => Err(format!("{n} problems:\n  - {}", errors.join("\n  - "))),
        }
    }

    /// The resolved config as TOML (written into the run folder).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
    }
}

fn apply_set(table: &mut toml::Table, assignment: &str) -> Result<(), ConfigError> {
    let bad = |message: &str| ConfigError::BadSet {
        assignment: assignment.to_owned(),
        message: message.to_owned(),
    };
    let (key, raw) = assignment.split_once('=').ok_or_else(|| bad("expected key=value"))?;
    let value: toml::Value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let parts: Vec<&str> = key.trim().split('.').collect();
    let (last, parents) = parts.split_last().ok_or_else(|| bad("empty key"))?;
    let mut node = table;
    for part in parents {
        let entry = node
            .entry((*part).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = entry.as_table_mut().ok_or_else(|| bad(&format!("`{part}` is not a table")))?;
    }
    node.insert((*last).to_owned(), value);
    Ok(())
}
