//! Steps taken together with other machines ([`Cluster`]): each node sums its devices'
//! gradients into one vector, the nodes add their vectors up, and every node takes the same
//! optimizer step on the sum; then they average their BatchNorm running statistics, as burn
//! averages those of the devices (threads) of one node.

use std::path::PathBuf;

use burn::optim::ModuleOptimizer;
use burn::tensor::Device;

use super::super::config::TrainConfig;
use super::super::criterion::Trainee;
use super::super::flat::{self, Tensors};
use super::super::mixed::Mixed;
use super::super::nodes::{Agreement, Cluster};
use super::super::replica::{Criterion, StepStats};
use super::replicas::Replicas;
use super::{Step, Stepped, Strategy};

/// This node's devices, and the other nodes.
#[derive(Debug)]
pub struct ClusterSteps {
    replicas: Replicas,
    cluster: Cluster,
}

impl ClusterSteps {
    pub fn new(
        devices: Vec<Device>,
        criterion: Criterion,
        normalise: bool,
        cluster: Cluster,
        mixed: Mixed,
    ) -> Self {
        Self { replicas: Replicas::new(devices, criterion, normalise, mixed), cluster }
    }
}

impl Strategy for ClusterSteps {
    fn batches_per_step(&self) -> usize {
        self.replicas.devices.len().max(1)
    }

    fn nodes(&self) -> (usize, usize) {
        (self.cluster.count(), self.cluster.rank())
    }

    fn step(&mut self, trainee: Trainee, optim: &mut ModuleOptimizer, step: Step) -> Stepped {
        step.check(self.batches_per_step(), true)?;
        let share = step.share();
        let Step { lr, batches, .. } = step;
        // One vector: this node's summed gradients, then its share of the loss and of the
        // criterion's figure; the nodes add theirs up.
        let (trainable, _) = flat::sizes(&trainee);
        let mut sum = vec![0.0f32; trainable + 2];
        for mut r in self.replicas.gradients(&trainee, batches, share)? {
            flat::add_gradients(&trainee, &mut r.grads, &mut sum[..trainable]);
            sum[trainable] += (r.loss * share) as f32;
            sum[trainable + 1] += (r.watched * share) as f32;
        }
        self.cluster.all_reduce_sum(&mut sum)?;
        let grads = flat::gradients(&trainee, &sum[..trainable], &self.replicas.devices[0]);
        let trainee = optim.step(lr, trainee, grads);
        // The mean of the nodes' BatchNorm running statistics.
        flat::fold_running_stats(&trainee);
        let mut running = flat::values(&trainee, Tensors::RunningStats);
        self.cluster.all_reduce_sum(&mut running)?;
        let n_nodes = self.cluster.count() as f32;
        running.iter_mut().for_each(|v| *v /= n_nodes);
        let trainee = flat::with_values(trainee, Tensors::RunningStats, &running);
        let stats =
            StepStats { loss: f64::from(sum[trainable]), watched: f64::from(sum[trainable + 1]) };
        Ok((trainee, stats))
    }
}

/// Connects to the other nodes (before anything long runs, so a mistake shows at once) and
/// gives every node node 0's weights, as PyTorch DDP does. Returns the cluster and the
/// trainee to start from.
pub fn connect(
    config: &TrainConfig,
    labels: &[u32],
    trainee: Trainee,
    epochs_done: u64,
) -> anyhow::Result<(Cluster, Trainee)> {
    let agreement = Agreement { fingerprint: fingerprint(config, labels, &trainee), epochs_done };
    let nodes = &config.nodes;
    eprintln!("node {} of {}: connecting through {}", nodes.rank, nodes.count, nodes.address);
    let mut cluster = Cluster::connect(nodes, &agreement)?;
    eprintln!("node {}: all {} nodes connected", nodes.rank, nodes.count);
    let mut values = flat::values(&trainee, Tensors::All);
    cluster.broadcast(&mut values)?;
    let trainee = if cluster.rank() == 0 {
        trainee
    } else {
        flat::with_values(trainee, Tensors::All, &values)
    };
    Ok((cluster, trainee))
}

/// What every node of a cluster must share: the config but for each machine's own settings,
/// the training rows' labels, and the shapes of the tensors that train.
fn fingerprint(config: &TrainConfig, labels: &[u32], trainee: &Trainee) -> String {
    use sha2::{Digest, Sha256};
    let mut shared = config.clone();
    shared.nodes.rank = 0;
    shared.nodes.address = String::new();
    shared.nodes.timeout_s = 0;
    shared.run_dir = None;
    shared.dataset_root = PathBuf::new();
    shared.device = crate::device::DeviceChoice::default();
    let mut hash = Sha256::new();
    hash.update(shared.to_toml().as_bytes());
    for label in labels {
        hash.update(label.to_le_bytes());
    }
    let (trainable, buffers) = flat::sizes(trainee);
    hash.update((trainable as u64).to_le_bytes());
    hash.update((buffers as u64).to_le_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
