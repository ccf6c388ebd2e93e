//! Helpers the CLI tests share: run the `oml` binary, read its stderr, path to &str.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default()).join("..")
}

pub fn oml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oml")).args(args).output().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `oml embed --model MODEL --dataset CSV --out OUT --offline EXTRA...`.
pub fn embed(model: &str, csv: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args =
        vec!["embed", "--model", model, "--dataset", s(csv), "--out", s(out), "--offline"];
    args.extend_from_slice(extra);
    oml(&args)
}

/// `oml-train`'s arguments for the emoji recipe at a tiny budget: 32 px, 16 x 2 batches,
/// `epochs` epochs, seed 3, into `run_dir`.
pub fn tiny_train_args(run_dir: &Path, epochs: u64) -> Vec<String> {
    let config = repo().join("configs/emoji_mobilenet_v2.toml");
    let mut args = vec!["--config".to_owned(), config.display().to_string()];
    for set in [
        format!("run_dir={}", run_dir.display()),
        format!("max_epochs={epochs}"),
        "transforms_train.size=32".to_owned(),
        "transforms_val.size=32".to_owned(),
        "sampler.n_labels=16".to_owned(),
        "seed=3".to_owned(),
    ] {
        args.push("--set".to_owned());
        args.push(set);
    }
    args
}
