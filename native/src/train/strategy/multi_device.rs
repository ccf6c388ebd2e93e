//! Data-parallel steps over the devices of one machine: burn's `MultiGradientsParams` sums
//! the devices' gradients, each on a device of its own per parameter; every replica's loss
//! is divided by the number of batches, so the sum is the mean.

use burn::module::Module;
use burn::optim::{ModuleOptimizer, MultiGradientsParams};
use burn::tensor::Device;

use super::super::criterion::Trainee;
use super::super::mixed::Mixed;
use super::super::replica::{Criterion, StepStats};
use super::replicas::Replicas;
use super::{Step, Stepped, Strategy};

/// Several devices of this machine, one batch each per step.
#[derive(Debug)]
pub struct MultiDevice {
    replicas: Replicas,
}

impl MultiDevice {
    pub fn new(devices: Vec<Device>, criterion: Criterion, normalise: bool, mixed: Mixed) -> Self {
        Self { replicas: Replicas::new(devices, criterion, normalise, mixed) }
    }
}

impl Strategy for MultiDevice {
    fn batches_per_step(&self) -> usize {
        self.replicas.devices.len().max(1)
    }

    fn step(&mut self, trainee: Trainee, optim: &mut ModuleOptimizer, step: Step) -> Stepped {
        step.check(self.batches_per_step(), false)?;
        let share = step.share();
        let Step { update, batches, .. } = step;
        // The config refuses a backbone rate or clipping with several devices.
        let lr = update.lr;
        let (mut loss, mut watched) = (0.0, 0.0);
        let mut multi = MultiGradientsParams::default();
        for r in self.replicas.gradients(&trainee, batches, share)? {
            multi.grads.push((r.grads, r.device));
            loss += r.loss * share;
            watched += r.watched * share;
        }
        let trainee = optim.step_multi(lr, trainee, multi).fork(&self.replicas.devices[0]);
        Ok((trainee, StepStats { loss, watched }))
    }
}
