//! `[optimizer]`, `[scheduler]` and `[warmup]`: PyTorch's optimizers and learning-rate
//! schedules, with PyTorch's keys and defaults (checked against PyTorch's trajectories in
//! `train::update`'s tests, fixtures made by `tests/fixtures/optim/make_trajectories.py`).

use std::f64::consts::PI;

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, LambConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    Adam,
    AdamW,
    Sgd,
    RmsProp,
    Lamb,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    pub name: OptimizerName,
    pub lr: f64,
    /// Default 0 (AdamW: 0.01, PyTorch's default). L2 added to the gradient, except AdamW's
    /// (decoupled) and LAMB's (applied to the update).
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// SGD and RMSprop momentum. Default 0.
    #[serde(default)]
    pub momentum: f64,
    /// SGD: Nesterov momentum. Default false.
    #[serde(default)]
    pub nesterov: bool,
    /// Adam, AdamW, LAMB: `[β1, β2]`. Default `[0.9, 0.999]`.
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// Adam, AdamW, RMSprop: added to the denominator. Default 1e-8 (LAMB: 1e-6).
    #[serde(default)]
    pub eps: Option<f64>,
    /// RMSprop smoothing constant. Default 0.99.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// RMSprop: normalise by the centred second moment. Default false.
    #[serde(default)]
    pub centered: bool,
    /// The backbone's learning rate (a parameter group; the projection head and the
    /// criterion's weights keep `lr`), scaled by the same schedule. Default: `lr`.
    #[serde(default)]
    pub backbone_lr: Option<f64>,
    /// Clip the gradients to this global L2 norm (`torch.nn.utils.clip_grad_norm_`). Default
    /// none.
    #[serde(default)]
    pub clip_grad_norm: Option<f64>,
}

fn default_betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn default_alpha() -> f64 {
    0.99
}

impl OptimizerSection {
    /// A section with PyTorch's defaults for `name` at `lr`.
    pub fn new(name: OptimizerName, lr: f64) -> Self {
        Self {
            name,
            lr,
            weight_decay: None,
            momentum: 0.0,
            nesterov: false,
            betas: default_betas(),
            eps: None,
            alpha: default_alpha(),
            centered: false,
            backbone_lr: None,
            clip_grad_norm: None,
        }
    }

    /// burn's optimizer for this section.
    pub fn build(&self) -> ModuleOptimizer {
        let eps = self.eps.unwrap_or(1e-8) as f32;
        let [beta_1, beta_2] = self.betas.map(|b| b as f32);
        let l2 = {
            let penalty = self.weight_decay.unwrap_or(0.0);
            (penalty > 0.0).then(|| WeightDecayConfig::new(penalty as f32))
        };
        let momentum = (self.momentum > 0.0).then(|| {
            MomentumConfig::new()
                .with_momentum(self.momentum)
                .with_dampening(0.0)
                .with_nesterov(self.nesterov)
        });
        match self.name {
            OptimizerName::Adam => AdamConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(eps)
                .with_weight_decay(l2)
                .init(),
            OptimizerName::AdamW => AdamWConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(eps)
                .with_weight_decay(self.weight_decay.unwrap_or(0.01) as f32)
                .init(),
            OptimizerName::Sgd => {
                SgdConfig::new().with_weight_decay(l2).with_momentum(momentum).init()
            }
            OptimizerName::RmsProp => RmsPropConfig::new()
                .with_alpha(self.alpha as f32)
                .with_epsilon(eps)
                .with_centered(self.centered)
                .with_momentum(self.momentum as f32)
                .with_weight_decay(l2)
                .init(),
            OptimizerName::Lamb => LambConfig::new()
                .with_beta_1(beta_1)
                .with_beta_2(beta_2)
                .with_epsilon(self.eps.unwrap_or(1e-6) as f32)
                .with_weight_decay(self.weight_decay.unwrap_or(0.0) as f32)
                .init(),
        }
    }

    /// Every value out of range, named.
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if let Some(wd) = self.weight_decay
            && !(wd.is_finite() && wd >= 0.0)
        {
            errors.push(format!("optimizer.weight_decay must be 0 or more, got {wd}"));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            errors.push(format!("optimizer.momentum must be in [0, 1), got {}", self.momentum));
        }
        if self.nesterov && (self.name != OptimizerName::Sgd || self.momentum == 0.0) {
            errors.push("optimizer.nesterov needs name = \"sgd\" and a momentum".into());
        }
        if self.betas.iter().any(|b| !(0.0..1.0).contains(b)) {
            errors.push(format!("optimizer.betas must be in [0, 1), got {:?}", self.betas));
        }
        if !(0.0..1.0).contains(&self.alpha) {
            errors.push(format!("optimizer.alpha must be in [0, 1), got {}", self.alpha));
        }
        for (key, value) in [
            ("eps", self.eps),
            ("backbone_lr", self.backbone_lr),
            ("clip_grad_norm", self.clip_grad_norm),
        ] {
            if let Some(v) = value
                && !positive(v)
            {
                errors.push(format!("optimizer.{key} must be positive, got {v}"));
            }
        }
        errors
    }
}

/// The learning rate over training, as a factor of `optimizer.lr` (one-cycle: of its
/// `max_lr`). Epoch schedules (constant, cosine, step, multistep, exponential, cosine with
/// restarts) change once per epoch, as PyTorch's schedulers stepped per epoch; one-cycle changes
/// every step. A pure function of the position, so resuming needs only the step count.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum SchedulerSection {
    #[default]
    Constant,
    /// Cosine from `lr` at epoch 0 towards `min_lr` at `max_epochs` (`CosineAnnealingLR`).
    Cosine {
        #[serde(default)]
        min_lr: f64,
    },
    /// `gamma` every `step_size` epochs (`StepLR`).
    Step { step_size: u64, gamma: f64 },
    /// `gamma` at each epoch of `milestones` (`MultiStepLR`).
    Multistep { milestones: Vec<u64>, gamma: f64 },
    /// `gamma` every epoch (`ExponentialLR`).
    Exponential { gamma: f64 },
    /// Cosine from `lr` to `eta_min` over `t_0` epochs, restarted, each period `t_mult` times
    /// the last (`CosineAnnealingWarmRestarts`).
    CosineRestarts {
        t_0: u64,
        #[serde(default = "one_u64")]
        t_mult: u64,
        #[serde(default)]
        eta_min: f64,
    },
    /// One cycle over all steps (`OneCycleLR`, without its momentum cycling): from
    /// `max_lr / div_factor` up to `max_lr` over the first `pct_start` of the steps, then down
    /// to `max_lr / div_factor / final_div_factor`.
    OneCycle {
        max_lr: f64,
        #[serde(default = "three_tenths")]
        pct_start: f64,
        #[serde(default)]
        anneal_strategy: Anneal,
        #[serde(default = "twenty_five")]
        div_factor: f64,
        #[serde(default = "ten_thousand")]
        final_div_factor: f64,
    },
}

/// How one-cycle moves between its rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anneal {
    #[default]
    Cos,
    Linear,
}

fn one_u64() -> u64 {
    1
}
fn three_tenths() -> f64 {
    0.3
}
fn twenty_five() -> f64 {
    25.0
}
fn ten_thousand() -> f64 {
    1e4
}

/// Where a step is: epoch (0-based) of `epochs`, and step (0-based) of the epoch's
/// `steps_per_epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub epoch: u64,
    pub epochs: u64,
    pub step: u64,
    pub steps_per_epoch: u64,
}

impl SchedulerSection {
    /// The learning rate at `at`, from the optimizer's `base`.
    pub fn lr(&self, base: f64, at: Position) -> f64 {
        let epoch = at.epoch;
        match *self {
            Self::Constant => base,
            Self::Cosine { min_lr } => {
                let t = epoch as f64 / at.epochs.max(1) as f64;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (PI * t).cos())
            }
            Self::Step { step_size, gamma } => {
                base * gamma.powi(i32::try_from(epoch / step_size.max(1)).unwrap_or(i32::MAX))
            }
            Self::Multistep { ref milestones, gamma } => {
                let passed = milestones.iter().filter(|&&m| m <= epoch).count();
                base * gamma.powi(i32::try_from(passed).unwrap_or(i32::MAX))
            }
            Self::Exponential { gamma } => {
                base * gamma.powi(i32::try_from(epoch).unwrap_or(i32::MAX))
            }
            Self::CosineRestarts { t_0, t_mult, eta_min } => {
                let (mut t_cur, mut t_i) = (epoch, t_0.max(1));
                if t_mult <= 1 {
                    t_cur %= t_i;
                }
                // Periods grow geometrically: a few dozen rounds at most.
                while t_cur >= t_i {
                    t_cur -= t_i;
                    t_i = t_i.saturating_mul(t_mult);
                }
                eta_min + (base - eta_min) * (1.0 + (PI * t_cur as f64 / t_i as f64).cos()) / 2.0
            }
            Self::OneCycle { max_lr, pct_start, anneal_strategy, div_factor, final_div_factor } => {
                let total = (at.epochs * at.steps_per_epoch).max(1) as f64;
                let step = (epoch * at.steps_per_epoch + at.step) as f64;
                let initial = max_lr / div_factor;
                let min = initial / final_div_factor;
                let peak = pct_start * total - 1.0;
                let anneal = |from: f64, to: f64, pct: f64| match anneal_strategy {
                    Anneal::Cos => to + (from - to) / 2.0 * (1.0 + (PI * pct).cos()),
                    Anneal::Linear => (to - from) * pct + from,
                };
                if step <= peak {
                    anneal(initial, max_lr, step / peak)
                } else {
                    anneal(max_lr, min, (step - peak) / (total - 1.0 - peak))
                }
            }
        }
    }

    /// Every value out of range, named.
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let mut need = |ok: bool, what: String| {
            if !ok {
                errors.push(format!("scheduler.{what}"));
            }
        };
        match *self {
            Self::Constant => {}
            Self::Cosine { min_lr } => {
                need(
                    min_lr.is_finite() && min_lr >= 0.0,
                    format!("min_lr must be 0 or more, got {min_lr}"),
                );
            }
            Self::Step { step_size, gamma } => {
                need(step_size > 0, "step_size must be at least 1".into());
                need(positive(gamma), format!("gamma must be positive, got {gamma}"));
            }
            Self::Multistep { ref milestones, gamma } => {
                need(milestones.is_sorted(), format!("milestones must ascend, got {milestones:?}"));
                need(positive(gamma), format!("gamma must be positive, got {gamma}"));
            }
            Self::Exponential { gamma } => {
                need(positive(gamma), format!("gamma must be positive, got {gamma}"));
            }
            Self::CosineRestarts { t_0, t_mult, eta_min } => {
                need(t_0 > 0, "t_0 must be at least 1".into());
                need(t_mult > 0, "t_mult must be at least 1".into());
                need(
                    eta_min.is_finite() && eta_min >= 0.0,
                    format!("eta_min must be 0 or more, got {eta_min}"),
                );
            }
            Self::OneCycle { max_lr, pct_start, div_factor, final_div_factor, .. } => {
                need(positive(max_lr), format!("max_lr must be positive, got {max_lr}"));
                need(
                    pct_start > 0.0 && pct_start < 1.0,
                    format!("pct_start must be in (0, 1), got {pct_start}"),
                );
                need(
                    positive(div_factor),
                    format!("div_factor must be positive, got {div_factor}"),
                );
                need(
                    positive(final_div_factor),
                    format!("final_div_factor must be positive, got {final_div_factor}"),
                );
            }
        }
        errors
    }
}

/// `[warmup]`: the learning rate ramps linearly from `start_factor` of the schedule's to all of
/// it over the first `steps` optimizer steps (`LinearLR`, chained with the schedule: their
/// factors multiply).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmupSection {
    pub steps: u64,
    /// Default 1/3 (PyTorch's `LinearLR`).
    #[serde(default = "one_third")]
    pub start_factor: f64,
}

fn one_third() -> f64 {
    1.0 / 3.0
}

impl WarmupSection {
    /// The factor at optimizer step `step` (0-based, over the whole run).
    pub fn factor(&self, step: u64) -> f64 {
        let t = step.min(self.steps) as f64 / self.steps.max(1) as f64;
        self.start_factor + (1.0 - self.start_factor) * t
    }

    /// Every value out of range, named.
    pub fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.steps == 0 {
            errors.push("warmup.steps must be at least 1".into());
        }
        if !(self.start_factor > 0.0 && self.start_factor <= 1.0) {
            errors
                .push(format!("warmup.start_factor must be in (0, 1], got {}", self.start_factor));
        }
        errors
    }
}
