//! Metrics at N = 10k (queries = gallery = N, D = 384, random data): OML's metrics (cmc,
//! precision, map, ndcg, pcf), with fnmr@fmr, PML's whole-ranking metrics alone (map@R,
//! R-precision, MRR), and NMI/AMI of a k-means clustering into N/10 clusters. N = 50k runs
//! when OML_BENCH_50K=1 (it takes minutes). Peak memory and the OML comparison:
//! `benches/oml_side_by_side.py` (see benches/README.md).

use criterion::{Criterion, criterion_group, criterion_main};
use oml_benches::Synthetic;
use oml_core::metrics::{MetricsConfig, evaluate};
use oml_core::retrieval::{Embeddings, QueryGallery};

fn bench_at(c: &mut Criterion, n: usize) {
    let data = Synthetic::new(n, 384, 0);
    let all = vec![true; n];
    let qg = QueryGallery::new(data.labels.clone(), &all, &all).expect("valid roles");
    let emb = Embeddings::new(&data.embeddings, n, data.dim).expect("finite data");
    let mut group = c.benchmark_group(format!("metrics_n{n}_d384"));
    group.sample_size(10);
    let plain = MetricsConfig { ranking: false, ..MetricsConfig::default() };
    group.bench_function("cmc_precision_map_ndcg_pcf", |b| {
        b.iter(|| evaluate(&emb, &qg, &plain).expect("metrics"))
    });
    let with_fnmr = MetricsConfig { fmr_vals: vec![0.001, 0.01, 0.1], ..plain.clone() };
    group.bench_function("with_fnmr", |b| {
        b.iter(|| evaluate(&emb, &qg, &with_fnmr).expect("metrics"))
    });
    let ranking = MetricsConfig { ranking: true, ..MetricsConfig::none() };
    group.bench_function("map_at_r_r_precision_mrr", |b| {
        b.iter(|| evaluate(&emb, &qg, &ranking).expect("metrics"))
    });
    let clustering = MetricsConfig { clustering: true, ..MetricsConfig::none() };
    group.bench_function("nmi_ami", |b| {
        b.iter(|| evaluate(&emb, &qg, &clustering).expect("metrics"))
    });
    group.finish();
}

fn metrics(c: &mut Criterion) {
    bench_at(c, 10_000);
    if std::env::var("OML_BENCH_50K").is_ok_and(|v| v == "1") {
        bench_at(c, 50_000);
    }
}

criterion_group!(benches, metrics);
criterion_main!(benches);
