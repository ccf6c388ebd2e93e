//! Steps on one device, on the caller's thread, with mixed precision's loss scaling.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Device;

use super::super::criterion::Trainee;
use super::super::mixed::{Mixed, Unscaled};
use super::super::replica::{Criterion, StepStats, replica_loss};
use super::backbone_ids;
use super::{Step, Stepped, Strategy};

/// One device, one batch per step.
pub struct OneDevice {
    device: Device,
    criterion: Criterion,
    normalise: bool,
    mixed: Mixed,
}

impl std::fmt::Debug for OneDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneDevice").field("criterion", &self.criterion).finish_non_exhaustive()
    }
}

impl OneDevice {
    /// Trains on `devices[0]`.
    pub fn new(devices: Vec<Device>, criterion: Criterion, normalise: bool, mixed: Mixed) -> Self {
        let device = devices.into_iter().next().unwrap_or_default();
        Self { device, criterion, normalise, mixed }
    }
}

impl Strategy for OneDevice {
    fn batches_per_step(&self) -> usize {
        1
    }

    fn step(&mut self, trainee: Trainee, optim: &mut ModuleOptimizer, step: Step) -> Stepped {
        step.check(1, false)?;
        let Step { update, batches, .. } = step;
        let factor = self.mixed.loss_factor();
        let (loss, value, watched) = replica_loss(
            &trainee,
            &self.criterion,
            self.normalise,
            &batches[0],
            &self.device,
            factor,
            &self.mixed,
        )?;
        let grads = GradientsParams::from_grads(loss.backward(), &trainee);
        let trainee = match self.mixed.unscale(&trainee, grads)? {
            Unscaled::Step(grads) => {
                let backbone = backbone_ids(&trainee, &update);
                update.apply(optim, trainee, grads, &backbone)
            }
            Unscaled::Skip => trainee,
        };
        Ok((trainee, StepStats { loss: value, watched }))
    }
}
