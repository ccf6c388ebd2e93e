//! Checkpoints: a folder with the model (`model.bpk`), the optimizer state (`optimizer.bpk`),
//! the criterion's trained weights when it has any (`criterion.bpk`, ArcFace) and
//! `state.json` (epochs done, best metric). With `ema_decay`, `model.bpk` is the weight
//! average (what validation measured and what the tools load) and a resumable checkpoint
//! also keeps the raw trained weights in `trained.bpk`. All use burn's burnpack format, which
//! keeps each parameter's id: the optimizer's state is keyed by those ids, so a model reloaded
//! from a format without them (safetensors) would silently restart Adam's moments.
//! Written to a temporary folder and renamed into place, so a kill at any moment leaves the
//! previous checkpoint or the new one, never half of one.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::{BurnpackStore, ModuleSnapshot};
use serde::{Deserialize, Serialize};

use super::criterion::Trainee;
use oml_models::model_file::FileModel;

/// Progress saved with a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed (the next epoch to run is this number).
    pub epochs_done: u64,
    /// Best value of the checkpointing metric so far, and the epoch it was reached after.
    pub best: Option<(f64, u64)>,
    /// Optimizer steps taken.
    pub steps: u64,
}

pub const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const CRITERION_FILE: &str = "criterion.bpk";
const TRAINED_FILE: &str = "trained.bpk";
const STATE_FILE: &str = "state.json";

fn err(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{}: {e}", path.display())
}

/// Writes `dir` (replacing it) with the model (the weight `average` when there is one) and
/// state; with the optimizer given (a checkpoint to resume from), also the optimizer, the
/// criterion's weights and, under an average, the raw trained weights.
pub fn save(
    dir: &Path,
    trainee: &Trainee,
    average: Option<&FileModel>,
    optimizer: Option<&ModuleOptimizer>,
    state: &TrainState,
) -> anyhow::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| err(&tmp, e))?;
    let model_path = tmp.join(MODEL_FILE);
    save_module(average.unwrap_or(&trainee.model), &model_path)?;
    if let Some(optimizer) = optimizer {
        if average.is_some() {
            save_module(&trainee.model, &tmp.join(TRAINED_FILE))?;
        }
        let path = tmp.join(OPTIMIZER_FILE);
        optimizer.to_record().save(&path).map_err(|e| err(&path, e))?;
        if let Some(arcface) = &trainee.arcface {
            save_module(arcface, &tmp.join(CRITERION_FILE))?;
        }
        if let Some(arcface) = &trainee.arcface_mlp {
            save_module(arcface, &tmp.join(CRITERION_FILE))?;
        }
        if let Some(proxies) = &trainee.proxies {
            save_module(proxies, &tmp.join(CRITERION_FILE))?;
        }
    }
    let state_path = tmp.join(STATE_FILE);
    let json = serde_json::to_string_pretty(state).map_err(|e| err(&state_path, e))?;
    std::fs::write(&state_path, json).map_err(|e| err(&state_path, e))?;
    sync_dir(&tmp);
    // Swap: the old folder moves aside, the new one takes its name, the old one goes.
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| err(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| err(dir, e))?;
    let _ = std::fs::remove_dir_all(&old);
    sync_dir(parent);
    Ok(())
}

fn save_module<M: Module>(module: &M, path: &Path) -> anyhow::Result<()> {
    let mut store = BurnpackStore::from_file(path).overwrite(true);
    module.save_into(&mut store).map_err(|e| err(path, e))
}

fn sync_dir(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(f) = std::fs::File::open(entry.path())
            && entry.path().is_file()
        {
            let _ = f.sync_all();
        }
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Epochs done by the checkpoint in `dir`, if it holds a complete one.
pub fn epochs_done(dir: &Path) -> Option<u64> {
    read_state(dir).ok().map(|s| s.epochs_done)
}

/// Why a run cannot be resumed; the user's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error("{0}: no checkpoint to resume from (the run has not finished an epoch yet)")]
    Missing(PathBuf),
    #[error("{0}: the checkpoint has no state.json (incomplete); it cannot be resumed")]
    NoState(PathBuf),
    #[error("{path}: corrupt training state ({reason}); the checkpoint cannot be resumed")]
    CorruptState { path: PathBuf, reason: String },
    #[error(
        "{path}: {done} epochs are done, more than this run's max_epochs = {max}: the \
         checkpoint is not this run's, or it was edited"
    )]
    PastEnd { path: PathBuf, done: u64, max: u64 },
}

/// The training state in `dir`, read with a size cap (it is a few hundred bytes).
fn read_state(dir: &Path) -> Result<TrainState, ResumeError> {
    let path = dir.join(STATE_FILE);
    if !path.exists() {
        return Err(ResumeError::NoState(dir.to_owned()));
    }
    let corrupt = |reason: String| ResumeError::CorruptState { path: path.clone(), reason };
    let bytes = crate::io::read_regular(&path, 1 << 20).map_err(|e| corrupt(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))
}

/// The checkpoint to resume from in `dir` ([`find`]), or why there is none: no folder, no
/// state, or a state that does not parse.
pub fn find_for_resume(dir: &Path) -> Result<PathBuf, ResumeError> {
    if let Some(found) = find(dir) {
        return Ok(found);
    }
    if !dir.is_dir() {
        return Err(ResumeError::Missing(dir.to_owned()));
    }
    read_state(dir).map(|_| dir.to_owned())
}

/// Removes what a killed [`save`] left beside `dir` (`.<name>.tmp-*`, `.<name>.old-*`).
pub fn remove_stale(dir: &Path) {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else { return };
    let name = name.to_string_lossy();
    let (tmp, old) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let n = entry.file_name().to_string_lossy().into_owned();
        if n.starts_with(&tmp) || n.starts_with(&old) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The newest complete checkpoint: `dir` itself, or, when a kill fell between the two renames
/// of [`save`], the complete new (`.<name>.tmp-*`) or old (`.<name>.old-*`) folder beside it,
/// which is then moved to `dir`. Other such folders, stale, are removed.
pub fn find(dir: &Path) -> Option<PathBuf> {
    if epochs_done(dir).is_some() {
        remove_stale(dir);
        return Some(dir.to_owned());
    }
    let parent = dir.parent()?;
    let name = dir.file_name()?.to_string_lossy().into_owned();
    let (tmp, old) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
    let best = std::fs::read_dir(parent)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .is_some_and(|n| n.starts_with(&tmp) || n.starts_with(&old))
        })
        .filter_map(|p| epochs_done(&p).map(|e| (e, p)))
        .max_by_key(|(e, _)| *e)?
        .1;
    if dir.exists() {
        // An incomplete or corrupt `dir` gives way to the complete folder.
        std::fs::remove_dir_all(dir).ok()?;
    }
    std::fs::rename(&best, dir).ok()?;
    remove_stale(dir);
    Some(dir.to_owned())
}

/// A checkpoint read back by [`load`].
pub struct Loaded {
    pub trainee: Trainee,
    pub optimizer: Option<ModuleOptimizer>,
    /// The weight average, when the checkpoint was written under one.
    pub average: Option<FileModel>,
    pub state: TrainState,
}

/// Reads a checkpoint written by [`save`] into `trainee` (and `optimizer`, when given).
pub fn load(
    dir: &Path,
    trainee: Trainee,
    optimizer: Option<ModuleOptimizer>,
) -> anyhow::Result<Loaded> {
    let state = read_state(dir)?;
    let trained_path = dir.join(TRAINED_FILE);
    let (model, average) = if trained_path.is_file() {
        let average = load_model(&dir.join(MODEL_FILE), trainee.model.clone())?;
        (load_model(&trained_path, trainee.model)?, Some(average))
    } else {
        (load_model(&dir.join(MODEL_FILE), trainee.model)?, None)
    };
    let arcface = match trainee.arcface {
        Some(arcface) => Some(load_model(&criterion_file(dir, "ArcFace")?, arcface)?),
        None => None,
    };
    let arcface_mlp = match trainee.arcface_mlp {
        Some(a) => Some(load_model(&criterion_file(dir, "ArcFace-with-MLP")?, a)?),
        None => None,
    };
    let proxies = match trainee.proxies {
        Some(proxies) => Some(load_model(&criterion_file(dir, "Proxy-Anchor")?, proxies)?),
        None => None,
    };
    let trainee = Trainee { model, arcface, arcface_mlp, proxies };
    let optimizer = match optimizer {
        Some(o) => {
            let path = dir.join(OPTIMIZER_FILE);
            let record = OptimizerRecord::load(&path).map_err(|e| err(&path, e))?;
            Some(o.load_record(record))
        }
        None => None,
    };
    Ok(Loaded { trainee, optimizer, average, state })
}

/// The checkpoint's file of the criterion's weights, which must be there.
fn criterion_file(dir: &Path, criterion: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(CRITERION_FILE);
    if !path.is_file() {
        anyhow::bail!(
            "{}: missing; this checkpoint was not trained with the {criterion} criterion",
            path.display()
        );
    }
    Ok(path)
}

/// Loads a model saved by [`save`]; every tensor must be there with its shape.
pub fn load_model<M: Module>(path: &Path, mut model: M) -> anyhow::Result<M> {
    let mut store = BurnpackStore::from_file(path);
    let result = model.load_from(&mut store).map_err(|e| err(path, e))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        anyhow::bail!(
            "{}: not a checkpoint of this model ({} missing tensors, {} mismatches)",
            path.display(),
            result.missing.len(),
            result.errors.len()
        );
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_state(dir: &Path, epochs_done: u64) {
        std::fs::create_dir_all(dir).unwrap();
        let state = TrainState { epochs_done, best: None, steps: 0 };
        std::fs::write(dir.join(STATE_FILE), serde_json::to_string(&state).unwrap()).unwrap();
    }

    /// Under a weight average, `model.bpk` is the average and the raw weights come back from
    /// `trained.bpk`; without one, `model.bpk` is the model.
    #[test]
    fn a_weight_average_is_the_model_file_and_the_raw_weights_resume() {
        use burn::tensor::Device;
        use oml_models::extractor::{AnyExtractor, ExtractorWithMlp, MobileNetV2Config};

        let device = Device::flex();
        let small = || {
            let e = AnyExtractor::MobileNetV2(
                MobileNetV2Config::new().with_width_mult(0.35).init(&device),
            );
            ExtractorWithMlp::new(e, &[], &device)
        };
        let first = |m: &FileModel| {
            let AnyExtractor::MobileNetV2(n) = &m.extractor else { unreachable!() };
            n.stem.conv.weight.val().try_into_vec_as::<f32>().unwrap()[0]
        };
        let raw = Trainee::model_only(small());
        let average = raw.model.valid().map(&mut Shift);
        let optimizer: ModuleOptimizer = burn::optim::SgdConfig::new().init();
        let state = TrainState { epochs_done: 1, best: None, steps: 3 };
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("last");
        save(&dir, &raw, Some(&average), Some(&optimizer), &state).unwrap();
        let template = Trainee::model_only(small());
        let loaded = load(&dir, template.clone(), None).unwrap();
        assert_eq!(loaded.state, state);
        assert_eq!(first(&loaded.trainee.model), first(&raw.model));
        assert_eq!(first(loaded.average.as_ref().unwrap()), first(&raw.model) + 1.0);
        assert_eq!(first(&load_model(&dir.join(MODEL_FILE), small()).unwrap()), first(&average));

        save(&dir, &raw, None, Some(&optimizer), &state).unwrap();
        let loaded = load(&dir, template, None).unwrap();
        assert!(loaded.average.is_none() && !dir.join(TRAINED_FILE).exists());
        assert_eq!(first(&loaded.trainee.model), first(&raw.model));
    }

    struct Shift;
    impl burn::module::ModuleMapper for Shift {
        fn map_float<const D: usize>(
            &mut self,
            p: burn::module::Param<burn::tensor::Tensor<D>>,
        ) -> burn::module::Param<burn::tensor::Tensor<D>> {
            p.map(|t| t.add_scalar(1.0))
        }
    }

    #[test]
    fn a_swap_interrupted_between_its_renames_is_recovered() {
        let root = tempfile::tempdir().unwrap();
        let last = root.path().join("last");
        assert_eq!(find(&last), None);
        // Killed after `last` moved aside and before the new folder took its name.
        write_state(&root.path().join(".last.old-7"), 2);
        write_state(&root.path().join(".last.tmp-7"), 3);
        assert_eq!(find(&last).as_deref(), Some(last.as_path()));
        assert_eq!(epochs_done(&last), Some(3), "the newer, complete folder wins");
        // A complete `last` is taken as it is, and what the kill left beside it goes.
        assert_eq!(find(&last).as_deref(), Some(last.as_path()));
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn a_checkpoint_that_cannot_be_resumed_says_why() {
        let root = tempfile::tempdir().unwrap();
        let last = root.path().join("last");
        let err = find_for_resume(&last).unwrap_err();
        assert!(err.to_string().contains("no checkpoint to resume from"), "{err}");
        std::fs::create_dir_all(&last).unwrap();
        let err = find_for_resume(&last).unwrap_err();
        assert!(err.to_string().contains("no state.json"), "{err}");
        std::fs::write(last.join(STATE_FILE), b"{\"epochs_done\": \"x\"").unwrap();
        let err = find_for_resume(&last).unwrap_err();
        assert!(matches!(err, ResumeError::CorruptState { .. }), "{err}");
        assert!(err.to_string().contains("state.json: corrupt training state"), "{err}");
    }
}
