//! The gradients of a step's replicas: on the caller's thread for one device, or one worker
//! thread per device for several.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;

use super::super::criterion::Trainee;
use super::super::mixed::Mixed;
use super::super::replica::{Batch, Criterion, replica_loss};

/// What a device's worker sends back: the replica's gradients, its loss and figure.
type ReplicaOut = anyhow::Result<(GradientsParams, f64, f64)>;

/// One replica's result: its gradients (on `device`), its loss and the criterion's figure.
pub struct ReplicaGrads {
    pub grads: GradientsParams,
    pub device: Device,
    pub loss: f64,
    pub watched: f64,
}

/// A device's worker thread: it lives as long as the [`Replicas`], so that burn's
/// `RunningState` (BatchNorm's running statistics, kept per thread and averaged over threads)
/// sees the same threads step after step.
struct Worker {
    jobs: Sender<(Trainee, Batch, f64)>,
    results: Receiver<ReplicaOut>,
}

/// The devices of this machine and their workers (none for a single device).
pub struct Replicas {
    pub devices: Vec<Device>,
    criterion: Arc<Criterion>,
    normalise: bool,
    mixed: Mixed,
    workers: Vec<Worker>,
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas").field("devices", &self.devices.len()).finish_non_exhaustive()
    }
}

impl Replicas {
    pub fn new(devices: Vec<Device>, criterion: Criterion, normalise: bool, mixed: Mixed) -> Self {
        let criterion = Arc::new(criterion);
        let workers = if devices.len() > 1 {
            devices.iter().map(|d| spawn(d.clone(), &criterion, normalise, &mixed)).collect()
        } else {
            Vec::new()
        };
        Self { devices, criterion, normalise, mixed, workers }
    }

    /// The gradients of `trainee` on each of `batches` (batch i on device i), each loss
    /// scaled by `share`.
    pub fn gradients(
        &self,
        trainee: &Trainee,
        batches: Vec<Batch>,
        share: f64,
    ) -> anyhow::Result<Vec<ReplicaGrads>> {
        let n = batches.len();
        if self.workers.is_empty() {
            let Some(batch) = batches.first() else { return Ok(Vec::new()) };
            let device = &self.devices[0];
            let (loss, value, watched) = replica_loss(
                trainee,
                &self.criterion,
                self.normalise,
                batch,
                device,
                share,
                &self.mixed,
            )?;
            let grads = GradientsParams::from_grads(loss.backward(), trainee);
            return Ok(vec![ReplicaGrads { grads, device: device.clone(), loss: value, watched }]);
        }
        let stopped = || anyhow::anyhow!("a device's worker has stopped");
        for (worker, (batch, device)) in
            self.workers.iter().zip(batches.into_iter().zip(&self.devices))
        {
            let replica = trainee.clone().fork(device);
            worker.jobs.send((replica, batch, share)).map_err(|_| stopped())?;
        }
        let mut out = Vec::with_capacity(n);
        for (worker, device) in self.workers.iter().zip(&self.devices).take(n) {
            let (grads, loss, watched) = worker.results.recv().map_err(|_| stopped())??;
            out.push(ReplicaGrads { grads, device: device.clone(), loss, watched });
        }
        Ok(out)
    }
}

fn spawn(device: Device, criterion: &Arc<Criterion>, normalise: bool, mixed: &Mixed) -> Worker {
    let (jobs, job_rx) = channel::<(Trainee, Batch, f64)>();
    let (result_tx, results) = channel();
    let (criterion, mixed) = (Arc::clone(criterion), mixed.clone());
    std::thread::spawn(move || {
        for (replica, batch, scale) in job_rx {
            let out = replica_loss(&replica, &criterion, normalise, &batch, &device, scale, &mixed)
                .map(|(loss, value, watched)| {
                    (GradientsParams::from_grads(loss.backward(), &replica), value, watched)
                });
            if result_tx.send(out).is_err() {
                return;
            }
        }
    });
    Worker { jobs, results }
}
