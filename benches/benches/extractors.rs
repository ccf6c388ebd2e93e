//! Extractor forward throughput on CPU (burn flex): MobileNetV2, ResNet-50 and ViT-S/16 at
//! 224 px, batch 16, inference setup (BatchNorm folded) as `oml embed` runs them; and the
//! emoji recipe's ensemble of three MobileNetV2 at its 160 px against one.
//! PyTorch on the same shapes: `benches/extractors_side_by_side.py` (see benches/README.md).

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oml_models::extractor::{AnyExtractor, Extractor, MobileNetV2Config, ResNetConfig, ViTConfig};

fn extractors(c: &mut Criterion) {
    let device = Device::flex();
    let mut group = c.benchmark_group("extractors_cpu");
    group.sample_size(10);
    group.throughput(Throughput::Elements(16));
    let images = Tensor::<4>::random([16, 3, 224, 224], Distribution::Normal(0.0, 1.0), &device);
    let model = MobileNetV2Config::new().init(&device);
    group.bench_function("mobilenet_v2_224px_batch16", |b| {
        b.iter(|| model.extract(images.clone()).try_into_vec_as::<f32>().expect("readback"));
    });
    let folded = model.fold_batch_norms();
    group.bench_function("mobilenet_v2_bn_folded_224px_batch16", |b| {
        b.iter(|| folded.extract(images.clone()).try_into_vec_as::<f32>().expect("readback"));
    });
    let resnet50 = ResNetConfig::resnet50().init(&device).fold_batch_norms();
    group.bench_function("resnet50_bn_folded_224px_batch16", |b| {
        b.iter(|| resnet50.extract(images.clone()).try_into_vec_as::<f32>().expect("readback"));
    });
    let vits16 = ViTConfig::vits16().init(&device);
    group.bench_function("vits16_224px_batch16", |b| {
        b.iter(|| vits16.extract(images.clone()).try_into_vec_as::<f32>().expect("readback"));
    });
    group.finish();
}

/// What `extractor.members = 3` costs at inference: the three members' forward passes and
/// the join (normalise, scale, concatenate), against one member.
fn ensemble(c: &mut Criterion) {
    let device = Device::flex();
    let mut group = c.benchmark_group("ensemble_cpu");
    group.sample_size(10);
    group.throughput(Throughput::Elements(16));
    let images = Tensor::<4>::random([16, 3, 160, 160], Distribution::Normal(0.0, 1.0), &device);
    let member = || AnyExtractor::MobileNetV2(MobileNetV2Config::new().init(&device));
    let one = member().fold_batch_norms();
    group.bench_function("mobilenet_v2_bn_folded_160px_batch16", |b| {
        b.iter(|| one.extract(images.clone()).try_into_vec_as::<f32>().expect("readback"));
    });
    let three = AnyExtractor::Ensemble(vec![member(), member(), member()]).fold_batch_norms();
    group.bench_function("ensemble_of_3_mobilenet_v2_bn_folded_160px_batch16", |b| {
        b.iter(|| three.extract(images.clone()).try_into_vec_as::<f32>().expect("readback"));
    });
    group.finish();
}

criterion_group!(benches, extractors, ensemble);
criterion_main!(benches);
