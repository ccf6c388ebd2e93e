//! The strategies take the same step: two devices as one on the mean loss, two ranks as two
//! devices.
#![allow(clippy::unwrap_used)]
use burn::optim::SgdConfig;
use oml_core::loss::TripletLossWithMinerConfig;
use oml_core::miner::MinerConfig;
use oml_models::extractor::{AnyExtractor, ExtractorWithMlp, MobileNetV2Config};

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};

use super::super::criterion::Trainee;
use super::super::flat::{self, Tensors};
use super::super::mixed::Mixed;
use super::super::processes::{Collective, agree};
use super::super::replica::{Batch, Criterion, replica_loss};
use super::super::update::Update;
use super::{MultiDevice, RankSteps, Step, Strategy};

fn f32() -> Mixed {
    Mixed::new(oml_models::precision::Precision::F32)
}

fn criterion() -> Criterion {
    let config = TripletLossWithMinerConfig::new(Some(0.2), MinerConfig::HardTriplets {});
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

/// Ranks as threads of one test: MPI's collectives through shared memory.
struct ThreadRanks {
    rank: usize,
    size: usize,
    shared: std::sync::Arc<Shared>,
}

struct Shared {
    barrier: std::sync::Barrier,
    sum: std::sync::Mutex<Vec<f32>>,
    bytes: std::sync::Mutex<Vec<u8>>,
}

impl ThreadRanks {
    fn all(size: usize) -> Vec<Self> {
        let shared = std::sync::Arc::new(Shared {
            barrier: std::sync::Barrier::new(size),
            sum: std::sync::Mutex::new(Vec::new()),
            bytes: std::sync::Mutex::new(Vec::new()),
        });
        (0..size).map(|rank| Self { rank, size, shared: shared.clone() }).collect()
    }
}

impl Collective for ThreadRanks {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_sum(&self, values: &mut [f32]) {
        if self.rank == 0 {
            *self.shared.sum.lock().unwrap() = vec![0.0; values.len()];
        }
        self.shared.barrier.wait();
        for (s, v) in self.shared.sum.lock().unwrap().iter_mut().zip(values.iter()) {
            *s += v;
        }
        self.shared.barrier.wait();
        values.copy_from_slice(&self.shared.sum.lock().unwrap());
        self.shared.barrier.wait();
    }
    fn broadcast(&self, bytes: &mut [u8]) {
        if self.rank == 0 {
            *self.shared.bytes.lock().unwrap() = bytes.to_vec();
        }
        self.shared.barrier.wait();
        bytes.copy_from_slice(&self.shared.bytes.lock().unwrap());
        self.shared.barrier.wait();
    }
    fn abort(&self, code: i32) -> ! {
        panic!("rank {} aborts with {code}", self.rank)
    }
}

/// Ranks that hold different bytes all learn it, those that agree too.
#[test]
fn ranks_that_differ_all_stop() {
    let run = |held: [&'static [u8]; 3]| {
        let threads: Vec<_> = ThreadRanks::all(3)
            .into_iter()
            .zip(held)
            .map(|(r, bytes)| std::thread::spawn(move || agree(&r, "data", bytes).err()))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap().map(|e| e.to_string())).collect::<Vec<_>>()
    };
    assert_eq!(run([b"a", b"a", b"a"]), vec![None, None, None]);
    let errors = run([b"a", b"a", b"b"]);
    assert!(errors.iter().all(Option::is_some), "{errors:?}");
    assert!(
        errors[2]
            .as_ref()
            .unwrap()
            .contains("1 of the 3 ranks hold data other than rank 0's (rank 2 does)")
    );
}

/// Two ranks with a batch each take the step of one process with two devices; both end
/// with the same model, BatchNorm statistics included.
#[test]
fn two_ranks_take_the_step_of_two_devices() {
    let device = Device::flex().autodiff();
    let build = || {
        let extractor =
            AnyExtractor::MobileNetV2(MobileNetV2Config::new().with_width_mult(0.35).init(&device));
        Trainee::model_only(ExtractorWithMlp::new(extractor, &[], &device))
    };
    let trainee = build();
    // Each rank gets a model of its own with the same values (clones would share their
    // BatchNorm statistics; and the tests running beside this one draw from the same RNG).
    let start = flat::values(&trainee, Tensors::All);
    let fresh = || flat::with_values(build(), Tensors::All, &start);
    let batches = vec![batch(1), batch(2)];
    let lr = 0.5;

    let mut parallel =
        MultiDevice::new(vec![device.clone(), device.clone()], criterion(), true, f32());
    let mut optim: ModuleOptimizer = SgdConfig::new().init();
    let (expected, expected_stats) = parallel
        .step(
            trainee.clone(),
            &mut optim,
            Step { update: Update::at(lr), batches: batches.clone(), total: 2 },
        )
        .unwrap();

    let nodes: Vec<_> = ThreadRanks::all(2)
        .into_iter()
        .map(|ranks| {
            let (trainee, batch, device) = (fresh(), batches[ranks.rank].clone(), device.clone());
            std::thread::spawn(move || {
                let mut trainer = RankSteps::new(vec![device], criterion(), true, &ranks, f32());
                let mut optim: ModuleOptimizer = SgdConfig::new().init();
                trainer
                    .step(
                        trainee,
                        &mut optim,
                        Step { update: Update::at(lr), batches: vec![batch], total: 2 },
                    )
                    .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
    let all = |t: &Trainee| flat::values(&t.model.valid(), Tensors::All);
    assert!(all(&results[0].0) == all(&results[1].0), "the ranks hold the same model");
    let running = |t: &Trainee| flat::values(&t.model.valid(), Tensors::RunningStats);
    assert!(running(&results[0].0) == running(&expected), "the mean of the ranks' statistics");
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
    let trainee = Trainee::model_only(ExtractorWithMlp::new(extractor, &[], &device));
    let batches = vec![batch(1), batch(2)];
    let lr = 0.5;

    let mut parallel =
        MultiDevice::new(vec![device.clone(), device.clone()], criterion(), true, f32());
    let mut optim: ModuleOptimizer = SgdConfig::new().init();
    let (a, stats) = parallel
        .step(
            trainee.clone(),
            &mut optim,
            Step { update: Update::at(lr), batches: batches.clone(), total: 2 },
        )
        .unwrap();

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
