//! Loss forward + backward on CPU (burn flex with autodiff), at OML's shapes: batch-hard
//! triplet loss on a 576 x 384 batch (OML's SOP recipe: 96 labels x 6 instances) and ArcFace
//! on 256 x 512 with 10,000 classes. PyTorch on the same shapes:
//! `benches/losses_side_by_side.py` (see benches/README.md).

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use oml_core::loss::{ArcFaceLossConfig, TripletLossConfig, TripletLossWithMiner};
use oml_core::miner::HardTripletsMiner;

fn losses(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let mut group = c.benchmark_group("losses_cpu");
    group.sample_size(10);

    let labels: Vec<u32> = (0..576u32).map(|i| i / 6).collect();
    let features = Tensor::<2>::random([576, 384], Distribution::Normal(0.0, 1.0), &device);
    let triplet = TripletLossWithMiner::new(
        TripletLossConfig::new().with_margin(Some(0.1)).init().expect("valid margin"),
        HardTripletsMiner,
    );
    group.bench_function("hard_triplet_576x384_fwd_bwd", |b| {
        b.iter(|| {
            let x = features.clone().require_grad();
            let loss = triplet.forward(x.clone(), &labels).expect("minable batch").loss;
            let grads = loss.backward();
            x.grad(&grads).expect("gradient").try_into_vec_as::<f32>().expect("readback")
        });
    });

    let labels: Vec<u32> = (0..256u32).map(|i| (i * 37) % 10_000).collect();
    let features = Tensor::<2>::random([256, 512], Distribution::Normal(0.0, 1.0), &device);
    let arcface = ArcFaceLossConfig::new(512, 10_000).init(&device).expect("valid config");
    group.bench_function("arcface_256x512_10k_classes_fwd_bwd", |b| {
        b.iter(|| {
            let x = features.clone().require_grad();
            let loss = arcface.forward(x.clone(), &labels).expect("valid labels").loss;
            let grads = loss.backward();
            x.grad(&grads).expect("gradient").try_into_vec_as::<f32>().expect("readback")
        });
    });
    group.finish();
}

criterion_group!(benches, losses);
criterion_main!(benches);
