//! `oml index build` and `oml index search`: a gallery embedded once into an index file (the
//! format the wasm package's `Index.fromBytes` and the browser app read), then searched with
//! query images embedded by the same model.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use oml_core::index::Index;

use super::model_args::ModelOptions;
use super::predict::{ResultOptions, read_index, search_index};
use crate::failure::{Failure, bad_input, other};
use crate::io::{read_image_list, write_atomically};

/// Index files: build one from a gallery, search one with queries.
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    Build(BuildArgs),
    Search(SearchArgs),
}

/// Embeds a gallery into an index file: the ids, the embeddings and the model's identity.
#[derive(Debug, Args)]
struct BuildArgs {
    #[command(flatten)]
    model: ModelOptions,
    /// The gallery: a folder of images (searched recursively), or a CSV with a `path` column
    /// (relative to the CSV's folder; a dataset CSV works, all its rows) and an optional
    /// integer `label` column, kept in the index. Ids are the paths.
    #[arg(long, value_name = "DIR|CSV")]
    gallery: PathBuf,
    /// Where a gallery CSV's relative paths start. Default: the CSV's folder.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// The index file to write (e.g. gallery.index; a safetensors file).
    #[arg(long, value_name = "INDEX")]
    out: PathBuf,
}

/// Searches an index file with query images embedded by the model that built it.
#[derive(Debug, Args)]
struct SearchArgs {
    #[command(flatten)]
    model: ModelOptions,
    /// The index from `oml index build`.
    #[arg(long, value_name = "INDEX")]
    index: PathBuf,
    /// The queries: a folder of images, or a CSV with a `path` column and an optional `label`
    /// column (with labels in the index too, `is_correct` is written).
    #[arg(long, value_name = "DIR|CSV")]
    queries: PathBuf,
    /// Where a queries CSV's relative paths start. Default: the CSV's folder.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    #[command(flatten)]
    results: ResultOptions,
}

pub(crate) fn run(args: &IndexArgs) -> Result<(), Failure> {
    match &args.command {
        IndexCommand::Build(b) => build(b),
        IndexCommand::Search(s) => search(s),
    }
}

fn build(args: &BuildArgs) -> Result<(), Failure> {
    let gallery = read_image_list(&args.gallery, args.root.as_deref()).map_err(bad_input)?;
    let (embedder, identity) = args.model.load()?;
    let data = embedder.embed(&gallery.items, args.model.batch_size as usize)?;
    let mut index = Index::new(embedder.feat_dim()).map_err(other)?.with_model(Some(identity));
    index
        .add_labelled(gallery.ids, gallery.labels.as_deref(), &data)
        .map_err(|e| bad_input(anyhow!("{}: {e}", args.gallery.display())))?;
    write_atomically(&args.out, &index.to_bytes())
        .map_err(|e| other(anyhow!("cannot write {}: {e}", args.out.display())))?;
    eprintln!(
        "oml index build: {} images ({}-d, {}) -> {}",
        index.len(),
        index.dim(),
        index.model().unwrap_or("?"),
        args.out.display()
    );
    Ok(())
}

fn search(args: &SearchArgs) -> Result<(), Failure> {
    let output = args.results.output(args.model.batch_size)?;
    let queries = read_image_list(&args.queries, args.root.as_deref()).map_err(bad_input)?;
    let map = crate::io::map_file(&args.index).map_err(bad_input)?;
    let index = read_index(&args.index, &map)?;
    let (embedder, identity) = args.model.load()?;
    search_index(&embedder, &identity, &index, &queries, &output)
}
