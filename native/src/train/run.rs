//! What one run is ([`Run`]) and its folder: where it goes, how a new one starts.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::checkpoint;
use super::config::TrainConfig;
use super::loggers::Loggers;
use crate::io::write_atomically;

/// What one run is: its folder, resolved config and where the config's paths start.
#[derive(Debug)]
pub struct Run {
    pub dir: PathBuf,
    pub config: TrainConfig,
    /// Folder of the original config file (paths in the config are relative to it).
    pub base: PathBuf,
    /// TensorBoard and MLflow (`[logger]`), on the rank that logs.
    pub loggers: Loggers,
}

impl Run {
    /// The run's name for reports: its folder's path.
    pub fn config_name(&self) -> String {
        self.dir.display().to_string()
    }
}

/// The run's own copy of the config, and the folder the config's paths start from.
pub const RUN_CONFIG: &str = "config.toml";
pub const RUN_BASE: &str = "base_dir.txt";

/// Prepares a new run's folder: refuses one that holds a run, clears old metric logs and
/// writes the resolved config and the base folder.
pub fn start_run_dir(dir: &Path, config: &TrainConfig, base: &Path) -> anyhow::Result<()> {
    // A `last` folder, or a complete checkpoint that a kill left under its temporary name.
    if dir.join("last").exists() || checkpoint::find(&dir.join("last")).is_some() {
        anyhow::bail!(
            "{} already holds a run: continue it with --resume {}, or set run_dir elsewhere",
            dir.display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // What a killed earlier start left (incomplete checkpoint folders) goes.
    for name in ["last", "best"] {
        checkpoint::remove_stale(&dir.join(name));
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::train::TrainState;

    fn config() -> TrainConfig {
        let text = "dataset_root = \"d\"\nmax_epochs = 1\n[extractor]\nmodel = \"mobilenet_v2\"\n\
                    [transforms_train]\nsize = 32\n[transforms_val]\nsize = 32\n[sampler]\n\
                    name = \"balance\"\nn_labels = 2\nn_instances = 2\n[criterion]\nmargin = 0.2\n\
                    [optimizer]\nname = \"adam\"\nlr = 1e-3\n";
        TrainConfig::parse(text, Path::new("c.toml"), &[]).unwrap()
    }

    /// A start clears what a killed earlier start left, and refuses a folder whose checkpoint
    /// survived under its temporary name (it is a run to resume).
    #[test]
    fn a_start_clears_stale_folders_and_finds_a_run_left_mid_swap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".last.tmp-5")).unwrap();
        std::fs::create_dir_all(dir.path().join(".best.old-3")).unwrap();
        start_run_dir(dir.path(), &config(), dir.path()).unwrap();
        assert!(!dir.path().join(".last.tmp-5").exists());
        assert!(!dir.path().join(".best.old-3").exists());

        let other = tempfile::tempdir().unwrap();
        let tmp = other.path().join(".last.tmp-9");
        std::fs::create_dir_all(&tmp).unwrap();
        let state = TrainState { epochs_done: 2, best: None, steps: 4 };
        std::fs::write(tmp.join("state.json"), serde_json::to_string(&state).unwrap()).unwrap();
        let err = start_run_dir(other.path(), &config(), other.path()).unwrap_err();
        assert!(err.to_string().contains("--resume"), "{err}");
    }
}
