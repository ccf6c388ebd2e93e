//! One training step on CPU as the emoji recipe runs it: MobileNetV2 at 96 px, a 32 x 2 batch,
//! L2-normalised embeddings, batch-hard triplet loss (margin 0.2), backward, Adam step.
//! PyTorch/OML on the same shapes: `benches/train_side_by_side.py` (images/s per epoch).

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, MultiGradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use oml_core::loss::TripletLossWithMinerConfig;
use oml_core::miner::MinerConfig;
use oml_data::augment::{Augment, ColorJitter, RandomResizedCrop, RandomRotation};
use oml_data::image::Filter;
use oml_models::embedder::l2_normalise;
use oml_models::extractor::{
    AnyExtractor, Extractor, ExtractorWithMlp, MobileNetV2Config, freeze_batch_norm_statistics,
    freeze_depthwise_weights,
};
use oml_native::train::{EmaWarmup, WeightAverage};

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

/// What `devices = 2` adds to a step: burn's `step_multi` merging two devices' gradients
/// before the Adam update, against `step` on one device's gradients (MobileNetV2, 3.5 M
/// floats, two CPU replicas). The difference bounds what an all-reduce during the backward
/// pass (burn's `DistributedOps`) could save (DESIGN-NOTES.md).
fn gradient_merge(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let model = MobileNetV2Config::new().init(&device);
    let criterion = TripletLossWithMinerConfig::new(Some(0.2), MinerConfig::HardTriplets {})
        .init()
        .expect("valid config");
    let labels: Vec<u32> = (0..8u32).map(|i| i / 2).collect();
    let images = Tensor::<4>::random([8, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
    let grads = || {
        let e = l2_normalise(model.extract(images.clone()));
        let out = criterion.forward(e, &labels).expect("a P x K batch");
        GradientsParams::from_grads(out.loss.backward(), &model)
    };
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut group = c.benchmark_group("gradient_merge_mobilenet_v2");
    group.sample_size(10);
    group.bench_function("adam_step_one_device", |b| {
        b.iter_batched(grads, |g| optim.step(1e-4, model.clone(), g), BatchSize::PerIteration);
    });
    group.bench_function("adam_step_multi_two_devices", |b| {
        b.iter_batched(
            || MultiGradientsParams {
                grads: vec![(grads(), device.clone()), (grads(), device.clone())],
            },
            |g| optim.step_multi(1e-4, model.clone(), g),
            BatchSize::PerIteration,
        );
    });
    group.finish();
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

criterion_group!(benches, training, weight_average, gradient_merge, augmentation);
criterion_main!(benches);
