//! One optimizer step, on one device or data-parallel over several: each device trains a
//! replica of the model (`Module::fork`) on its own batch, and the optimizer takes one step on
//! the mean of their gradients (burn's `MultiGradientsParams` sums the devices' gradients, each
//! on a device of its own per parameter; every replica's loss is divided by the number of
//! devices, so the sum is the mean). Batch statistics and triplet mining stay within each
//! device's batch, as in OML's (PyTorch DDP) multi-device training. Across several machines
//! ([`Cluster`]) each node sums its devices' gradients into one vector, the nodes add their
//! vectors up, and every node takes the same optimizer step on the sum.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer, MultiGradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use oml_core::loss::TripletLossWithMiner;
use oml_core::miner::DynMiner;
use oml_models::embedder::l2_normalise;

use super::criterion::Trainee;
use super::flat::{self, Tensors};
use super::mixed::{Mixed, Unscaled};
use super::nodes::Cluster;

/// The loss of a step: the triplet loss with its miner, or ArcFace (whose class weights are
/// part of the [`Trainee`]).
pub enum Criterion {
    Triplet(TripletLossWithMiner<DynMiner>),
    ArcFace,
}

impl std::fmt::Debug for Criterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Triplet(_) => "Criterion::Triplet",
            Self::ArcFace => "Criterion::ArcFace",
        })
    }
}

impl Criterion {
    /// What the progress bar shows beside the loss.
    pub fn watched(&self) -> &'static str {
        match self {
            Self::Triplet(_) => "active",
            Self::ArcFace => "acc",
        }
    }
}

/// One device's batch: `[n, 3, h, w]` pixels, the rows' labels, and their ArcFace class ids.
#[derive(Debug, Clone)]
pub struct Batch {
    pub pixels: Vec<f32>,
    pub shape: [usize; 4],
    pub labels: Vec<u32>,
    pub classes: Vec<u32>,
    /// The rows' domain ids when the triplets are mined across domains.
    pub domains: Option<Vec<u32>>,
}

/// The mean loss of a step over its batches, and the mean of what the criterion reports
/// (active triplets or ArcFace accuracy).
#[derive(Debug, Clone, Copy)]
pub struct StepStats {
    pub loss: f64,
    pub watched: f64,
}

/// The loss of `trainee` on `batch` (on `device`, the forward pass in `mixed`'s precision),
/// times `scale`, and the criterion's figure.
fn replica_loss(
    trainee: &Trainee,
    criterion: &Criterion,
    normalise: bool,
    batch: &Batch,
    device: &Device,
    scale: f64,
    mixed: &Mixed,
) -> anyhow::Result<(Tensor<1>, f64, f64)> {
    let x = Tensor::<4>::from_data(TensorData::new(batch.pixels.clone(), batch.shape), device);
    let mut e = mixed.extract(&trainee.model, x);
    if normalise {
        e = l2_normalise(e);
    }
    let (loss, watched) = match (criterion, &trainee.arcface) {
        (Criterion::Triplet(t), _) => {
            let out = match &batch.domains {
                Some(domains) => t.forward_across(e, &batch.labels, domains)?,
                None => t.forward(e, &batch.labels)?,
            };
            (out.loss, out.logs.map_or(f64::NAN, |l| l.active_tri))
        }
        (Criterion::ArcFace, Some(a)) => {
            let out = a.forward(e, &batch.classes)?;
            (out.loss, out.accuracy)
        }
        (Criterion::ArcFace, None) => anyhow::bail!("the ArcFace criterion has no class weights"),
    };
    let value = f64::from(loss.clone().try_into_scalar::<f32>().map_err(|e| {
        anyhow::anyhow!(
            "the device failed during a step: {e}; lower the batch (sampler.n_labels × \
             n_instances) or the image size, or train with precision = 16"
        )
    })?);
    if !value.is_finite() {
        anyhow::bail!("the loss became {value}");
    }
    let loss = if (scale - 1.0).abs() > 0.0 { loss.mul_scalar(scale) } else { loss };
    Ok((loss, value, watched))
}

/// What a device's worker sends back: the replica's gradients, its loss and figure.
type ReplicaOut = anyhow::Result<(GradientsParams, f64, f64)>;

/// A device's worker thread: it lives as long as the [`Trainer`], so that burn's
/// `RunningState` (BatchNorm's running statistics, kept per thread and averaged over threads)
/// sees the same threads step after step.
struct Worker {
    jobs: Sender<(Trainee, Batch, f64)>,
    results: Receiver<ReplicaOut>,
}

/// Steps of the training loop on one device (on the caller's thread) or data-parallel over
/// several (one worker thread per device).
pub struct Trainer {
    devices: Vec<Device>,
    criterion: Arc<Criterion>,
    normalise: bool,
    workers: Vec<Worker>,
    cluster: Option<Cluster>,
    /// The precision of the forward and backward passes (half: one device, one node).
    mixed: Mixed,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer").field("devices", &self.devices.len()).finish_non_exhaustive()
    }
}

impl Trainer {
    /// `devices[0]` is the main device: the model lives there between steps. With a
    /// `cluster`, the steps are taken together with the other nodes. `mixed` sets the
    /// precision of the passes; its loss scaling applies on one device of one node, the only
    /// case the config lets half precision train in.
    pub fn new(
        devices: Vec<Device>,
        criterion: Criterion,
        normalise: bool,
        cluster: Option<Cluster>,
        mixed: Mixed,
    ) -> Self {
        let criterion = Arc::new(criterion);
        let workers = if devices.len() > 1 {
            devices
                .iter()
                .map(|device| {
                    let (jobs, job_rx) = channel::<(Trainee, Batch, f64)>();
                    let (result_tx, results) = channel();
                    let (criterion, device) = (Arc::clone(&criterion), device.clone());
                    let mixed = mixed.clone();
                    std::thread::spawn(move || {
                        for (replica, batch, scale) in job_rx {
                            let out = replica_loss(
                                &replica, &criterion, normalise, &batch, &device, scale, &mixed,
                            )
                            .map(|(loss, value, watched)| {
                                let grads = GradientsParams::from_grads(loss.backward(), &replica);
                                (grads, value, watched)
                            });
                            if result_tx.send(out).is_err() {
                                return;
                            }
                        }
                    });
                    Worker { jobs, results }
                })
                .collect()
        } else {
            Vec::new()
        };
        Self { devices, criterion, normalise, workers, cluster, mixed }
    }

    /// How many batches one step takes on this node (one per device).
    pub fn batches_per_step(&self) -> usize {
        self.devices.len().max(1)
    }

    /// Number of nodes taking the steps together, and this node's rank.
    pub fn nodes(&self) -> (usize, usize) {
        self.cluster.as_ref().map_or((1, 0), |c| (c.count(), c.rank()))
    }

    /// One step: `batches[i]` on device i (at most one batch per device; the last step of
    /// an epoch may have fewer, and on a node of a cluster none), then the optimizer on the
    /// mean of the gradients of the step's `total` batches (over all nodes). Returns the
    /// updated trainee on the main device and the mean loss over the `total` batches.
    pub fn step(
        &mut self,
        trainee: Trainee,
        optim: &mut ModuleOptimizer,
        lr: f64,
        batches: Vec<Batch>,
        total: usize,
    ) -> anyhow::Result<(Trainee, StepStats)> {
        let n = batches.len();
        anyhow::ensure!(
            n <= self.batches_per_step() && n <= total && total > 0,
            "a step takes up to {} of its {total} batches here, got {n}",
            self.batches_per_step(),
        );
        anyhow::ensure!(
            n > 0 || self.cluster.is_some(),
            "a step on a single node takes at least one batch"
        );
        anyhow::ensure!(
            n == total || self.cluster.is_some(),
            "{n} of {total} batches on a single node"
        );
        // Each replica's loss is scaled by 1/total, so the summed gradients are the mean.
        #[allow(clippy::cast_precision_loss)]
        let share = 1.0 / total as f64;
        if self.workers.is_empty() && self.cluster.is_none() {
            let device = &self.devices[0];
            let factor = self.mixed.loss_factor();
            let (loss, value, watched) = replica_loss(
                &trainee,
                &self.criterion,
                self.normalise,
                &batches[0],
                device,
                factor,
                &self.mixed,
            )?;
            let grads = GradientsParams::from_grads(loss.backward(), &trainee);
            let trainee = match self.mixed.unscale(&trainee, grads)? {
                Unscaled::Step(grads) => optim.step(lr, trainee, grads),
                Unscaled::Skip => trainee,
            };
            return Ok((trainee, StepStats { loss: value, watched }));
        }
        let mut local = Vec::with_capacity(n);
        if self.workers.is_empty() {
            if let Some(batch) = batches.first() {
                let device = &self.devices[0];
                let (loss, value, watched) = replica_loss(
                    &trainee,
                    &self.criterion,
                    self.normalise,
                    batch,
                    device,
                    share,
                    &self.mixed,
                )?;
                let grads = GradientsParams::from_grads(loss.backward(), &trainee);
                local.push((grads, device.clone(), value, watched));
            }
        } else {
            for (worker, (batch, device)) in
                self.workers.iter().zip(batches.into_iter().zip(&self.devices))
            {
                let replica = trainee.clone().fork(device);
                worker
                    .jobs
                    .send((replica, batch, share))
                    .map_err(|_| anyhow::anyhow!("a device's worker has stopped"))?;
            }
            for (worker, device) in self.workers.iter().zip(&self.devices).take(n) {
                let (grads, value, w) = worker
                    .results
                    .recv()
                    .map_err(|_| anyhow::anyhow!("a device's worker has stopped"))??;
                local.push((grads, device.clone(), value, w));
            }
        }
        let Some(cluster) = &mut self.cluster else {
            let (mut loss, mut watched) = (0.0, 0.0);
            let mut multi = MultiGradientsParams::default();
            for (grads, device, value, w) in local {
                multi.grads.push((grads, device));
                loss += value * share;
                watched += w * share;
            }
            let trainee = optim.step_multi(lr, trainee, multi).fork(&self.devices[0]);
            return Ok((trainee, StepStats { loss, watched }));
        };
        // One vector: this node's summed gradients, then its share of the loss and of the
        // criterion's figure; the nodes add theirs up.
        let (trainable, _) = flat::sizes(&trainee);
        let mut sum = vec![0.0f32; trainable + 2];
        for (mut grads, _, value, w) in local {
            flat::add_gradients(&trainee, &mut grads, &mut sum[..trainable]);
            #[allow(clippy::cast_possible_truncation)]
            {
                sum[trainable] += (value * share) as f32;
                sum[trainable + 1] += (w * share) as f32;
            }
        }
        cluster.all_reduce_sum(&mut sum)?;
        let grads = flat::gradients(&trainee, &sum[..trainable], &self.devices[0]);
        let trainee = optim.step(lr, trainee, grads);
        // The mean of the nodes' BatchNorm running statistics, as burn averages those of
        // the devices (threads) of one node.
        flat::fold_running_stats(&trainee);
        let mut running = flat::values(&trainee, Tensors::RunningStats);
        cluster.all_reduce_sum(&mut running)?;
        #[allow(clippy::cast_precision_loss)]
        let n_nodes = cluster.count() as f32;
        running.iter_mut().for_each(|v| *v /= n_nodes);
        let trainee = flat::with_values(trainee, Tensors::RunningStats, &running);
        let stats =
            StepStats { loss: f64::from(sum[trainable]), watched: f64::from(sum[trainable + 1]) };
        Ok((trainee, stats))
    }
}

#[cfg(test)]
mod tests {
    use burn::optim::SgdConfig;
    use oml_core::loss::TripletLossWithMinerConfig;
    use oml_core::miner::MinerConfig;
    use oml_models::extractor::{AnyExtractor, ExtractorWithMlp, MobileNetV2Config};

    use super::*;

    fn f32() -> Mixed {
        Mixed::new(oml_models::precision::Precision::F32)
    }

    fn criterion() -> Criterion {
        let config = TripletLossWithMinerConfig {
            margin: Some(0.2),
            reduction: oml_core::loss::Reduction::Mean,
            need_logs: true,
            miner: MinerConfig::HardTriplets {},
            cross_domain: false,
        };
        Criterion::Triplet(config.init().unwrap())
    }

    fn batch(seed: u64) -> Batch {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let shape = [8, 3, 32, 32];
        let pixels = (0..shape.iter().product::<usize>()).map(|_| rng.random_range(-1.0..1.0));
        let labels = vec![0, 0, 1, 1, 2, 2, 3, 3];
        Batch {
            pixels: pixels.collect(),
            shape,
            labels: labels.clone(),
            classes: labels,
            domains: None,
        }
    }

    fn params(t: &Trainee) -> Vec<Vec<f32>> {
        fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
            t.try_into_vec_as::<f32>().unwrap()
        }
        let AnyExtractor::MobileNetV2(m) = &t.model.extractor else { unreachable!() };
        let mut out = vec![values(m.stem.conv.weight.val())];
        for b in [&m.blocks[3], &m.blocks[15]] {
            out.push(values(b.project.conv.weight.val()));
            out.push(values(b.project.bn.as_ref().unwrap().gamma.val()));
        }
        out.push(values(m.head.conv.weight.val()));
        out
    }

    /// Two nodes with a batch each take the step of one node with two devices; both end
    /// with the same model, BatchNorm statistics included.
    #[test]
    fn two_nodes_take_the_step_of_two_devices() {
        use super::super::nodes::{Agreement, NodesSection};
        let device = Device::flex().autodiff();
        let build = || {
            let extractor = AnyExtractor::MobileNetV2(
                MobileNetV2Config::new().with_width_mult(0.35).init(&device),
            );
            Trainee { model: ExtractorWithMlp::new(extractor, &[], &device), arcface: None }
        };
        let trainee = build();
        // Each node gets a model of its own with the same values (clones would share their
        // BatchNorm statistics; and the tests running beside this one draw from the same RNG).
        let start = flat::values(&trainee, Tensors::All);
        let fresh = || flat::with_values(build(), Tensors::All, &start);
        let batches = vec![batch(1), batch(2)];
        let lr = 0.5;

        let mut parallel =
            Trainer::new(vec![device.clone(), device.clone()], criterion(), true, None, f32());
        let mut optim: ModuleOptimizer = SgdConfig::new().init();
        let (expected, expected_stats) =
            parallel.step(trainee.clone(), &mut optim, lr, batches.clone(), 2).unwrap();

        let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let nodes: Vec<_> = (0..2)
            .map(|rank| {
                let (trainee, batch, device) = (fresh(), batches[rank].clone(), device.clone());
                let section =
                    NodesSection { count: 2, rank, address: address.to_string(), timeout_s: 10 };
                std::thread::spawn(move || {
                    let agreement = Agreement { fingerprint: "f".into(), epochs_done: 0 };
                    let cluster = Cluster::connect(&section, &agreement).unwrap();
                    let mut trainer =
                        Trainer::new(vec![device], criterion(), true, Some(cluster), f32());
                    let mut optim: ModuleOptimizer = SgdConfig::new().init();
                    trainer.step(trainee, &mut optim, lr, vec![batch], 2).unwrap()
                })
            })
            .collect();
        let results: Vec<_> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
        let all = |t: &Trainee| flat::values(&t.model.valid(), Tensors::All);
        assert!(all(&results[0].0) == all(&results[1].0), "the nodes hold the same model");
        let running = |t: &Trainee| flat::values(&t.model.valid(), Tensors::RunningStats);
        assert!(running(&results[0].0) == running(&expected), "the mean of the nodes' statistics");
        for (t, stats) in &results {
            assert!((stats.loss - expected_stats.loss).abs() < 1e-5);
            let moved = params(t)
                .iter()
                .flatten()
                .zip(params(&trainee).iter().flatten())
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max);
            let diff = params(t)
                .iter()
                .flatten()
                .zip(params(&expected).iter().flatten())
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max);
            assert!(moved > 1e-4 && diff <= 1e-4 * moved, "moved {moved}, differs by {diff}");
        }
    }

    /// Two replicas on two batches take the same step as one device on the mean of the two
    /// batches' losses.
    #[test]
    fn a_data_parallel_step_is_a_step_on_the_mean_of_the_replicas_losses() {
        let device = Device::flex().autodiff();
        device.seed(7);
        let extractor =
            AnyExtractor::MobileNetV2(MobileNetV2Config::new().with_width_mult(0.35).init(&device));
        let trainee =
            Trainee { model: ExtractorWithMlp::new(extractor, &[], &device), arcface: None };
        let batches = vec![batch(1), batch(2)];
        let lr = 0.5;

        let mut parallel =
            Trainer::new(vec![device.clone(), device.clone()], criterion(), true, None, f32());
        let mut optim: ModuleOptimizer = SgdConfig::new().init();
        let (a, stats) =
            parallel.step(trainee.clone(), &mut optim, lr, batches.clone(), 2).unwrap();

        let single = criterion();
        let (l1, v1, _) =
            replica_loss(&trainee, &single, true, &batches[0], &device, 0.5, &f32()).unwrap();
        let (l2, v2, _) =
            replica_loss(&trainee, &single, true, &batches[1], &device, 0.5, &f32()).unwrap();
        let grads = GradientsParams::from_grads((l1 + l2).backward(), &trainee);
        let mut optim: ModuleOptimizer = SgdConfig::new().init();
        let b = optim.step(lr, trainee.clone(), grads);

        assert!((stats.loss - (v1 + v2) / 2.0).abs() < 1e-6, "{} vs {}", stats.loss, v1 + v2);
        let (before, a, b) = (params(&trainee), params(&a), params(&b));
        for ((x, y), z) in a.iter().zip(&b).zip(&before) {
            let moved = y.iter().zip(z).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
            let diff = x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
            assert!(moved > 1e-4, "the step moves the weights ({moved})");
            assert!(diff <= 1e-3 * moved, "parallel and single steps differ by {diff} ({moved})");
        }
    }
}
