//! `oml predict`: retrieval results a program can use. Queries are searched in a gallery (a
//! dataset's validation rows by their roles, or two lists of images) and each query's top k
//! is written with distances and, where labels exist, `is_correct`; OML's constant and
//! adaptive thresholding can cut the lists.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use oml_core::index::IndexView;
use oml_core::retrieval::{Distance, Embeddings, QueryGallery, Thresholding, retrieve};

use super::model_args::{AnyEmbedder, ModelOptions};
use crate::embed::{ImageItem, from_dataset};
use crate::failure::{Failure, bad_input, other};
use crate::io::{PredictedRow, ResultsFormat, read_image_list, write_results};

/// Searches a gallery with queries and writes each query's top k (ids, distances, and
/// `is_correct` where labels exist) as .jsonl, .csv or .parquet.
#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    model: ModelOptions,
    /// Dataset in OML's CSV format: its validation rows, queries and gallery by `is_query` and
    /// `is_gallery` (a query never retrieves itself or its own sequence), as `oml validate`.
    #[arg(
        long,
        value_name = "CSV",
        conflicts_with_all = ["queries", "gallery", "index"],
        required_unless_present = "queries"
    )]
    dataset: Option<PathBuf>,
    /// Where the dataset's relative paths start. Default: the CSV's folder.
    #[arg(long, value_name = "DIR", requires = "dataset")]
    dataset_root: Option<PathBuf>,
    /// The queries: a folder of images (searched recursively), or a CSV with a `path` column
    /// (relative to the CSV's folder) and an optional integer `label` column.
    #[arg(long, value_name = "DIR|CSV")]
    queries: Option<PathBuf>,
    /// The gallery, as --queries. With labels on both sides, `is_correct` is written.
    #[arg(long, value_name = "DIR|CSV", requires = "queries", conflicts_with = "index")]
    gallery: Option<PathBuf>,
    /// The gallery as an index file from `oml index build` (embedded by the same model).
    #[arg(long, value_name = "INDEX", requires = "queries")]
    index: Option<PathBuf>,
    #[command(flatten)]
    results: ResultOptions,
}

/// The length, file and cut of the result lists (`oml predict`, `oml index search`).
#[derive(Debug, Args)]
pub(super) struct ResultOptions {
    /// Results per query (fewer where the gallery is smaller).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    k: u64,
    /// Output, by extension: .jsonl (`{"query", "gallery", "distances", "is_correct"}` per
    /// line), .csv (the lists as JSON arrays) or .parquet (list columns).
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Keep only results closer than this distance (OML's ConstantThresholding).
    #[arg(long, value_name = "TH", conflicts_with = "adaptive_threshold")]
    threshold: Option<f32>,
    /// Cut each list after its first gap between consecutive distances larger than N_STD
    /// times the mean gap over all queries (OML's AdaptiveThresholding).
    #[arg(long, value_name = "N_STD")]
    adaptive_threshold: Option<f32>,
}

impl ResultOptions {
    /// What a search writes, checked before anything is embedded.
    pub(super) fn output(&self, batch_size: u64) -> Result<Output<'_>, Failure> {
        ResultsFormat::of(&self.out).map_err(bad_input)?;
        Ok(Output {
            k: usize::try_from(self.k).unwrap_or(usize::MAX),
            out: &self.out,
            thresholding: thresholding(self.threshold, self.adaptive_threshold)
                .map_err(bad_input)?,
            batch_size: usize::try_from(batch_size).unwrap_or(usize::MAX),
        })
    }
}

/// What is searched: every image (queries first for two lists), its id, the roles and labels.
struct Search {
    items: Vec<ImageItem>,
    ids: Vec<String>,
    qg: QueryGallery,
    labelled: bool,
}

/// What every search writes: the list length, the output file, OML's cut, and the batch size
/// of the forward passes.
pub(super) struct Output<'a> {
    pub k: usize,
    pub out: &'a Path,
    pub thresholding: Option<Thresholding>,
    pub batch_size: usize,
}

pub(crate) fn run(args: &PredictArgs) -> Result<(), Failure> {
    let output = args.results.output(args.model.batch_size)?;
    let load = || args.model.load();
    if let (Some(index), Some(queries)) = (&args.index, &args.queries) {
        let queries = read_image_list(queries, None).map_err(bad_input)?;
        let map = crate::io::map_file(index).map_err(bad_input)?;
        let index = read_index(index, &map)?;
        let (embedder, identity) = load()?;
        return search_index(&embedder, &identity, &index, &queries, &output);
    }
    let search = search(args)?;
    let (embedder, _) = load()?;
    predict(&embedder, &search, &output)
}

/// OML's thresholds from `--threshold` / `--adaptive-threshold`.
fn thresholding(
    threshold: Option<f32>,
    adaptive: Option<f32>,
) -> anyhow::Result<Option<Thresholding>> {
    Ok(match (threshold, adaptive) {
        (Some(th), _) if !th.is_finite() => anyhow::bail!("--threshold must be finite, got {th}"),
        (Some(th), _) => Some(Thresholding::Constant { th }),
        (None, Some(n)) if !(n.is_finite() && n > 0.0) => {
            anyhow::bail!("--adaptive-threshold must be positive, got {n}")
        }
        (None, Some(n_std)) => Some(Thresholding::Adaptive { n_std }),
        (None, None) => None,
    })
}

/// The index in `bytes` (the file `path`, memory-mapped), searched where it lies; an error
/// names the file.
pub(super) fn read_index<'a>(path: &Path, bytes: &'a [u8]) -> Result<IndexView<'a>, Failure> {
    IndexView::from_bytes(bytes).map_err(|e| bad_input(anyhow!("{}: {e}", path.display())))
}

/// The queries of `queries` searched in `index`, written as `output` says. The index must have
/// been built by the same model (`identity`).
pub(super) fn search_index(
    embedder: &AnyEmbedder,
    identity: &str,
    index: &IndexView<'_>,
    queries: &crate::io::ImageList,
    output: &Output<'_>,
) -> Result<(), Failure> {
    if let Some(built) = index.model()
        && built != identity
    {
        return Err(bad_input(anyhow!(
            "the index was built by model {built}, the queries would be embedded by {identity}: \
             search it with the model that built it"
        )));
    }
    if embedder.feat_dim() != index.dim() {
        return Err(bad_input(anyhow!(
            "the index holds {}-d embeddings, the model makes {}-d ones",
            index.dim(),
            embedder.feat_dim()
        )));
    }
    let data = embedder.embed(&queries.items, output.batch_size)?;
    let hits = index.search(&data, output.k).map_err(other)?;
    let lists: Vec<&[f32]> = hits.iter().map(|h| h.distances.as_slice()).collect();
    let kept = kept(output.thresholding, &lists);
    // With labels on both sides: each hit's label, for `is_correct`.
    let labels = match (index.labels(), &queries.labels) {
        (Some(gallery), Some(query)) => {
            let of: std::collections::HashMap<&str, i64> =
                index.ids().iter().map(String::as_str).zip(gallery.iter().copied()).collect();
            Some((of, query))
        }
        _ => None,
    };
    let rows: Vec<PredictedRow> = hits
        .iter()
        .enumerate()
        .zip(kept)
        .map(|((q, h), n)| PredictedRow {
            query: queries.ids[q].clone(),
            gallery: h.ids[..n].to_vec(),
            distances: h.distances[..n].to_vec(),
            is_correct: labels.as_ref().map(|(of, query)| {
                h.ids[..n].iter().map(|id| of.get(id.as_str()) == Some(&query[q])).collect()
            }),
        })
        .collect();
    write_results(output.out, &rows).map_err(other)?;
    eprintln!(
        "oml: {} queries searched in {} indexed items, top {} -> {}",
        rows.len(),
        index.len(),
        output.k,
        output.out.display()
    );
    Ok(())
}

/// How many of each list `thresholding` keeps (all without one).
fn kept(thresholding: Option<Thresholding>, lists: &[&[f32]]) -> Vec<usize> {
    match thresholding {
        Some(t) => t.kept(lists),
        None => lists.iter().map(|d| d.len()).collect(),
    }
}

fn predict(embedder: &AnyEmbedder, search: &Search, output: &Output<'_>) -> Result<(), Failure> {
    let data = embedder.embed(&search.items, output.batch_size)?;
    let emb = Embeddings::new(&data, search.items.len(), embedder.feat_dim()).map_err(other)?;
    let k = output.k;
    let results = retrieve(&emb, &search.qg, k, Distance::Euclidean).map_err(other)?;
    let gallery = search.qg.gallery_rows();
    let queries = search.qg.query_rows();
    let lists: Vec<&[f32]> = results.iter().map(|r| r.distances).collect();
    let kept = kept(output.thresholding, &lists);
    let (mut hits, mut total) = (0usize, 0usize);
    let rows: Vec<PredictedRow> = results
        .iter()
        .zip(queries)
        .zip(&kept)
        .map(|((r, &q), &n)| {
            let correct = search.labelled.then(|| r.is_correct());
            if let Some(c) = &correct {
                total += 1;
                hits += usize::from(c.first() == Some(&true));
            }
            PredictedRow {
                query: search.ids[q as usize].clone(),
                gallery: r.retrieved[..n]
                    .iter()
                    .map(|&g| search.ids[gallery[g as usize] as usize].clone())
                    .collect(),
                distances: r.distances[..n].to_vec(),
                is_correct: correct.map(|mut c| {
                    c.truncate(n);
                    c
                }),
            }
        })
        .collect();
    write_results(output.out, &rows).map_err(other)?;
    let cmc = if total > 0 {
        format!(", cmc@1 {:.4}", hits as f64 / total as f64)
    } else {
        String::new()
    };
    eprintln!(
        "oml predict: {} queries x {} gallery items, top {k}{cmc} -> {}",
        queries.len(),
        gallery.len(),
        output.out.display()
    );
    Ok(())
}

/// The images and roles: a dataset's validation rows, or two lists (queries first).
fn search(args: &PredictArgs) -> Result<Search, Failure> {
    if let Some(csv) = &args.dataset {
        let dataset = crate::io::read_dataset_file(csv).map_err(bad_input)?;
        let rows = dataset.validation_rows();
        if rows.is_empty() {
            return Err(bad_input(anyhow!("{} has no validation rows to search", csv.display())));
        }
        let root = match &args.dataset_root {
            Some(root) => root.clone(),
            None => csv.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        let all = from_dataset(&dataset, &root);
        let records = dataset.records();
        let qg = crate::eval::query_gallery(&dataset, &rows).map_err(bad_input)?;
        return Ok(Search {
            items: rows.iter().map(|&r| all[r].clone()).collect(),
            ids: rows.iter().map(|&r| records[r].path.clone()).collect(),
            qg,
            labelled: true,
        });
    }
    let (Some(q), Some(g)) = (&args.queries, &args.gallery) else {
        return Err(bad_input(anyhow!("give --dataset, or --queries with --gallery or --index")));
    };
    let queries = read_image_list(q, None).map_err(bad_input)?;
    let gallery = read_image_list(g, None).map_err(bad_input)?;
    let (nq, ng) = (queries.items.len(), gallery.items.len());
    let (qg, labelled) = match (&queries.labels, &gallery.labels) {
        (Some(lq), Some(lg)) => {
            let labels: Vec<u32> = dense(lq.iter().chain(lg));
            let is_query: Vec<bool> = (0..nq + ng).map(|i| i < nq).collect();
            let is_gallery: Vec<bool> = is_query.iter().map(|q| !q).collect();
            (QueryGallery::new(labels, &is_query, &is_gallery).map_err(bad_input)?, true)
        }
        _ => (QueryGallery::search_only(nq, ng).map_err(bad_input)?, false),
    };
    let mut items = queries.items;
    items.extend(gallery.items);
    let mut ids = queries.ids;
    ids.extend(gallery.ids);
    Ok(Search { items, ids, qg, labelled })
}

/// Dense ids of integer labels, in first-appearance order.
fn dense<'a>(labels: impl Iterator<Item = &'a i64>) -> Vec<u32> {
    let mut ids = std::collections::HashMap::new();
    labels
        .map(|l| {
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry(*l).or_insert(next)
        })
        .collect()
}
