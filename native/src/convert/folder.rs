//! An image folder with one sub-folder per label (`root/<label>/*.png`) to the dataset CSV
//! format, with a class-disjoint split: a seeded share of the labels is held out for
//! validation, where every image is both a query and a gallery item (OML's convention for
//! single-domain retrieval; a query never retrieves itself).

use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::embed::from_dir;

/// What to convert.
#[derive(Debug, Clone)]
pub struct FolderOptions {
    pub root: PathBuf,
    /// The CSV to write; its paths are relative to its folder when the images are below it.
    pub out: PathBuf,
    pub val_fraction: f64,
    pub seed: u64,
}

/// Writes the CSV; returns (labels, images).
pub fn convert_folder(opts: &FolderOptions) -> anyhow::Result<(usize, usize)> {
    if !(0.0..1.0).contains(&opts.val_fraction) {
        anyhow::bail!("--val-fraction must be in [0, 1), got {}", opts.val_fraction);
    }
    let mut labels: Vec<(String, Vec<PathBuf>)> = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&opts.root)
        .with_context(|| format!("cannot list {}", opts.root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for dir in entries {
        let listing = from_dir(&dir)?;
        listing.warn_skipped();
        let images: Vec<PathBuf> = listing.items.into_iter().map(|i| i.path).collect();
        if images.is_empty() {
            continue;
        }
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        labels.push((name, images));
    }
    if labels.len() < 2 {
        anyhow::bail!(
            "{}: found {} sub-folders with images; expected one sub-folder per label",
            opts.root.display(),
            labels.len()
        );
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(opts.seed));
    let n_val = ((labels.len() as f64) * opts.val_fraction).round() as usize;
    let mut is_val = vec![false; labels.len()];
    for &i in &order[..n_val] {
        is_val[i] = true;
    }
    let base = opts.out.parent().map(Path::to_path_buf).unwrap_or_default();
    let base = std::path::absolute(&base).unwrap_or(base);
    let mut csv = String::from("label,path,split,is_query,is_gallery,category\n");
    let mut n_images = 0;
    for (label, (name, images)) in labels.iter().enumerate() {
        for image in images {
            let absolute = std::path::absolute(image).unwrap_or_else(|_| image.clone());
            let path = absolute.strip_prefix(&base).map_or(absolute.clone(), Path::to_path_buf);
            let path = path.display().to_string();
            if path.contains(',') || path.contains('"') {
                anyhow::bail!("{path}: commas and quotes in file names are not supported");
            }
            let (split, q, g) =
                if is_val[label] { ("validation", "True", "True") } else { ("train", "", "") };
            csv.push_str(&format!("{label},{path},{split},{q},{g},{name}\n"));
            n_images += 1;
        }
    }
    crate::io::write_atomically(&opts.out, csv.as_bytes())
        .with_context(|| format!("cannot write {}", opts.out.display()))?;
    Ok((labels.len(), n_images))
}
