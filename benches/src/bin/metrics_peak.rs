//! Times one `evaluate` and reports peak memory, as JSON on stdout, for the side-by-side script.
//!
//! `metrics_peak --n 10000 [--dim 384] [--fmr 0.001,0.01,0.1] [--ranking]` on synthetic data, or
//! `metrics_peak --embeddings E.npy --labels L.npy`-free form: `--embeddings E.npy --dataset D.csv`
//! to use exactly the files OML reads.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use oml_benches::{Synthetic, peak_rss_mib};
use oml_core::dataset::read_dataset;
use oml_core::metrics::{MetricsConfig, evaluate};
use oml_core::retrieval::{Embeddings, QueryGallery};

#[derive(Debug, Parser)]
struct Args {
    /// Synthetic data with this many rows (ignored with --embeddings).
    #[arg(long, default_value_t = 10_000)]
    n: usize,
    #[arg(long, default_value_t = 384)]
    dim: usize,
    /// Read embeddings from this .npy instead (with --dataset).
    #[arg(long, requires = "dataset")]
    embeddings: Option<PathBuf>,
    #[arg(long)]
    dataset: Option<PathBuf>,
    #[arg(long, value_delimiter = ',')]
    fmr: Vec<f64>,
    /// Only PML's map@r, r_precision and mrr (for `pml_side_by_side.py`) instead of OML's
    /// metrics.
    #[arg(long)]
    ranking: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (embeddings, labels, is_query, is_gallery, dim) = match (&args.embeddings, &args.dataset) {
        (Some(e), Some(d)) => {
            let matrix = oml_native::io::read_embeddings(e)?;
            let file = std::fs::File::open(d).with_context(|| d.display().to_string())?;
            let ds = read_dataset(std::io::BufReader::new(file), &d.display().to_string())?;
            let map = ds.label_map();
            let labels = ds.records().iter().map(|r| map.dense(r.label).unwrap_or(0)).collect();
            let q = ds.records().iter().map(|r| r.is_query).collect();
            let g = ds.records().iter().map(|r| r.is_gallery).collect();
            (matrix.data, labels, q, g, matrix.dim)
        }
        _ => {
            let s = Synthetic::new(args.n, args.dim, 0);
            (s.embeddings, s.labels, vec![true; args.n], vec![true; args.n], args.dim)
        }
    };
    let rows = labels.len();
    let rss_before = peak_rss_mib();
    let started = Instant::now();
    let qg = QueryGallery::new(labels, &is_query, &is_gallery)?;
    let emb = Embeddings::new(&embeddings, rows, dim)?;
    let oml_metrics = MetricsConfig {
        cmc_top_k: vec![1, 5, 10],
        precision_top_k: vec![1, 5, 10],
        map_top_k: vec![1, 5, 10],
        ndcg_top_k: vec![1, 5, 10],
        fmr_vals: args.fmr.clone(),
        // OML's metrics only, so that the figures compare with OML's.
        ranking: false,
        ..MetricsConfig::default()
    };
    let config = if args.ranking {
        MetricsConfig { ranking: true, ..MetricsConfig::none() }
    } else {
        oml_metrics
    };
    let eval = evaluate(&emb, &qg, &config)?;
    let seconds = started.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "rows": rows,
        "dim": dim,
        "fmr": args.fmr,
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_mib_before_metrics": rss_before,
        "metrics": eval.report,
    });
    println!("{report}");
    Ok(())
}
