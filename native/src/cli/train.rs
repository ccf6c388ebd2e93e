//! `oml-train --config C.toml [--set key=value ...] [--resume RUN_DIR]`.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Parser;

use crate::failure::{Failure, bad_input, other};
use crate::train::loggers::Loggers;
use crate::train::{
    Processes, RUN_BASE, RUN_CONFIG, Run, TrainConfig, run_dir, start_run_dir, train,
};

/// Trains an extractor as a config file says, validating and checkpointing as it goes.
///
/// The run folder gets the resolved config (config.toml), metrics per validation
/// (metrics.csv, metrics.jsonl) and checkpoints (last/, best/). After an interruption, even
/// kill -9, `--resume RUN_DIR` continues from the last completed epoch.
#[derive(Debug, Parser)]
#[command(name = "oml-train", version, about)]
pub struct TrainArgs {
    /// The training config (TOML, OML's pipeline keys).
    #[arg(long, value_name = "C.toml", required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Override a config key, e.g. `--set optimizer.lr=1e-4 --set max_epochs=3`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Continue the run in this folder from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
}

pub(crate) fn run(args: &TrainArgs, processes: &Processes) -> Result<(), Failure> {
    // Rank 0 reads the config (and the run folder) and sends the others the run.
    let mine = if processes.leads() { prepare(args)? } else { None };
    let shared = match processes.collective() {
        Some(c) => crate::train::share_run(c, mine).map_err(other)?,
        None => mine,
    };
    let Some((run, resume)) = shared else { return Ok(()) };
    let report = train(&run, resume, processes).map_err(|e| {
        // Data and config problems are the user's to fix; the rest is ours.
        if e.downcast_ref::<oml_core::dataset::DatasetError>().is_some()
            || e.downcast_ref::<oml_core::sampler::SamplerError>().is_some()
            || e.downcast_ref::<crate::embed::ImageLoadError>().is_some()
            || e.downcast_ref::<oml_models::zoo::UnknownModel>().is_some()
            || e.downcast_ref::<crate::device::DeviceError>().is_some()
            || e.downcast_ref::<crate::train::checkpoint::ResumeError>().is_some()
        {
            bad_input(e)
        } else {
            other(e)
        }
    })?;
    run.loggers.finish();
    if processes.leads() && report.is_none() {
        eprintln!("no validation rows: trained without metrics");
    }
    Ok(())
}

/// The run to train and whether it resumes: a new run folder for `--config`, the folder of
/// `--resume`; `None` when a resumed run has all its epochs done.
fn prepare(args: &TrainArgs) -> Result<Option<(Run, bool)>, Failure> {
    let run = if let Some(dir) = &args.resume {
        let config_path = dir.join(RUN_CONFIG);
        let config = TrainConfig::load(&config_path, &args.sets).map_err(bad_input)?;
        let base = std::fs::read_to_string(dir.join(RUN_BASE))
            .map(|s| PathBuf::from(s.trim()))
            .map_err(|e| bad_input(anyhow!("{}: {e}", dir.join(RUN_BASE).display())))?;
        let loggers = Loggers::start(&config.logger, dir, &config.to_toml());
        Run { dir: dir.clone(), config, base, loggers }
    } else {
        let path =
            args.config.as_ref().ok_or_else(|| bad_input(anyhow!("--config is required")))?;
        let config = TrainConfig::load(path, &args.sets).map_err(bad_input)?;
        let dir = run_dir(&config, path);
        let base = absolute(path.parent().unwrap_or(Path::new(".")));
        start_run_dir(&dir, &config, &base).map_err(bad_input)?;
        let loggers = Loggers::start(&config.logger, &dir, &config.to_toml());
        Run { dir, config, base, loggers }
    };
    eprintln!("run folder: {}", run.dir.display());
    // A checkpoint that cannot be resumed is reported before data and model load. (An
    // ensemble's run folder has no `last` until its members are joined.)
    let last = run.dir.join("last");
    if args.resume.is_some() && last.is_dir() {
        use crate::train::checkpoint::{ResumeError, epochs_done, find_for_resume};
        let last = find_for_resume(&last).map_err(bad_input)?;
        let done = epochs_done(&last).unwrap_or(0);
        let max = run.config.max_epochs;
        if done > max {
            let path = last.join("state.json");
            return Err(bad_input(ResumeError::PastEnd { path, done, max }));
        }
        if done == max {
            eprintln!(
                "all {done} epochs are done already: nothing to resume (train longer with \
                 --set max_epochs=N)"
            );
            return Ok(None);
        }
    }
    Ok(Some((run, args.resume.is_some())))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}
