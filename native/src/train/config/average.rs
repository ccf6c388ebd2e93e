//! `ema_warmup`: how the weight average's decay grows (see `train::average`).

use serde::{Deserialize, Serialize};

/// How the average's decay grows to `ema_decay` over the first steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmaWarmup {
    /// `w_n = (1 + n) / (10 + n)`, TensorFlow's `ExponentialMovingAverage(num_updates=n)`.
    /// Slow: it reaches 0.99 only after 890 steps and 0.998 after 4,490, so in a short run it,
    /// not `ema_decay`, sets the window (0.987 after 672 steps, about the last 75).
    #[default]
    Tensorflow,
    /// `w_n = n / (n + 1)`: the exact mean of the weights after every step so far, until that
    /// window reaches `1 / (1 − ema_decay)` steps (100 for 0.99), an exponential average from
    /// then on.
    Mean,
    /// `w_n = 1`: `ema_decay` from the first step, starting from the weights before training.
    None,
}

/// The average's decay after `updates` updates.
pub fn decay_at(decay: f64, warmup: EmaWarmup, updates: u64) -> f64 {
    let n = updates as f64;
    let warm = match warmup {
        EmaWarmup::Tensorflow => (1.0 + n) / (10.0 + n),
        EmaWarmup::Mean => n / (n + 1.0),
        EmaWarmup::None => 1.0,
    };
    decay.min(warm)
}
