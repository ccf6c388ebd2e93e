//! `oml embed`: embeddings of a dataset's images (or a folder of images) by a zoo model or a
//! model file, written as .npy, .safetensors, .jsonl or .parquet.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, anyhow};
use clap::Args;
use oml_models::embedder::Embedder;
use oml_models::extractor::{AnyExtractor, Extractor};
use oml_models::precision::Precision;
use oml_models::zoo;

use crate::device::DeviceChoice;
use crate::embed::{ImageItem, embed_items, from_dataset, from_dir};
use crate::failure::{Failure, bad_input, embed_failure, other, pretrained_failure};
use crate::io::{EmbeddingTable, TableFormat, write_table};
use crate::saved::{is_model_file, load_model_file};
use crate::zoo::pretrained;

/// Embeds images with a pretrained model or a model file: every row of a dataset CSV, in row
/// order, or every image under a folder, sorted by path.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A zoo model (mobilenet_v2_imagenet, efficientnet_lite0_imagenet, resnet50_imagenet1k_v1,
    /// vits16_dino, vits14_dinov2, vits16_sop, ...; `--model help` lists them), or a model
    /// file from `oml export` (.safetensors).
    #[arg(long, value_name = "NAME|FILE")]
    model: String,
    /// With a zoo model: weights to load instead of the zoo's download (a .pt/.pth or
    /// .safetensors checkpoint in the model's layout, possibly nested under
    /// `state_dict`/`model`).
    #[arg(long, value_name = "PATH")]
    weights: Option<std::path::PathBuf>,
    /// Dataset in OML's CSV format; its paths are relative to --dataset-root.
    #[arg(long, value_name = "CSV", conflicts_with = "images", required_unless_present = "images")]
    dataset: Option<std::path::PathBuf>,
    /// Where the dataset's relative paths start. Default: the CSV's folder.
    #[arg(long, value_name = "DIR", requires = "dataset")]
    dataset_root: Option<std::path::PathBuf>,
    /// A folder of images (searched recursively).
    #[arg(long, value_name = "DIR")]
    images: Option<std::path::PathBuf>,
    /// Output, by extension: .npy (float32 [N, D]) or .safetensors (tensor "embeddings"),
    /// each with <OUT>.ids.txt; .jsonl ({"id", "label", "category", "embedding"} per line) or
    /// .parquet (columns id, label, category, embedding) for vector databases. Ids are the
    /// CSV's paths, or the image paths of --images.
    #[arg(long, value_name = "OUT")]
    out: std::path::PathBuf,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// The float type the model computes in on a GPU: 32, 16 (f16) or bf16. Embeddings are
    /// written as float32 either way.
    #[arg(long, default_value = "32", value_name = "32|16|bf16")]
    precision: Precision,
    /// Never download: use the cache or --weights only.
    #[arg(long)]
    offline: bool,
}

/// The rows to embed, their ids and what the dataset says about them.
struct Inputs {
    items: Vec<ImageItem>,
    ids: Vec<String>,
    labels: Option<Vec<i64>>,
    categories: Option<Vec<Option<String>>>,
}

pub(crate) fn run(args: &EmbedArgs) -> Result<(), Failure> {
    if args.model == "help" {
        for e in zoo::ZOO {
            println!("{:28} {:>5}-d  {}", e.name, e.arch.feat_dim(), e.license);
        }
        return Ok(());
    }
    TableFormat::of(&args.out).map_err(bad_input)?;
    let device = args.device.device().map_err(bad_input)?;
    crate::device::check_precision(&device, args.precision).map_err(bad_input)?;
    let model_path = Path::new(&args.model);
    if is_model_file(model_path) {
        if args.weights.is_some() {
            return Err(bad_input(anyhow!("--weights goes with a zoo model, not a model file")));
        }
        let embedder = load_model_file(model_path, &device).map_err(bad_input)?;
        return embed_and_write(args, &embedder.with_precision(args.precision), &args.model);
    }
    let (embedder, name) =
        zoo_embedder(&args.model, args.weights.as_deref(), args.offline, device)?;
    embed_and_write(args, &embedder.with_precision(args.precision), name)
}

/// A zoo model with its pretrained weights (or `weights`), folded for inference, with the
/// zoo's preprocessing; and its zoo name.
pub(super) fn zoo_embedder(
    name: &str,
    weights: Option<&Path>,
    offline: bool,
    device: burn::tensor::Device,
) -> Result<(Embedder<AnyExtractor>, &'static str), Failure> {
    let entry = zoo::find(name).map_err(bad_input)?;
    let model = pretrained(entry, weights, offline, &device).map_err(pretrained_failure)?;
    let embedder = Embedder {
        model: model.fold_batch_norms(),
        preprocess: entry.preprocess,
        normalise: entry.normalise_features,
        device,
        precision: Default::default(),
    };
    Ok((embedder, entry.name))
}

fn embed_and_write<E: Extractor>(
    args: &EmbedArgs,
    embedder: &Embedder<E>,
    model_name: &str,
) -> Result<(), Failure> {
    let inputs = inputs(args)?;
    if inputs.items.is_empty() {
        return Err(bad_input(anyhow!("no images to embed")));
    }
    let show_progress = std::io::stderr().is_terminal();
    let data = embed_items(embedder, &inputs.items, args.batch_size as usize, show_progress)
        .map_err(embed_failure)?;
    let dim = embedder.feat_dim();
    let table = EmbeddingTable {
        ids: &inputs.ids,
        labels: inputs.labels.as_deref(),
        categories: inputs.categories.as_deref(),
        data: &data,
        dim,
    };
    let written = write_table(&args.out, &table).map_err(other)?;
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    eprintln!(
        "oml embed: {} images -> {} ({} x {dim}, {model_name})",
        inputs.items.len(),
        names.join(" + "),
        inputs.items.len(),
    );
    Ok(())
}

fn inputs(args: &EmbedArgs) -> Result<Inputs, Failure> {
    if let Some(dir) = &args.images {
        let listing = from_dir(dir)
            .with_context(|| format!("{}: cannot list images", dir.display()))
            .map_err(bad_input)?;
        listing.warn_skipped();
        let items = listing.items;
        let ids = items.iter().map(|i| i.path.display().to_string()).collect();
        return Ok(Inputs { items, ids, labels: None, categories: None });
    }
    let csv = args.dataset.as_ref().ok_or_else(|| bad_input(anyhow!("--dataset or --images")))?;
    let dataset = crate::io::read_dataset_file(csv).map_err(bad_input)?;
    let root = match &args.dataset_root {
        Some(root) => root.clone(),
        None => csv.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let records = dataset.records();
    let has_categories = records.iter().any(|r| r.category.is_some());
    Ok(Inputs {
        items: from_dataset(&dataset, &root),
        ids: records.iter().map(|r| r.path.clone()).collect(),
        labels: Some(records.iter().map(|r| r.label).collect()),
        categories: has_categories.then(|| records.iter().map(|r| r.category.clone()).collect()),
    })
}
