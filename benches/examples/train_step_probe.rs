//! Milliseconds per training step of the emoji benchmark recipe's shapes on CPU (MobileNetV2,
//! batch 64 = 32 emoji x 2 drawings, hard triplets, Adam, depthwise weights frozen), for
//! comparing process-level settings (allocators, tunables) that a criterion bench cannot vary.
//! Run: `cargo run --release -p oml-benches --example train_step_probe -- [SIZE] [STEPS]`
//! (defaults 160 px, 6 steps; the first step is a warm-up and not counted).
#![allow(clippy::expect_used)]
#![allow(unsafe_code)] // The switchable global allocator below forwards unsafe calls.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};
use oml_core::loss::TripletLossWithMinerConfig;
use oml_core::miner::MinerConfig;
use oml_models::embedder::l2_normalise;
use oml_models::extractor::{Extractor, MobileNetV2Config, freeze_depthwise_weights};

/// As the `oml` binaries run (`native/src/retain_large.rs`), unless `PROBE_SYSTEM_ALLOC` is set.
struct Allocator;

static RETAIN: oml_native::retain_large::RetainLarge = oml_native::retain_large::RetainLarge::new();
static USE_SYSTEM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

// SAFETY: every call goes to one of two allocators, chosen before the first allocation that
// matters and never switched afterwards for a live block (the switch happens at start-up).
unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        if USE_SYSTEM.load(std::sync::atomic::Ordering::Relaxed) {
            unsafe { std::alloc::System.alloc(l) }
        } else {
            unsafe { RETAIN.alloc(l) }
        }
    }
    unsafe fn alloc_zeroed(&self, l: std::alloc::Layout) -> *mut u8 {
        if USE_SYSTEM.load(std::sync::atomic::Ordering::Relaxed) {
            unsafe { std::alloc::System.alloc_zeroed(l) }
        } else {
            unsafe { RETAIN.alloc_zeroed(l) }
        }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        if USE_SYSTEM.load(std::sync::atomic::Ordering::Relaxed) {
            unsafe { std::alloc::System.dealloc(p, l) }
        } else {
            unsafe { RETAIN.dealloc(p, l) }
        }
    }
}

#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

fn main() {
    // Small blocks only are allocated before this point, and both allocators free those alike.
    USE_SYSTEM.store(
        std::env::var_os("PROBE_SYSTEM_ALLOC").is_some(),
        std::sync::atomic::Ordering::Relaxed,
    );
    let mut args = std::env::args().skip(1);
    let size: usize = args.next().map_or(160, |s| s.parse().expect("SIZE is a number"));
    let steps: usize = args.next().map_or(6, |s| s.parse().expect("STEPS is a number"));
    let device = Device::flex().autodiff();
    let criterion = TripletLossWithMinerConfig::new(Some(0.2), MinerConfig::HardTriplets {})
        .init()
        .expect("valid config");
    let labels: Vec<u32> = (0..64u32).map(|i| i / 2).collect();
    let images = Tensor::<4>::random([64, 3, size, size], Distribution::Normal(0.0, 1.0), &device);
    let mut model = freeze_depthwise_weights(MobileNetV2Config::new().init(&device)).0;
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut times = Vec::new();
    for _ in 0..=steps {
        let start = Instant::now();
        let e = l2_normalise(model.extract(images.clone()));
        let out = criterion.forward(e, &labels).expect("a P x K batch");
        let grads = GradientsParams::from_grads(out.loss.backward(), &model);
        model = optim.step(1e-4, model, grads);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let counted = &times[1..];
    let mean = counted.iter().sum::<f64>() / counted.len() as f64;
    let min = counted.iter().copied().fold(f64::INFINITY, f64::min);
    println!("{size} px, batch 64: {mean:.0} ms/step mean, {min:.0} min over {steps} steps");
}
