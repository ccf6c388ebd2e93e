//! How one optimizer step is taken, one type per way of stepping (as burn-train's
//! `strategies/{single,multi,ddp}`): on one device ([`OneDevice`]), data-parallel over the
//! devices of this machine ([`MultiDevice`]), or together with other machines
//! ([`ClusterSteps`]). The epoch loop sees only [`Strategy`].
//!
//! Data-parallel steps follow OML's (PyTorch DDP) multi-device training: each device trains a
//! replica of the model (`Module::fork`) on its own batch, and the optimizer takes one step
//! on the mean of their gradients; batch statistics and triplet mining stay within each
//! device's batch.

mod cluster;
mod multi_device;
mod one_device;
mod replicas;

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;

pub use cluster::{ClusterSteps, connect};
pub use multi_device::MultiDevice;
pub use one_device::OneDevice;

use super::criterion::Trainee;
use super::mixed::Mixed;
use super::nodes::Cluster;
use super::replica::{Batch, Criterion, StepStats};

/// A way of taking optimizer steps.
pub trait Strategy {
    /// How many batches one step takes on this node (one per device).
    fn batches_per_step(&self) -> usize;

    /// Number of nodes taking the steps together, and this node's rank.
    fn nodes(&self) -> (usize, usize) {
        (1, 0)
    }

    /// One step: the optimizer on the mean of the gradients of the step's batches (over all
    /// nodes). Returns the updated trainee on the main device and the step's mean loss.
    fn step(&mut self, trainee: Trainee, optim: &mut ModuleOptimizer, step: Step) -> Stepped;
}

/// What a step returns: the trainee after the optimizer step, and the step's figures.
pub type Stepped = anyhow::Result<(Trainee, StepStats)>;

/// A step's input: `batches[i]` goes to device i (at most one batch per device; the last step
/// of an epoch may have fewer, and on a node of a cluster none), out of `total` batches taken
/// by all nodes together, at learning rate `lr`.
#[derive(Debug)]
pub struct Step {
    pub lr: f64,
    pub batches: Vec<Batch>,
    pub total: usize,
}

impl Step {
    /// At most one batch per device and at most `total`; on a single node exactly `total`,
    /// at least one.
    fn check(&self, per_step: usize, cluster: bool) -> anyhow::Result<()> {
        let (n, total) = (self.batches.len(), self.total);
        anyhow::ensure!(
            n <= per_step && n <= total && total > 0,
            "a step takes up to {per_step} of its {total} batches here, got {n}",
        );
        anyhow::ensure!(n > 0 || cluster, "a step on a single node takes at least one batch");
        anyhow::ensure!(n == total || cluster, "{n} of {total} batches on a single node");
        Ok(())
    }

    /// Each replica's loss is scaled by 1/total, so the summed gradients are the mean.
    #[allow(clippy::cast_precision_loss)]
    fn share(&self) -> f64 {
        1.0 / self.total as f64
    }
}

/// The strategy for `devices` (`devices[0]` is the main device: the model lives there between
/// steps) and, with a `cluster`, the other nodes. `mixed` sets the precision of the passes;
/// its loss scaling applies on one device of one node, the only case the config lets half
/// precision train in.
pub fn choose(
    devices: Vec<Device>,
    criterion: Criterion,
    normalise: bool,
    cluster: Option<Cluster>,
    mixed: Mixed,
) -> Box<dyn Strategy> {
    match cluster {
        Some(cluster) => Box::new(ClusterSteps::new(devices, criterion, normalise, cluster, mixed)),
        None if devices.len() > 1 => {
            Box::new(MultiDevice::new(devices, criterion, normalise, mixed))
        }
        None => Box::new(OneDevice::new(devices, criterion, normalise, mixed)),
    }
}

#[cfg(test)]
mod tests;
