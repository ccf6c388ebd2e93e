//! `[optimizer]` and `[scheduler]`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    Adam,
    AdamW,
    Sgd,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    pub name: OptimizerName,
    pub lr: f64,
    /// Default 0 (AdamW: 0.01, PyTorch's default).
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// SGD momentum. Default 0.
    #[serde(default)]
    pub momentum: f64,
}

/// The learning rate over epochs: constant, cosine down to `min_lr`, or `gamma` every
/// `step_size` epochs. A pure function of the epoch, so resuming needs only the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum SchedulerSection {
    #[default]
    Constant,
    Cosine {
        #[serde(default)]
        min_lr: f64,
    },
    Step {
        step_size: u64,
        gamma: f64,
    },
}

impl SchedulerSection {
    /// The learning rate of `epoch` (0-based) out of `epochs`.
    pub fn lr(&self, base: f64, epoch: u64, epochs: u64) -> f64 {
        match *self {
            Self::Constant => base,
            Self::Cosine { min_lr } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Self::Step { step_size, gamma } => {
                let k = (epoch / step_size.max(1)) as i32;
                base * gamma.powi(k)
            }
        }
    }
}
