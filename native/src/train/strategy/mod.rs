//! How one optimizer step is taken, one type per way of stepping (as burn-train's
//! `strategies/{single,multi,ddp}`): on one device ([`OneDevice`]), data-parallel over the
//! devices of this process ([`MultiDevice`]), or together with other processes, MPI's ranks
//! ([`RankSteps`]). The epoch loop sees only [`Strategy`].
//!
//! Data-parallel steps follow OML's (PyTorch DDP) multi-device training: each device trains a
//! replica of the model (`Module::fork`) on its own batch, and the optimizer takes one step
//! on the mean of their gradients; batch statistics and triplet mining stay within each
//! device's batch.

mod multi_device;
mod one_device;
mod ranks;
mod replicas;

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;

pub use multi_device::MultiDevice;
pub use one_device::OneDevice;
pub use ranks::RankSteps;

use super::criterion::Trainee;
use super::mixed::Mixed;
use super::processes::Collective;
use super::replica::{Batch, Criterion, StepStats};
use super::update::Update;

/// A way of taking optimizer steps.
pub trait Strategy {
    /// How many batches one step takes in this process (one per device).
    fn batches_per_step(&self) -> usize;

    /// Number of processes (ranks) taking the steps together, and this one's rank.
    fn ranks(&self) -> (usize, usize) {
        (1, 0)
    }

    /// One step: the optimizer on the mean of the gradients of the step's batches (over all
    /// ranks). Returns the updated trainee on the main device and the step's mean loss.
    fn step(&mut self, trainee: Trainee, optim: &mut ModuleOptimizer, step: Step) -> Stepped;
}

/// What a step returns: the trainee after the optimizer step, and the step's figures.
pub type Stepped = anyhow::Result<(Trainee, StepStats)>;

/// A step's input: `batches[i]` goes to device i (at most one batch per device; the last step
/// of an epoch may have fewer, and on one of several ranks none), out of `total` batches taken
/// by all ranks together, updated as `update` says.
#[derive(Debug)]
pub struct Step {
    pub update: Update,
    pub batches: Vec<Batch>,
    pub total: usize,
}

impl Step {
    /// At most one batch per device and at most `total`; in a single process exactly `total`,
    /// at least one.
    fn check(&self, per_step: usize, ranks: bool) -> anyhow::Result<()> {
        let (n, total) = (self.batches.len(), self.total);
        anyhow::ensure!(
            n <= per_step && n <= total && total > 0,
            "a step takes up to {per_step} of its {total} batches here, got {n}",
        );
        anyhow::ensure!(n > 0 || ranks, "a step in a single process takes at least one batch");
        anyhow::ensure!(n == total || ranks, "{n} of {total} batches in a single process");
        Ok(())
    }

    /// Each replica's loss is scaled by 1/total, so the summed gradients are the mean.
    #[allow(clippy::cast_precision_loss)]
    fn share(&self) -> f64 {
        1.0 / self.total as f64
    }
}

/// The backbone's parameter ids when the update gives it its own learning rate.
fn backbone_ids(trainee: &Trainee, update: &Update) -> Vec<burn::module::ParamId> {
    if update.backbone_lr.is_some() {
        super::update::param_ids(&trainee.model.extractor)
    } else {
        Vec::new()
    }
}

/// The strategy for `devices` (`devices[0]` is the main device: the model lives there between
/// steps) and, with `ranks`, the other processes. `mixed` sets the precision of the passes;
/// its loss scaling applies on one device of one process, the only case the config lets half
/// precision train in.
pub fn choose<'a>(
    devices: Vec<Device>,
    criterion: Criterion,
    normalise: bool,
    ranks: Option<&'a dyn Collective>,
    mixed: Mixed,
) -> Box<dyn Strategy + 'a> {
    match ranks {
        Some(ranks) => Box::new(RankSteps::new(devices, criterion, normalise, ranks, mixed)),
        None if devices.len() > 1 => {
            Box::new(MultiDevice::new(devices, criterion, normalise, mixed))
        }
        None => Box::new(OneDevice::new(devices, criterion, normalise, mixed)),
    }
}

#[cfg(test)]
mod tests;
