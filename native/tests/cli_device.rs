//! `--device` end to end: `oml embed` on a wgpu adapter (a GPU, or lavapipe in CI) against the
//! CPU, at a batch size over the adapter's buffer limit, and in f16 / bf16; what `auto` picks
//! and says; and the errors for a backend that is not built or not there, or half precision on
//! the CPU.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../tests/support/test_devices.rs"]
mod test_devices;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{repo, s, stderr};
use oml_native::io::read_embeddings;

/// The first `n` rows of the committed emoji subset, as a dataset CSV in `dir`.
fn emoji_rows(dir: &Path, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("data/emoji_small/dataset.csv")).unwrap();
    let rows: Vec<&str> = text.lines().take(n + 1).collect();
    let csv = dir.join("dataset.csv");
    std::fs::write(&csv, rows.join("\n") + "\n").unwrap();
    csv
}

fn embed(csv: &Path, out: &Path, device: &str) -> Output {
    embed_in(csv, out, device, "32")
}

fn embed_in(csv: &Path, out: &Path, device: &str, precision: &str) -> Output {
    let root = repo().join("data/emoji_small");
    let extra = ["--dataset-root", s(&root), "--device", device, "--precision", precision];
    common::embed("mobilenet_v2_imagenet", csv, out, &extra)
}

/// 32 emoji at 224 px in one default batch of 32: MobileNetV2's widest activation is then
/// 32 × 96 × 112 × 112 floats = 154 MB, over lavapipe's 128 MiB buffer limit, so the batch
/// has to be split to the adapter. The embeddings equal the CPU's within 1e-4.
#[test]
fn embed_on_wgpu_equals_the_cpu_and_fits_batches_to_the_adapter() {
    if test_devices::test_gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = emoji_rows(dir.path(), 32);
    let (cpu, gpu) = (dir.path().join("cpu.npy"), dir.path().join("gpu.npy"));
    let run = embed(&csv, &cpu, "cpu");
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("device: cpu (burn flex"), "{}", stderr(&run));
    let run = embed(&csv, &gpu, "wgpu");
    assert!(run.status.success(), "{}", stderr(&run));
    let said = stderr(&run);
    assert_eq!(said.matches("device: wgpu:0 ").count(), 1, "said once: {said}");
    let (cpu, gpu) = (read_embeddings(&cpu).unwrap(), read_embeddings(&gpu).unwrap());
    assert_eq!((gpu.rows, gpu.dim), (32, 1280));
    let worst = cpu.data.iter().zip(&gpu.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst < 1e-4, "wgpu and cpu embeddings differ by {worst}");

    // Half precision: each embedding within a relative L2 distance of 5e-2 (f16) of the
    // CPU's (see crates/oml-models/tests/half_precision.rs); bf16 where the adapter has it.
    for precision in ["16", "bf16"] {
        let half = dir.path().join(format!("{precision}.npy"));
        let run = embed_in(&csv, &half, "wgpu", precision);
        if precision == "bf16" && run.status.code() == Some(2) {
            assert!(stderr(&run).contains("does not compute in it"), "{}", stderr(&run));
            continue;
        }
        assert!(run.status.success(), "{}", stderr(&run));
        let half = read_embeddings(&half).unwrap();
        for (row, (h, c)) in half.data.chunks(1280).zip(cpu.data.chunks(1280)).enumerate() {
            let norm = |v: &mut dyn Iterator<Item = f32>| v.map(|a| a * a).sum::<f32>().sqrt();
            let error =
                norm(&mut h.iter().zip(c).map(|(a, b)| a - b)) / norm(&mut c.iter().copied());
            assert!(error <= 0.1, "{precision}, row {row}: relative error {error}");
        }
    }
}

/// `auto` never takes a software adapter: on a machine whose only adapter is lavapipe it is
/// the CPU, and it says so.
#[test]
fn auto_says_what_it_picked_and_passes_over_a_software_adapter() {
    let dir = tempfile::tempdir().unwrap();
    let csv = emoji_rows(dir.path(), 2);
    let probe = embed(&csv, &dir.path().join("w.npy"), "wgpu");
    let software = stderr(&probe).contains(", software)");
    let run = embed(&csv, &dir.path().join("a.npy"), "auto");
    assert!(run.status.success(), "{}", stderr(&run));
    let said = stderr(&run);
    assert_eq!(said.matches("device: ").count(), 1, "{said}");
    if software || !probe.status.success() {
        assert!(said.contains("device: cpu (burn flex"), "{said}");
    }
}

/// `--device cuda` without a CUDA GPU (or without the CUDA backend built in) is exit code 2
/// with what to do, never a panic or a quiet fallback to the CPU.
#[test]
fn a_gpu_that_is_not_there_or_not_built_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let csv = emoji_rows(dir.path(), 2);
    let out = dir.path().join("e.npy");
    let run = embed(&csv, &out, "cuda");
    let msg = stderr(&run);
    let has_cuda = Path::new("/proc/driver/nvidia/version").exists();
    if cfg!(feature = "cuda") && has_cuda {
        return;
    }
    assert_eq!(run.status.code(), Some(2), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
    if cfg!(feature = "cuda") {
        assert!(msg.contains("no CUDA GPU found"), "{msg}");
    } else {
        assert!(msg.contains("no CUDA backend") && msg.contains("--features cuda"), "{msg}");
    }
    assert!(!out.exists());

    let run = embed_in(&csv, &out, "cpu", "16");
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("precision 16 needs a GPU device"), "{}", stderr(&run));
}
