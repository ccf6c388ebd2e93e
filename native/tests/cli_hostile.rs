//! Crafted hostile inputs against the `oml` and `oml-train` binaries, each under a 1 GiB
//! data-segment limit (`prlimit --data`, so an attempt to allocate more aborts the tool and
//! fails the test) and a time limit: a clear error (exit code 2, naming the file and what is
//! wrong) or a correct result, never a panic, an abort, a hang or gigabytes of memory.
#![allow(clippy::unwrap_used)]

mod common;

#[path = "../../tests/support/crc32.rs"]
mod crc32;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{repo, s};

/// The memory a crafted input may cost.
const MEMORY_CAP: u64 = 1 << 30;
/// The time it may take (debug test build, two cores).
const TIME_CAP: Duration = Duration::from_secs(60);

/// Runs `bin` with `args` under the memory cap, killing it at the time cap.
fn capped(bin: &str, args: &[&str]) -> Output {
    let mut child = Command::new("prlimit")
        .arg(format!("--data={MEMORY_CAP}"))
        .arg("--")
        .arg(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > TIME_CAP {
            child.kill().unwrap();
            panic!("{bin} {args:?} still running after {TIME_CAP:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn oml(args: &[&str]) -> Output {
    capped(env!("CARGO_BIN_EXE_oml"), args)
}

fn oml_train(args: &[&str]) -> Output {
    capped(env!("CARGO_BIN_EXE_oml-train"), args)
}

/// Exit code 2 and a message holding every needle.
fn refused(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "no `{needle}` in: {err}");
    }
}

/// A dataset CSV of the example embeddings (data/example).
fn example_csv() -> String {
    repo().join("data/example/dataset.csv").display().to_string()
}

fn npy_header(dict: &str) -> Vec<u8> {
    let mut header = dict.as_bytes().to_vec();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    bytes.extend(header);
    bytes
}

#[test]
fn crafted_npy_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = example_csv();
    let metrics = |path: &Path| oml(&["metrics", "--embeddings", s(path), "--dataset", &csv]);
    // 14 bytes declaring a 4 GiB header (format version 2: a 32-bit length).
    let big_header = dir.path().join("big_header.npy");
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(b"{'");
    std::fs::write(&big_header, bytes).unwrap();
    refused(&metrics(&big_header), &["big_header.npy", "header claims 4294967295 bytes"]);
    // A shape whose product overflows.
    let overflow = dir.path().join("overflow.npy");
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }";
    std::fs::write(&overflow, npy_header(dict)).unwrap();
    refused(&metrics(&overflow), &["overflow.npy", "too large"]);
    // A shape the data does not fill.
    let short = dir.path().join("short.npy");
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000), }";
    let mut bytes = npy_header(dict);
    bytes.extend_from_slice(&[0; 64]);
    std::fs::write(&short, bytes).unwrap();
    refused(&metrics(&short), &["short.npy", "64 bytes of data"]);
    // Dimension 0.
    let flat = dir.path().join("flat.npy");
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (11, 0), }";
    std::fs::write(&flat, npy_header(dict)).unwrap();
    refused(&metrics(&flat), &["flat.npy", "dimension 0"]);
}

#[test]
fn devices_fifos_and_folders_are_refused_as_datasets_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let emb = repo().join("data/example/embeddings.npy");
    let fifo = dir.path().join("pipe.csv");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for (csv, what) in
        [("/dev/zero", "a device"), (s(&fifo), "FIFO"), (s(dir.path()), "a directory")]
    {
        let out = oml(&["metrics", "--embeddings", s(&emb), "--dataset", csv]);
        refused(&out, &[csv, what]);
    }
    // An embeddings path that is a device.
    let out = oml(&["metrics", "--embeddings", "/dev/zero.npy", "--dataset", &example_csv()]);
    refused(&out, &["/dev/zero.npy"]);
    // The training config itself.
    refused(&oml_train(&["--config", "/dev/zero"]), &["/dev/zero", "a device"]);
}

/// A 470-byte PNG of 1 x 100000 pixels used to cost 19.7 GB; a header claiming 100000 x
/// 100000 pixels is refused before decoding; a folder with symlink loops is listed once.
#[test]
fn extreme_images_and_symlink_loops_embed_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    let tall = image::RgbImage::from_pixel(1, 100_000, image::Rgb([200, 30, 30]));
    tall.save(images.join("tall.png")).unwrap();
    let wide = image::RgbImage::from_pixel(100_000, 1, image::Rgb([30, 30, 200]));
    wide.save(images.join("sub/wide.png")).unwrap();
    std::os::unix::fs::symlink(&images, images.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(images.join("sub"), images.join("sub/loop2")).unwrap();
    let out_path = dir.path().join("e.npy");
    let args = ["embed", "--model", "mobilenet_v2_imagenet", "--offline", "--device", "cpu"];
    let out = oml(&[&args[..], &["--images", s(&images), "--out", s(&out_path)]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("skipped") && err.contains("loop"), "{err}");
    let ids = std::fs::read_to_string(dir.path().join("e.ids.txt")).unwrap();
    assert_eq!(ids.lines().count(), 2, "each image once: {ids}");

    // A PNG whose header claims 100000 x 100000 pixels (the CRC made right).
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(4, 4).write_to(&mut png, image::ImageFormat::Png).unwrap();
    let mut png = png.into_inner();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32::crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let huge = dir.path().join("huge");
    std::fs::create_dir_all(&huge).unwrap();
    std::fs::write(huge.join("bomb.png"), &png).unwrap();
    let out = oml(&[&args[..], &["--images", s(&huge), "--out", s(&out_path)]].concat());
    refused(&out, &["bomb.png", "100000x100000", "OML_MAX_IMAGE_PIXELS"]);
}

/// A 850-byte `.pt` whose tensor is a (100000, 10000) view with strides (0, 0) over one
/// float (tests/fixtures/hostile/make_stride0_pt.py) used to allocate 4 GB.
#[test]
fn a_pickled_view_larger_than_its_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let weights = repo().join("tests/fixtures/hostile/stride0.pt");
    let out = oml(&[
        "embed",
        "--model",
        "mobilenet_v2_imagenet",
        "--weights",
        s(&weights),
        "--images",
        s(&repo().join("tests/fixtures/images/tiny")),
        "--out",
        s(&dir.path().join("e.npy")),
        "--device",
        "cpu",
    ]);
    refused(&out, &["stride0.pt", "of shape [100000, 10000]", "850-byte file"]);
}

/// A training config's bad values are all reported at once, before any data is read (the
/// dataset here does not exist) or a model is built.
#[test]
fn bad_config_values_are_all_reported_before_anything_loads() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    let mut f = std::fs::File::create(&config).unwrap();
    writeln!(
        f,
        r#"dataset_root = "does-not-exist"
max_epochs = 2
metric_for_checkpointing = "OVERALL/cmc/7"
[extractor]
model = "mobilenet_v2_imagenet"
head = [0, 1000000000]
[transforms_train]
size = 32
random_resized_crop = {{ scale = [nan, 1.0], ratio = [0.0, 0.0] }}
[transforms_val]
size = 32
[sampler]
name = "balance"
n_labels = 8
n_instances = 100000000
[criterion]
margin = 0.2
miner = {{ name = "hard_triplets" }}
[optimizer]
name = "adam"
lr = 1e-3
[metric_args]
cmc_top_k = [0, 1]
fmr_vals = [2.0]"#
    )
    .unwrap();
    let out = oml_train(&["--config", s(&config)]);
    refused(
        &out,
        &[
            "c.toml",
            "problems",
            "extractor.head widths must be 1 to 65536, got 0",
            "random_resized_crop.scale",
            "random_resized_crop.ratio",
            "a batch of 1 x 8 x 100000000 images is over the limit",
            "metric_args: cmc: k must be at least 1",
            "metric_for_checkpointing = \"OVERALL/cmc/7\"",
        ],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("does-not-exist"));
    // fmr alone, once k is fixed: reported as well.
    let out = oml_train(&["--config", s(&config), "--set", "metric_args.cmc_top_k=[1]"]);
    refused(&out, &["fmr must be in [0, 1], got 2"]);
}

/// A run folder whose checkpoint state is corrupt or claims more epochs than the run has.
#[test]
fn a_corrupt_or_impossible_checkpoint_is_named_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("last")).unwrap();
    let config = std::fs::read_to_string(repo().join("configs/emoji_mobilenet_v2.toml")).unwrap();
    let config = config.replace(
        "dataset_root = \"../data/emoji_small\"",
        &format!("dataset_root = \"{}\"", repo().join("data/emoji_small").display()),
    );
    std::fs::write(run.join("config.toml"), config).unwrap();
    std::fs::write(run.join("base_dir.txt"), s(dir.path())).unwrap();
    // Stale folders of a killed save are removed once a complete checkpoint is found.
    std::fs::create_dir_all(run.join(".last.tmp-123")).unwrap();

    std::fs::write(
        run.join("last/state.json"),
        b"{\"epochs_done\": 99, \"best\": null, \"steps\": 5}",
    )
    .unwrap();
    let out = oml_train(&["--resume", s(&run)]);
    refused(&out, &["state.json", "99 epochs are done", "max_epochs = 8"]);
    assert!(!run.join(".last.tmp-123").exists(), "stale temp folder left behind");

    std::fs::write(run.join("last/state.json"), b"{\"epochs_done\": ").unwrap();
    let out = oml_train(&["--resume", s(&run)]);
    refused(&out, &["state.json", "corrupt training state"]);
}
