//! Steps taken together with other processes ([`Collective`], MPI's ranks): each rank sums
//! its devices' gradients into one vector, the ranks all-reduce their vectors, and every rank
//! takes the same optimizer step on the sum; then they average their BatchNorm running
//! statistics, as burn averages those of the devices (threads) of one process.

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;

use super::super::criterion::Trainee;
use super::super::flat::{self, Tensors};
use super::super::mixed::Mixed;
use super::super::processes::Collective;
use super::super::replica::{Criterion, StepStats};
use super::backbone_ids;
use super::replicas::Replicas;
use super::{Step, Stepped, Strategy};

/// This process's devices, and the other ranks.
pub struct RankSteps<'a> {
    replicas: Replicas,
    ranks: &'a dyn Collective,
}

impl<'a> RankSteps<'a> {
    pub fn new(
        devices: Vec<Device>,
        criterion: Criterion,
        normalise: bool,
        ranks: &'a dyn Collective,
        mixed: Mixed,
    ) -> Self {
        Self { replicas: Replicas::new(devices, criterion, normalise, mixed), ranks }
    }
}

impl Strategy for RankSteps<'_> {
    fn batches_per_step(&self) -> usize {
        self.replicas.devices.len().max(1)
    }

    fn ranks(&self) -> (usize, usize) {
        (self.ranks.size(), self.ranks.rank())
    }

    fn step(&mut self, trainee: Trainee, optim: &mut ModuleOptimizer, step: Step) -> Stepped {
        step.check(self.batches_per_step(), true)?;
        let share = step.share();
        let Step { update, batches, .. } = step;
        // One vector: this rank's summed gradients, then its share of the loss and of the
        // criterion's figure; the ranks add theirs up.
        let (trainable, _) = flat::sizes(&trainee);
        let mut sum = vec![0.0f32; trainable + 2];
        for mut r in self.replicas.gradients(&trainee, batches, share)? {
            flat::add_gradients(&trainee, &mut r.grads, &mut sum[..trainable]);
            sum[trainable] += (r.loss * share) as f32;
            sum[trainable + 1] += (r.watched * share) as f32;
        }
        self.ranks.all_reduce_sum(&mut sum);
        let grads = flat::gradients(&trainee, &sum[..trainable], &self.replicas.devices[0]);
        let backbone = backbone_ids(&trainee, &update);
        let trainee = update.apply(optim, trainee, grads, &backbone);
        // The mean of the ranks' BatchNorm running statistics.
        flat::fold_running_stats(&trainee);
        let mut running = flat::values(&trainee, Tensors::RunningStats);
        self.ranks.all_reduce_sum(&mut running);
        let n = self.ranks.size() as f32;
        running.iter_mut().for_each(|v| *v /= n);
        let trainee = flat::with_values(trainee, Tensors::RunningStats, &running);
        let stats =
            StepStats { loss: f64::from(sum[trainable]), watched: f64::from(sum[trainable + 1]) };
        Ok((trainee, stats))
    }
}
