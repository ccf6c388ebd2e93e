//! `oml convert`: other data layouts to the dataset CSV format.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::convert::{
    EmojiOptions, FashionMnistOptions, FolderOptions, convert_emoji, convert_fashion_mnist,
    convert_folder,
};
use crate::failure::{Failure, bad_input};

/// Converts data to the dataset CSV format (with a class-disjoint validation split).
#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, Subcommand)]
enum Source {
    /// Fashion-MNIST from its IDX files (Debian package dataset-fashion-mnist): PNGs and a CSV.
    /// Validation is the test set, or with --class-disjoint K, K held-out classes.
    FashionMnist {
        /// Folder of the four .gz IDX files.
        #[arg(long, value_name = "DIR", default_value = "/usr/share/datasets/fashion-mnist")]
        dir: PathBuf,
        /// Output folder: dataset.csv and images/.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Hold out this many classes (seeded) instead of using the test set.
        #[arg(long, value_name = "K")]
        class_disjoint: Option<usize>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Keep only the first N images of each part.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// A folder with one sub-folder of images per label. A seeded share of the labels is held
    /// out for validation, every image there both query and gallery; the sub-folder name is
    /// the category.
    Folder {
        /// The folder of label sub-folders.
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
        /// The CSV to write (paths relative to its folder).
        #[arg(long, value_name = "CSV")]
        out: PathBuf,
        #[arg(long, default_value_t = 0.2)]
        val_fraction: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// The emoji cross-vendor benchmark from the unpacked npm packages
    /// emoji-datasource-google and emoji-datasource-twitter: queries are Google's drawings,
    /// the gallery Twitter's, of held-out emoji (scripts/fetch-data.sh fetches them).
    Emoji {
        /// The google package folder (with emoji.json and img/google/64/).
        #[arg(long, value_name = "DIR")]
        google: PathBuf,
        /// The twitter package folder (with img/twitter/64/).
        #[arg(long, value_name = "DIR")]
        twitter: PathBuf,
        /// Output folder: dataset.csv and images/.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Share of the emoji held out for validation.
        #[arg(long, default_value_t = 0.2)]
        val_fraction: f64,
        /// Seed of the split (and of the subset).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Keep only this many emoji (a seeded choice).
        #[arg(long)]
        limit: Option<usize>,
        /// Add the skin-tone variants of the training emoji as more images of their label
        /// (validation keeps the base drawings: the same benchmark, more training data).
        #[arg(long)]
        skin_tones: bool,
    },
}

pub(crate) fn run(args: &ConvertArgs) -> Result<(), Failure> {
    match &args.source {
        Source::FashionMnist { dir, out, class_disjoint, seed, limit } => {
            let opts = FashionMnistOptions {
                dir: dir.clone(),
                out: out.clone(),
                class_disjoint: *class_disjoint,
                seed: *seed,
                limit: *limit,
            };
            let rows = convert_fashion_mnist(&opts).map_err(bad_input)?;
            eprintln!("oml convert: {rows} images -> {}", out.join("dataset.csv").display());
        }
        Source::Folder { root, out, val_fraction, seed } => {
            let opts = FolderOptions {
                root: root.clone(),
                out: out.clone(),
                val_fraction: *val_fraction,
                seed: *seed,
            };
            let (labels, images) = convert_folder(&opts).map_err(bad_input)?;
            eprintln!("oml convert: {labels} labels, {images} images -> {}", out.display());
        }
        Source::Emoji { google, twitter, out, val_fraction, seed, limit, skin_tones } => {
            let opts = EmojiOptions {
                google: google.clone(),
                twitter: twitter.clone(),
                out: out.clone(),
                val_fraction: *val_fraction,
                seed: *seed,
                limit: *limit,
                skin_tones: *skin_tones,
            };
            let n = convert_emoji(&opts).map_err(bad_input)?;
            eprintln!("oml convert: {n} emoji -> {}", out.join("dataset.csv").display());
        }
    }
    Ok(())
}
