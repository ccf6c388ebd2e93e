//! `oml search`: the nearest gallery images of query images, by a trained model.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use oml_core::retrieval::{Distance, Embeddings, QueryGallery, retrieve};

use crate::device::DeviceChoice;
use crate::embed::{ImageItem, embed_items, from_dataset};
use crate::failure::{Failure, bad_input, other};
use crate::saved::load_trained;

/// Searches a gallery (the rows of a dataset CSV marked is_gallery, or all its rows when none
/// is) with query images, printing the top k of each: rank, distance, label, path.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// A checkpoint folder of an oml-train run (RUN/best, RUN/last), the run folder, or a
    /// model file from `oml export` (.safetensors).
    #[arg(long, value_name = "CK")]
    checkpoint: PathBuf,
    /// The gallery: a dataset CSV.
    #[arg(long, value_name = "CSV")]
    gallery: PathBuf,
    #[arg(long, value_name = "DIR")]
    dataset_root: Option<PathBuf>,
    /// Query images.
    #[arg(long, value_name = "IMG", num_args = 1.., required = true)]
    query: Vec<PathBuf>,
    #[arg(long, default_value_t = 10)]
    k: usize,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
}

pub(crate) fn run(args: &SearchArgs) -> Result<(), Failure> {
    if args.k == 0 {
        return Err(bad_input(anyhow!("--k must be at least 1")));
    }
    let device = args.device.device().map_err(bad_input)?;
    let embedder = load_trained(&args.checkpoint, &device).map_err(bad_input)?;
    let dataset = crate::io::read_dataset_file(&args.gallery).map_err(bad_input)?;
    let root = args.dataset_root.clone().unwrap_or_else(|| {
        args.gallery.parent().map(std::path::Path::to_path_buf).unwrap_or_default()
    });
    let all = from_dataset(&dataset, &root);
    let records = dataset.records();
    let mut rows: Vec<usize> = (0..records.len()).filter(|&r| records[r].is_gallery).collect();
    if rows.is_empty() {
        rows = (0..records.len()).collect();
    }
    let mut items: Vec<ImageItem> = args
        .query
        .iter()
        .map(|p| ImageItem { path: p.clone(), bbox: None, origin: p.display().to_string() })
        .collect();
    let n_queries = items.len();
    items.extend(rows.iter().map(|&r| all[r].clone()));
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let data = embed_items(&embedder, &items, 32, show).map_err(bad_input)?;
    let emb = Embeddings::new(&data, items.len(), embedder.feat_dim()).map_err(other)?;
    // Queries only query; every gallery row is its own label so nothing is hidden.
    let qg = QueryGallery::search_only(n_queries, items.len() - n_queries).map_err(other)?;
    let results = retrieve(&emb, &qg, args.k, Distance::Euclidean).map_err(other)?;
    for (q, query) in args.query.iter().enumerate() {
        println!("{}", query.display());
        let r = results.query(q);
        for (rank, (&g, &d)) in r.retrieved.iter().zip(r.distances).enumerate() {
            let record = &records[rows[g as usize]];
            println!("  {:>3}  {d:.4}  label {:<8} {}", rank + 1, record.label, record.path);
        }
    }
    Ok(())
}
