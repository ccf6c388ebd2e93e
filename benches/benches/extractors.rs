//! Extractor forward throughput on CPU (burn flex): MobileNetV2 at 224 px, batch 16.
//! PyTorch on the same shapes: `benches/extractors_side_by_side.py` (see benches/README.md).

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oml_models::extractor::{Extractor, MobileNetV2Config};

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
    group.finish();
}

criterion_group!(benches, extractors);
criterion_main!(benches);
