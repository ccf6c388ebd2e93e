//! MobileNetV2 embedding throughput on a GPU, as `oml embed` runs it (BatchNorm folded, 224 px,
//! batch 256), in f32 and f16: on CUDA where the build has it, and on wgpu's hardware adapter.
//! A machine without a hardware GPU (a software adapter such as lavapipe is not one: its
//! figures would say nothing about GPUs) skips every case and says so. The same figure comes
//! from `benches/examples/gpu_check.rs` in scripts/gpu-check.sh.

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oml_models::extractor::{Extractor, MobileNetV2Config};
use oml_models::precision::{Precision, cast_module};
use oml_native::device::{Backend, Compiled, DeviceChoice, MachineProbe, plan};

/// The hardware GPUs to measure, by name.
fn gpus() -> Vec<(&'static str, Device)> {
    let mut out = Vec::new();
    for (name, choice) in [("cuda", DeviceChoice::Cuda), ("wgpu", DeviceChoice::Wgpu)] {
        match plan(choice, 1, Compiled::THIS_BUILD, &mut MachineProbe) {
            Ok(p) if p.backend != Backend::Cpu && p.gpus.iter().all(|g| !g.software) => {
                out.push((name, p.gpus[0].device.clone()));
            }
            Ok(_) => eprintln!("gpu bench: {name}: only a software adapter; skipped"),
            Err(e) => eprintln!("gpu bench: {name}: {e}; skipped"),
        }
    }
    out
}

fn embed(c: &mut Criterion) {
    const BATCH: usize = 256;
    let mut group = c.benchmark_group("embed_gpu");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, device) in gpus() {
        let images =
            Tensor::<4>::random([BATCH, 3, 224, 224], Distribution::Normal(0.0, 1.0), &device);
        let model = MobileNetV2Config::new().init(&device).fold_batch_norms();
        for precision in [Precision::F32, Precision::F16] {
            if !device.supports_dtype(precision.dtype()) {
                continue;
            }
            let model = cast_module(model.clone(), precision);
            let x = precision.cast(images.clone());
            group.bench_function(format!("mobilenet_v2_224px_batch256_{name}_f{precision}"), |b| {
                b.iter(|| model.extract(x.clone()).try_into_vec_as::<f32>().expect("readback"));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, embed);
criterion_main!(benches);
