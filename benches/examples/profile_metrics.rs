//! Times the parts of `evaluate` separately at N = 10k, D = 384 (queries = gallery), three
//! times each, for profiling (`perf record` on this example):
//! `cargo run --release -p oml-benches --example profile_metrics`.

use std::time::Instant;

use oml_benches::Synthetic;
use oml_core::metrics::{fnmr_at_fmr_streaming, pcf};
use oml_core::retrieval::{Distance, Embeddings, QueryGallery, retrieve};

fn main() -> anyhow::Result<()> {
    let n = 10_000;
    let data = Synthetic::new(n, 384, 0);
    let all = vec![true; n];
    let qg = QueryGallery::new(data.labels.clone(), &all, &all)?;
    let emb = Embeddings::new(&data.embeddings, n, data.dim)?;
    let rows: Vec<u32> = (0..u32::try_from(n)?).collect();
    for _ in 0..3 {
        let t = Instant::now();
        retrieve(&emb, &qg, 10, Distance::Euclidean)?;
        let top_k = t.elapsed();
        let t = Instant::now();
        pcf(&emb, &rows, &[0.5]);
        let pcf_time = t.elapsed();
        let t = Instant::now();
        fnmr_at_fmr_streaming(&emb, &qg, Distance::Euclidean, &[0.001, 0.01, 0.1]);
        println!("top-10 {top_k:.2?}  pcf {pcf_time:.2?}  fnmr@fmr {:.2?}", t.elapsed());
    }
    Ok(())
}
