//! One training step on CPU as the emoji recipe runs it: MobileNetV2 at 96 px, a 32 x 2 batch,
//! L2-normalised embeddings, batch-hard triplet loss (margin 0.2), backward, Adam step.
//! PyTorch/OML on the same shapes: `benches/train_side_by_side.py` (images/s per epoch).

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oml_core::loss::TripletLossWithMinerConfig;
use oml_core::miner::MinerConfig;
use oml_data::augment::{Augment, ColorJitter, RandomResizedCrop, RandomRotation};
use oml_data::image::Filter;
use oml_models::embedder::l2_normalise;
use oml_models::extractor::{
    AnyExtractor, Extractor, ExtractorWithMlp, MobileNetV2Config, freeze_batch_norm_statistics,
    freeze_depthwise_weights,
};
use oml_native::train::{Agreement, Cluster, EmaWarmup, NodesSection, WeightAverage};

fn training(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let mut group = c.benchmark_group("training_cpu");
    group.sample_size(10);
    group.throughput(Throughput::Elements(64));
    let criterion = TripletLossWithMinerConfig::new(Some(0.2), MinerConfig::HardTriplets {})
        .init()
        .expect("valid config");
    let labels: Vec<u32> = (0..64u32).map(|i| i / 2).collect();
    let images = Tensor::<4>::random([64, 3, 96, 96], Distribution::Normal(0.0, 1.0), &device);
    // As OML trains (everything), and with the BatchNorm statistics and the depthwise
    // convolutions' weights frozen (`freeze_batch_norm`, `freeze_depthwise`).
    for frozen in [false, true] {
        let mut m = MobileNetV2Config::new().init(&device);
        if frozen {
            m = freeze_batch_norm_statistics(freeze_depthwise_weights(m).0);
        }
        let mut model = Some(m);
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let name = if frozen { "_frozen_bn_depthwise" } else { "" };
        group.bench_function(format!("mobilenet_v2_96px_32x2_hard_triplet_adam_step{name}"), |b| {
            b.iter(|| {
                let m = model.take().expect("the model is put back after each step");
                let e = l2_normalise(m.extract(images.clone()));
                let out = criterion.forward(e, &labels).expect("a P x K batch");
                let grads = GradientsParams::from_grads(out.loss.backward(), &m);
                model = Some(optim.step(1e-4, m, grads));
            });
        });
    }
    group.finish();
}

/// One update of the weight average (`ema_decay`) of the full MobileNetV2 (3.5 M floats,
/// BatchNorm statistics included), as `oml-train` does after every step.
fn weight_average(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let extractor = AnyExtractor::MobileNetV2(MobileNetV2Config::new().init(&device));
    let model = ExtractorWithMlp::new(extractor, &[], &device);
    let mut average = WeightAverage::new(&model, 0.99, EmaWarmup::Tensorflow);
    let mut step = 0;
    c.bench_function("ema_update_mobilenet_v2", |b| {
        b.iter(|| {
            average.update(&model, step).expect("the same model");
            step += 1;
        });
    });
}

/// One all-reduce between two nodes over TCP on this machine (loopback), as `oml-train` with
/// `[nodes]` does after every backward pass: MobileNetV2's 3.5 M gradient floats (14 MB) from
/// node 1 to node 0, the sum back.
fn nodes_all_reduce(c: &mut Criterion) {
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let section = |rank| NodesSection { count: 2, rank, address: address.clone(), timeout_s: 30 };
    let agreement = Agreement { fingerprint: "bench".into(), epochs_done: 0 };
    let n = 3_504_872;
    let node1 = {
        let (section, agreement) = (section(1), agreement.clone());
        std::thread::spawn(move || {
            let mut cluster = Cluster::connect(&section, &agreement).expect("node 0 listens");
            let mut values = vec![1.0f32; n];
            // Until node 0 hangs up.
            while cluster.all_reduce_sum(&mut values).is_ok() {
                values.fill(1.0);
            }
        })
    };
    let mut cluster = Cluster::connect(&section(0), &agreement).expect("node 1 connects");
    let mut values = vec![1.0f32; n];
    let mut group = c.benchmark_group("nodes");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(4 * n as u64));
    group.bench_function("all_reduce_mobilenet_v2_two_nodes_loopback", |b| {
        b.iter(|| cluster.all_reduce_sum(&mut values).expect("node 1 answers"));
    });
    group.finish();
    drop(cluster);
    node1.join().expect("node 1 ends");
}

/// The benchmark recipe's augmentation of one 64 x 64 emoji to 160 px (random resized crop,
/// flip, colour jitter), without and with a random rotation of up to 15°. The loader runs it
/// on several threads ahead of the model; a training step takes about 2 s for 64 images.
fn augmentation(c: &mut Criterion) {
    let image = image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
    });
    let recipe = Augment {
        crop: Some(RandomResizedCrop {
            scale: (0.6, 1.0),
            ratio: (0.85, 1.18),
            ..RandomResizedCrop::new(160, 160)
        }),
        rotation: None,
        flip_p: 0.5,
        jitter: Some(ColorJitter { brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05 }),
        grayscale_p: 0.0,
        filter: Filter::Bicubic,
    };
    let rotated =
        Augment { rotation: Some(RandomRotation { degrees: 15.0, fill: [255; 3] }), ..recipe };
    let mut group = c.benchmark_group("augment_emoji_64_to_160");
    group.throughput(Throughput::Elements(1));
    for (name, aug) in [("recipe", recipe), ("recipe_rotation_15", rotated)] {
        let mut row = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                row += 1;
                aug.apply(&image, 0, 0, row)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, training, weight_average, nodes_all_reduce, augmentation);
criterion_main!(benches);
