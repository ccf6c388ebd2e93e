//! `oml embed` end to end: the real binary on committed images with the real MobileNetV2
//! weights (scripts/fetch-weights.sh), against the library call, plus bad input.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use common::{embed, oml, s, stderr};
use oml_core::dataset::read_dataset;
use oml_models::embedder::Embedder;
use oml_models::zoo;
use oml_native::embed::{from_dataset, load_pixels};
use oml_native::io::read_embeddings;
use oml_native::zoo::{cache_dir, weights_for};
use std::process::Command;

fn tiny() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("../tests/fixtures/images/tiny")
}

/// The library path: zoo entry, weights, preprocessing, one image at a time.
fn library_embeddings(csv: &Path) -> Vec<f32> {
    let entry = zoo::find("mobilenet_v2_imagenet").unwrap();
    let device = Device::flex();
    let mut model = entry.arch.init(&device);
    model.load_weights(&weights_for(entry, &cache_dir(), true).unwrap()).unwrap();
    let embedder = Embedder {
        model,
        preprocess: entry.preprocess,
        normalise: false,
        device,
        precision: Default::default(),
    };
    let dataset =
        read_dataset(std::fs::File::open(csv).unwrap(), &csv.display().to_string()).unwrap();
    from_dataset(&dataset, csv.parent().unwrap())
        .iter()
        .flat_map(|item| {
            embedder.embed(load_pixels(item, &embedder.preprocess).unwrap(), 1).unwrap()
        })
        .collect()
}

#[test]
fn a_dataset_is_embedded_in_row_order_as_the_library_does() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.npy");
    let csv = tiny().join("dataset.csv");
    let run = embed("mobilenet_v2_imagenet", &csv, &out, &["--batch-size", "3"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let got = read_embeddings(&out).unwrap();
    assert_eq!((got.rows, got.dim), (4, 1280));
    let want = library_embeddings(&csv);
    let worst = got.data.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    // Batches of 3 vs single images: the GEMM blocking differs, the values barely.
    assert!(worst < 1e-4, "CLI and library differ by {worst}");
    // Row 4 is a crop of row 1's image: a different embedding.
    assert!(got.data[..1280].iter().zip(&got.data[3 * 1280..]).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn a_folder_is_embedded_in_path_order_with_an_ids_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.safetensors");
    let run = oml(&[
        "embed",
        "--model",
        "mobilenet_v2_imagenet",
        "--images",
        s(&tiny()),
        "--out",
        s(&out),
        "--offline",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(read_embeddings(&out).unwrap().rows, 3);
    let ids = std::fs::read_to_string(dir.path().join("e.ids.txt")).unwrap();
    let names: Vec<&str> = ids.lines().map(|l| l.rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["chelsea.png", "chelsea_face.png", "coffee.png"]);
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.npy");
    // A corrupt image: its CSV line and path.
    std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
    std::fs::copy(tiny().join("coffee.png"), dir.path().join("coffee.png")).unwrap();
    let csv = dir.path().join("d.csv");
    std::fs::write(
        &csv,
        "label,path,split,is_query,is_gallery\n0,coffee.png,validation,True,True\n\
         1,broken.png,validation,True,True\n",
    )
    .unwrap();
    let run = embed("mobilenet_v2_imagenet", &csv, &out, &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("line 3") && stderr(&run).contains("broken.png"),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists(), "no output after a failure");

    let run = oml(&["embed", "--model", "resnet", "--images", s(&tiny()), "--out", s(&out)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("resnet50_imagenet1k_v1"), "{}", stderr(&run));

    // Offline without the file: which file, from where, to where.
    let run = Command::new(env!("CARGO_BIN_EXE_oml"))
        .env("OML_CACHE", dir.path())
        .args(["embed", "--model", "vits16_dino", "--images", s(&tiny()), "--out", s(&out)])
        .arg("--offline")
        .output()
        .unwrap();
    assert!(!run.status.success());
    let msg = stderr(&run);
    assert!(
        msg.contains("dino_deitsmall16_pretrain.pth") && msg.contains("vits16_dino.ckpt"),
        "{msg}"
    );
}
