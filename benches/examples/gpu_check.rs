//! The device half of `scripts/gpu-check.sh` (an example, so that the test build makes it),
//! for a machine with a GPU and no Rust toolchain:
//!
//! `gpu_check --device cuda|wgpu [--batch 256] [--batches 20]`
//!
//! 1. Forward parity of every zoo architecture (tiny widths, random weights) on the device
//!    against the CPU backend on the same weights and input, and value + gradient parity of
//!    the triplet loss with its hard miner and of ArcFace.
//!    MobileNetV2 also in f16, within 5e-2 of the CPU's f32.
//! 2. Embedding throughput of MobileNetV2 at 224 px in f32 and f16 (batches of `--batch`
//!    images already on the device: the model's speed, without decoding) and what the
//!    device's allocator held.
//!
//! Prints one Markdown table row per check and a last line `RESULT <json>`; exits 1 when a
//! parity check fails.

use std::time::Instant;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use oml_benches::Normal;
use oml_core::loss::{ArcFaceLossConfig, TripletLossConfig, TripletLossWithMiner};
use oml_core::miner::HardTripletsMiner;
use oml_models::extractor::{
    EfficientNetLiteConfig, Extractor, MobileNetV2Config, ResNetConfig, ViTConfig,
};
use oml_models::precision::{Precision, cast_module};
use oml_native::device::DeviceChoice;

struct Args {
    device: DeviceChoice,
    batch: usize,
    batches: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args { device: DeviceChoice::Auto, batch: 256, batches: 20 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--device" => {
                out.device = <DeviceChoice as clap::ValueEnum>::from_str(&value, true)
                    .map_err(|e| anyhow::anyhow!("--device: {e}"))?;
            }
            "--batch" => out.batch = value.parse()?,
            "--batches" => out.batches = value.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok(out)
}

fn random(shape: &[usize], seed: u64) -> Vec<f32> {
    let mut normal = Normal::new(seed);
    (0..shape.iter().product::<usize>()).map(|_| normal.sample()).collect()
}

fn values<const D: usize>(t: Tensor<D>) -> anyhow::Result<Vec<f32>> {
    t.try_into_vec_as::<f32>().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Largest |a − b| over the largest |b|.
fn relative(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// One row of the table; false when over the tolerance.
fn report(what: &str, worst: f32, tolerance: f32) -> bool {
    let ok = worst <= tolerance;
    println!("| {what} | {worst:.2e} | {tolerance:.0e} | {} |", if ok { "ok" } else { "FAIL" });
    ok
}

/// `model` on `input` on the CPU and on `gpu`, the same weights.
fn forward_parity<M: Module + Extractor + Clone>(
    what: &str,
    model: M,
    input: [usize; 4],
    gpu: &Device,
) -> anyhow::Result<bool> {
    forward_parity_in(what, model, input, gpu, Precision::F32, 1e-4)
}

/// `model` on `input` on the CPU (f32) and on `gpu` in `precision`, the same weights.
fn forward_parity_in<M: Module + Extractor + Clone>(
    what: &str,
    model: M,
    input: [usize; 4],
    gpu: &Device,
    precision: Precision,
    tolerance: f32,
) -> anyhow::Result<bool> {
    let x = random(&input, 7);
    let on_cpu = Tensor::from_data(TensorData::new(x.clone(), input), &Device::flex());
    let cpu = values(model.extract(on_cpu))?;
    let on_gpu = cast_module(model.to_device(gpu), precision);
    let x = precision.cast(Tensor::from_data(TensorData::new(x, input), gpu));
    let got = values(on_gpu.extract(x).cast(burn::tensor::FloatDType::F32))?;
    Ok(report(what, relative(&got, &cpu), tolerance))
}

fn models(gpu: &Device) -> anyhow::Result<bool> {
    let cpu = Device::flex();
    let mut ok = true;
    ok &= forward_parity("MobileNetV2", MobileNetV2Config::new().init(&cpu), [2, 3, 64, 64], gpu)?;
    // Half precision needs trained weights: a random MobileNetV2's features are ~1e-9, below
    // f16's smallest number.
    let weights = std::env::var_os("OML_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache/oml-rs"))
        })
        .map(|cache| cache.join("weights/mobilenet_v2_imagenet.pt"));
    match weights {
        Some(path) if path.is_file() && gpu.supports_dtype(Precision::F16.dtype()) => {
            let mut trained = MobileNetV2Config::new().init(&cpu);
            trained.load_weights(&path)?;
            let (name, input) = ("MobileNetV2 (ImageNet weights), f16", [2, 3, 64, 64]);
            ok &= forward_parity_in(name, trained, input, gpu, Precision::F16, 5e-2)?;
        }
        _ => println!("| MobileNetV2, f16 | no ImageNet weights or no f16 here | | skipped |"),
    }
    ok &= forward_parity(
        "EfficientNet-Lite0",
        EfficientNetLiteConfig::new().init(&cpu),
        [2, 3, 64, 64],
        gpu,
    )?;
    let basic = ResNetConfig::resnet18().with_base_width(8).init(&cpu);
    ok &= forward_parity("ResNet-18 (width 8)", basic, [2, 3, 64, 64], gpu)?;
    let bottleneck = ResNetConfig::resnet50().with_base_width(8).with_gem_p(Some(3.0)).init(&cpu);
    ok &= forward_parity("ResNet-50 (width 8, GeM)", bottleneck, [2, 3, 64, 64], gpu)?;
    let vit = ViTConfig::new(8, 48, 3).with_depth(2).with_img_size(32).init(&cpu);
    ok &= forward_parity("ViT (DINO layout, tiny)", vit, [2, 3, 32, 48], gpu)?;
    let dinov2 = ViTConfig::new(14, 48, 3)
        .with_depth(2)
        .with_img_size(70)
        .with_layer_scale(true)
        .with_num_register_tokens(4)
        .init(&cpu);
    ok &= forward_parity("DINOv2 (registers, tiny)", dinov2, [2, 3, 70, 56], gpu)?;
    Ok(ok)
}

/// The loss on `device` and its gradient with respect to the embeddings.
fn loss_and_grad(
    device: &Device,
    emb: &[f32],
    shape: [usize; 2],
    labels: &[u32],
    arcface_weight: Option<&[f32]>,
) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let device = device.clone().autodiff();
    let x = Tensor::<2>::from_data(TensorData::new(emb.to_vec(), shape), &device).require_grad();
    let loss = match arcface_weight {
        None => {
            let triplet = TripletLossConfig::new().with_margin(Some(0.2)).init()?;
            TripletLossWithMiner::new(triplet, HardTripletsMiner).forward(x.clone(), labels)?.loss
        }
        Some(w) => {
            let classes = w.len() / shape[1];
            let weight =
                Tensor::<2>::from_data(TensorData::new(w.to_vec(), [classes, shape[1]]), &device);
            let loss = ArcFaceLossConfig::new(shape[1], classes)
                .with_weight(Param::from_tensor(weight.require_grad()))?;
            loss.forward(x.clone(), labels)?.loss
        }
    };
    let grads = loss.backward();
    let grad = x.grad(&grads).ok_or_else(|| anyhow::anyhow!("no gradient"))?;
    Ok((values(loss)?, values(grad)?))
}

fn losses(gpu: &Device) -> anyhow::Result<bool> {
    let shape = [32, 64];
    let emb = random(&shape, 11);
    let labels: Vec<u32> = (0..32).map(|i| i / 2).collect();
    let weight = random(&[16, 64], 13);
    let mut ok = true;
    for (what, w) in [("triplet loss, hard miner", None), ("ArcFace", Some(weight.as_slice()))] {
        let (cpu_loss, cpu_grad) = loss_and_grad(&Device::flex(), &emb, shape, &labels, w)?;
        let (loss, grad) = loss_and_grad(gpu, &emb, shape, &labels, w)?;
        ok &= report(&format!("{what}: value"), relative(&loss, &cpu_loss), 1e-4);
        ok &= report(&format!("{what}: gradient"), relative(&grad, &cpu_grad), 1e-4);
    }
    Ok(ok)
}

/// MobileNetV2 at 224 px in `precision` on `batches` batches of `batch` images: images/s
/// after two warm-up batches, and the bytes the allocator held at the end.
fn throughput(
    gpu: &Device,
    precision: Precision,
    batch: usize,
    batches: usize,
) -> anyhow::Result<(f64, Option<u64>)> {
    let model = cast_module(MobileNetV2Config::new().init(gpu).fold_batch_norms(), precision);
    let shape = [batch, 3, 224, 224];
    let x = Tensor::<4>::from_data(TensorData::new(random(&shape, 5), shape), gpu);
    let x = precision.cast(x);
    for _ in 0..2 {
        values(model.extract(x.clone()))?;
    }
    let started = Instant::now();
    for _ in 0..batches {
        values(model.extract(x.clone()))?;
    }
    let per_second = (batch * batches) as f64 / started.elapsed().as_secs_f64();
    let held = gpu.memory_pool_usage().map(|u| u.bytes_reserved);
    Ok((per_second, held))
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let gpu = args.device.device()?;
    println!("| check | worst relative difference | tolerance | |\n|---|---|---|---|");
    let parity = models(&gpu)? & losses(&gpu)?;
    let mut speeds = serde_json::Map::new();
    for precision in [Precision::F32, Precision::F16] {
        if !gpu.supports_dtype(precision.dtype()) {
            continue;
        }
        let (per_second, held) = throughput(&gpu, precision, args.batch, args.batches)?;
        println!(
            "\nMobileNetV2 224 px, batch {}, f{precision}: {per_second:.0} images/s; allocator held {} MB",
            args.batch,
            held.map_or("?".to_owned(), |b| (b / 1_000_000).to_string())
        );
        speeds.insert(format!("f{precision}"), serde_json::json!(per_second));
    }
    println!(
        "RESULT {}",
        serde_json::json!({
            "device": args.device.to_string(),
            "parity_ok": parity,
            "embed_images_per_s": speeds,
            "embed_batch": args.batch,
        })
    );
    if !parity {
        std::process::exit(1);
    }
    Ok(())
}
