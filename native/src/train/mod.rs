//! `oml-train`: config-driven training and validation (OML's `extractor_training_pipeline`).

mod average;
mod build;
pub(crate) mod checkpoint;
pub mod config;
#[cfg(test)]
mod config_props;
mod criterion;
mod data;
mod ensemble;
mod flat;
mod limits;
mod log;
mod mixed;
mod nodes;
mod report;
mod run;
mod step;
mod validation;

pub use average::{EmaWarmup, WeightAverage};
pub use build::{TrainModel, build_model, val_preprocess};
pub use checkpoint::{MODEL_FILE, TrainState, load_model};
pub use config::{ConfigError, TrainConfig};
pub use criterion::{ArcFaceSection, CriterionSection};
pub use nodes::{Agreement, Cluster, NodesError, NodesSection};
pub use run::{Run, train};

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::io::write_atomically;

/// The run's own copy of the config, and the folder the config's paths start from.
pub const RUN_CONFIG: &str = "config.toml";
pub const RUN_BASE: &str = "base_dir.txt";

/// Prepares a new run's folder: refuses one that holds a run, clears old metric logs and
/// writes the resolved config and the base folder.
pub fn start_run_dir(dir: &Path, config: &TrainConfig, base: &Path) -> anyhow::Result<()> {
    if dir.join("last").exists() {
        anyhow::bail!(
            "{} already holds a run: continue it with --resume {}, or set run_dir elsewhere",
            dir.display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for f in ["metrics.csv", "metrics.jsonl"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    write_atomically(&dir.join(RUN_CONFIG), config.to_toml().as_bytes())?;
    write_atomically(&dir.join(RUN_BASE), base.display().to_string().as_bytes())?;
    Ok(())
}

/// The run folder: `run_dir` from the config (relative to the config's folder), else
/// `runs/<config file stem>/<UTC start time>` in the current folder.
pub fn run_dir(config: &TrainConfig, config_path: &Path) -> PathBuf {
    let base = config_path.parent().unwrap_or(Path::new("."));
    match &config.run_dir {
        Some(dir) => base.join(dir),
        None => {
            let stem = config_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            PathBuf::from("runs").join(stem).join(utc_timestamp())
        }
    }
}

/// `YYYY-MM-DD_HH-MM-SS` in UTC, now.
fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    #[allow(clippy::cast_possible_wrap)]
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}_{:02}-{:02}-{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
