//! `oml export`: one model file (safetensors weights + a JSON spec in the header) that the
//! native tools, the browser app and the wasm package all load.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use oml_models::extractor::ExtractorWithMlp;
use oml_models::model_file::{self, ModelSpec, SourceSpec};
use oml_models::zoo;

use crate::failure::{Failure, bad_input, other, pretrained_failure};
use crate::io::write_atomically;
use crate::saved::{load_checkpoint, producer};
use crate::zoo::pretrained;

/// Writes a trained checkpoint, or a zoo model, as a model file.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["checkpoint", "model"])))]
pub struct ExportArgs {
    /// A checkpoint folder of an oml-train run (RUN/best, RUN/last) or the run folder.
    #[arg(long, value_name = "CK")]
    checkpoint: Option<PathBuf>,
    /// A zoo model instead (`oml embed --model help` lists them), with its pretrained weights.
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// With --model: weights to use instead of the zoo's download.
    #[arg(long, value_name = "PATH", requires = "model")]
    weights: Option<PathBuf>,
    /// With --model: never download (use the cache or --weights).
    #[arg(long, requires = "model")]
    offline: bool,
    /// The model file to write (.safetensors).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub(crate) fn run(args: &ExportArgs) -> Result<(), Failure> {
    if !args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("safetensors")) {
        return Err(bad_input(anyhow!(
            "{}: a model file is a .safetensors file; name it so",
            args.out.display()
        )));
    }
    let device = burn::tensor::Device::flex();
    let (model, spec) = if let Some(ck) = &args.checkpoint {
        let t = load_checkpoint(ck, &device).map_err(bad_input)?;
        let spec = ModelSpec::describe(&t.model, t.arch, &t.preprocess, t.normalise, t.source);
        (t.model, spec)
    } else {
        let name = args.model.as_deref().unwrap_or_default();
        let entry = zoo::find(name).map_err(bad_input)?;
        let backbone = pretrained(entry, args.weights.as_deref(), args.offline, &device)
            .map_err(pretrained_failure)?;
        let model = ExtractorWithMlp::new(backbone, &[], &device);
        let source = SourceSpec {
            zoo_model: Some(entry.name.to_owned()),
            training_config_sha256: None,
            producer: producer(),
        };
        let spec = ModelSpec::describe(
            &model,
            entry.arch,
            &entry.preprocess,
            entry.normalise_features,
            source,
        );
        (model, spec)
    };
    let bytes = model_file::to_bytes(&model, &spec).map_err(other)?;
    write_atomically(&args.out, &bytes)
        .with_context(|| format!("{}: cannot write", args.out.display()))
        .map_err(other)?;
    let arch = if spec.members > 1 {
        format!("ensemble of {} {}", spec.members, spec.arch)
    } else {
        spec.arch.clone()
    };
    eprintln!(
        "oml export: {} ({arch}, {}-d, {} MB) -> {}",
        spec.source.zoo_model.as_deref().unwrap_or(&spec.arch),
        spec.feat_dim,
        bytes.len() / 1_000_000,
        args.out.display()
    );
    Ok(())
}
