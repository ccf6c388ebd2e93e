//! `oml embed`: embeddings of a dataset's images (or a folder of images) by a zoo model.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use oml_core::dataset::read_dataset;
use oml_models::embedder::Embedder;
use oml_models::zoo;

use super::failure::{Failure, bad_input, other};
use crate::device::DeviceChoice;
use crate::embed::{ImageItem, embed_items, from_dataset, from_dir};
use crate::io::{write_atomically, write_embeddings};
use crate::zoo::{cache_dir, weights_for};

/// Embeds images with a pretrained model: every row of a dataset CSV, in row order, or every
/// image under a folder, sorted by path.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A zoo model: mobilenet_v2_imagenet, efficientnet_lite0_imagenet, resnet50_imagenet1k_v1,
    /// vits16_dino, vits14_dinov2, vits16_sop, ... (`oml embed --model help` lists them).
    #[arg(long, value_name = "NAME")]
    model: String,
    /// Weights to load instead of the zoo's download (a .pt/.pth or .safetensors checkpoint in
    /// the model's layout, possibly nested under `state_dict`/`model`).
    #[arg(long, value_name = "PATH")]
    weights: Option<PathBuf>,
    /// Dataset in OML's CSV format; its paths are relative to --dataset-root.
    #[arg(long, value_name = "CSV", conflicts_with = "images", required_unless_present = "images")]
    dataset: Option<PathBuf>,
    /// Where the dataset's relative paths start. Default: the CSV's folder.
    #[arg(long, value_name = "DIR", requires = "dataset")]
    dataset_root: Option<PathBuf>,
    /// A folder of images (searched recursively); the order is written to <OUT>.ids.txt.
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Output: .npy (float32 [N, D]) or .safetensors.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Never download: use the cache or --weights only.
    #[arg(long)]
    offline: bool,
}

pub(crate) fn run(args: &EmbedArgs) -> Result<(), Failure> {
    if args.model == "help" {
        for e in zoo::ZOO {
            println!("{:28} {:>5}-d  {}", e.name, e.arch.feat_dim(), e.license);
        }
        return Ok(());
    }
    let entry = zoo::find(&args.model).map_err(bad_input)?;
    let device = args.device.device().map_err(bad_input)?;
    let weights = match &args.weights {
        Some(path) => path.clone(),
        None => weights_for(entry, &cache_dir(), args.offline).map_err(other)?,
    };
    let mut model = entry.arch.init(&device);
    model.load_weights(&weights).map_err(bad_input)?;
    let embedder = Embedder {
        model: model.fold_batch_norms(),
        preprocess: entry.preprocess,
        normalise: entry.normalise_features,
        device,
    };

    let items = inputs(args)?;
    if items.is_empty() {
        return Err(bad_input(anyhow!("no images to embed")));
    }
    let show_progress = std::io::stderr().is_terminal();
    let data = embed_items(&embedder, &items, args.batch_size as usize, show_progress)
        .map_err(bad_input)?;
    let dim = embedder.feat_dim();
    write_embeddings(&args.out, &data, items.len(), dim).map_err(bad_input)?;
    if args.images.is_some() {
        let ids = ids_path(&args.out);
        let list: String = items.iter().map(|i| format!("{}\n", i.path.display())).collect();
        write_atomically(&ids, list.as_bytes())
            .with_context(|| format!("{}: cannot write", ids.display()))
            .map_err(other)?;
    }
    eprintln!(
        "oml embed: {} images -> {} ({} x {dim}, {})",
        items.len(),
        args.out.display(),
        items.len(),
        entry.name
    );
    Ok(())
}

fn inputs(args: &EmbedArgs) -> Result<Vec<ImageItem>, Failure> {
    if let Some(dir) = &args.images {
        return from_dir(dir)
            .with_context(|| format!("{}: cannot list images", dir.display()))
            .map_err(bad_input);
    }
    let csv = args.dataset.as_ref().ok_or_else(|| bad_input(anyhow!("--dataset or --images")))?;
    let file = File::open(csv)
        .with_context(|| format!("{}: cannot open", csv.display()))
        .map_err(bad_input)?;
    let dataset =
        read_dataset(BufReader::new(file), &csv.display().to_string()).map_err(bad_input)?;
    let root = match &args.dataset_root {
        Some(root) => root.clone(),
        None => csv.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    Ok(from_dataset(&dataset, &root))
}

/// `E.npy` → `E.ids.txt`.
fn ids_path(out: &Path) -> PathBuf {
    out.with_extension("ids.txt")
}
