//! What the ranks of an MPI job exchange outside the steps: the run rank 0 read, the check
//! that they loaded the same data and model, the state rank 0 starts from (the weights it
//! built or imprinted, or the checkpoint it resumes), and the check after each epoch that
//! they still hold the same weights.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::build::optimizer;
use super::checkpoint::{self, TrainState};
use super::config::TrainConfig;
use super::criterion::Trainee;
use super::flat::{self, Tensors};
use super::processes::{Collective, agree, broadcast_f32, broadcast_vec};
use super::run::Run;
use super::setup::Progress;

/// A run as rank 0 sends it: the resolved config, the folders, and whether it resumes.
#[derive(Debug, Serialize, Deserialize)]
struct SentRun {
    config: String,
    dir: PathBuf,
    base: PathBuf,
    resume: bool,
}

/// Rank 0's run on every rank (`None` there: nothing to train, rank 0 said why). The other
/// ranks need neither the config file nor the run folder, only the dataset at the same path.
pub fn run(c: &dyn Collective, mine: Option<(Run, bool)>) -> anyhow::Result<Option<(Run, bool)>> {
    let mut bytes = match &mine {
        Some((run, resume)) if c.rank() == 0 => serde_json::to_vec(&SentRun {
            config: run.config.to_toml(),
            dir: run.dir.clone(),
            base: run.base.clone(),
            resume: *resume,
        })?,
        _ => Vec::new(),
    };
    broadcast_vec(c, &mut bytes);
    if c.rank() == 0 || bytes.is_empty() {
        return Ok(mine.filter(|_| !bytes.is_empty()));
    }
    let sent: SentRun = serde_json::from_slice(&bytes).context("the run from rank 0")?;
    let config = TrainConfig::parse(&sent.config, &sent.dir.join("config.toml"), &[])?;
    // Only rank 0 logs: the others' runs have no loggers.
    let loggers = crate::train::loggers::Loggers::default();
    Ok(Some((Run { dir: sent.dir, config, base: sent.base, loggers }, sent.resume)))
}

/// Checks that every rank loaded the same training rows (labels) and built a model of the
/// same shapes; an error on every rank otherwise.
pub fn agree_on_data(c: &dyn Collective, labels: &[u32], trainee: &Trainee) -> anyhow::Result<()> {
    let (trainable, buffers) = flat::sizes(trainee);
    let mut bytes: Vec<u8> = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
    bytes.extend((trainable as u64).to_le_bytes());
    bytes.extend((buffers as u64).to_le_bytes());
    agree(c, "training data or a model", &bytes)
        .context("every rank must read the same dataset (the same rows in the same order)")
}

/// Rank 0's starting point on every rank: its weights (a fresh run), or the checkpoint it
/// resumes, optimizer state and all. `progress` is rank 0's; on the others it is replaced.
/// The folder returned holds the checkpoint's files on the other ranks: burn reads them
/// lazily, so it must outlive the training.
pub fn start(
    c: &dyn Collective,
    run: &Run,
    progress: Progress,
    resume: bool,
) -> anyhow::Result<(Progress, Option<Scratch>)> {
    if resume {
        return resume_from_leader(c, run, progress);
    }
    let mut values = flat::values(&progress.trainee, Tensors::All);
    broadcast_f32(c, &mut values);
    if c.rank() == 0 {
        return Ok((progress, None));
    }
    let trainee = flat::with_values(progress.trainee, Tensors::All, &values);
    Ok((Progress { trainee, average: None, ..progress }, None))
}

/// A folder of this process's own, removed when dropped.
pub struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The checkpoint rank 0 resumed from, sent as its files: the others read it as rank 0 did
/// (the optimizer's state is keyed by the ids the checkpoint gives the weights).
fn resume_from_leader(
    c: &dyn Collective,
    run: &Run,
    progress: Progress,
) -> anyhow::Result<(Progress, Option<Scratch>)> {
    let mut bytes = if c.rank() == 0 { pack(&run.dir.join("last"))? } else { Vec::new() };
    broadcast_vec(c, &mut bytes);
    if c.rank() == 0 {
        return Ok((progress, None));
    }
    let dir =
        Scratch(std::env::temp_dir().join(format!("oml-train-resume-{}", std::process::id())));
    unpack(&bytes, &dir.0).context("the checkpoint from rank 0")?;
    let loaded = checkpoint::load(&dir.0, progress.trainee, Some(optimizer(&run.config)))
        .context("the checkpoint from rank 0")?;
    let progress = Progress {
        trainee: loaded.trainee,
        optim: loaded.optimizer.unwrap_or_else(|| optimizer(&run.config)),
        state: loaded.state,
        average: None,
    };
    Ok((progress, Some(dir)))
}

/// After an epoch: every rank must hold rank 0's weights (the same steps on the same sums).
pub fn agree_on_weights(
    c: &dyn Collective,
    trainee: &Trainee,
    state: &TrainState,
) -> anyhow::Result<()> {
    agree(c, "weights", &weight_bytes(trainee)).with_context(|| {
        format!("after epoch {}: the ranks' models drifted apart", state.epochs_done)
    })
}

/// The SHA-256 of every value of `trainee` (hex), to compare ranks by.
pub fn digest(trainee: &Trainee) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(weight_bytes(trainee)).iter().map(|b| format!("{b:02x}")).collect()
}

fn weight_bytes(trainee: &Trainee) -> Vec<u8> {
    flat::values(trainee, Tensors::All).iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The files of checkpoint folder `dir`, framed: for each, its name's length (u16), name,
/// length (u64) and bytes.
fn pack(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let data =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        out.extend(u16::try_from(name.len())?.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend((data.len() as u64).to_le_bytes());
        out.extend(data);
    }
    Ok(out)
}

/// Writes the files [`pack`] framed into a new folder `dir`; plain file names only.
fn unpack(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> anyhow::Result<&'a [u8]> {
        anyhow::ensure!(n <= bytes.len(), "truncated: {n} bytes wanted, {} left", bytes.len());
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = u16::from_le_bytes(take(&mut rest, 2)?.try_into()?);
        let name = std::str::from_utf8(take(&mut rest, usize::from(len))?)?;
        anyhow::ensure!(
            !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..",
            "a file name that is not plain: {name:?}"
        );
        let len = u64::from_le_bytes(take(&mut rest, 8)?.try_into()?);
        let data = take(&mut rest, usize::try_from(len)?)?;
        std::fs::write(dir.join(name), data)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A folder packed and unpacked holds the same files; a truncated or hostile frame is an
    /// error, not a panic or a write outside the folder.
    #[test]
    fn a_packed_checkpoint_unpacks_to_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        std::fs::create_dir_all(&from).unwrap();
        std::fs::write(from.join("state.json"), b"{\"epochs_done\": 1}").unwrap();
        std::fs::write(from.join("model.bpk"), vec![7u8; 1000]).unwrap();
        let bytes = pack(&from).unwrap();
        let to = dir.path().join("to");
        unpack(&bytes, &to).unwrap();
        for name in ["state.json", "model.bpk"] {
            assert_eq!(
                std::fs::read(from.join(name)).unwrap(),
                std::fs::read(to.join(name)).unwrap()
            );
        }
        assert!(unpack(&bytes[..bytes.len() - 1], &to).is_err());
        let mut hostile = Vec::new();
        hostile.extend(5u16.to_le_bytes());
        hostile.extend(b"../x1");
        hostile.extend(1u64.to_le_bytes());
        hostile.push(0);
        assert!(unpack(&hostile, &to).is_err());
        let mut huge = Vec::new();
        huge.extend(1u16.to_le_bytes());
        huge.extend(b"x");
        huge.extend(u64::MAX.to_le_bytes());
        assert!(unpack(&huge, &to).is_err());
    }
}
