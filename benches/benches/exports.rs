//! Exports and the browser side, natively: writing 10k x 384 embeddings with ids and labels in
//! each format, a MobileNetV2 model file written and loaded, the wasm package's Index
//! searching 10k x 384, and the browser app's analysis of a 1k labelled gallery (in the page
//! the same code runs compiled to wasm). Figures in benches/README.md.

use burn::tensor::Device;
use criterion::{Criterion, criterion_group, criterion_main};
use oml_benches::Synthetic;
use oml_models::extractor::ExtractorWithMlp;
use oml_models::model_file::{self, ModelSpec, SourceSpec};
use oml_models::zoo::{self, Arch};
use oml_native::io::{EmbeddingTable, write_table};
use oml_wasm::index::Index;

fn tables(c: &mut Criterion) {
    let data = Synthetic::new(10_000, 384, 0);
    let ids: Vec<String> = (0..10_000).map(|i| format!("images/{i:05}.jpg")).collect();
    let labels: Vec<i64> = data.labels.iter().map(|&l| i64::from(l)).collect();
    let table = EmbeddingTable {
        ids: &ids,
        labels: Some(&labels),
        categories: None,
        data: &data.embeddings,
        dim: 384,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("write_10k_x_384");
    group.sample_size(10);
    for ext in ["npy", "safetensors", "jsonl", "parquet"] {
        let path = dir.path().join(format!("e.{ext}"));
        group.bench_function(ext, |b| b.iter(|| write_table(&path, &table).expect("written")));
    }
    group.finish();
}

fn model_files(c: &mut Criterion) {
    let device = Device::flex();
    let entry = zoo::find("mobilenet_v2_imagenet").expect("zoo entry");
    let model = ExtractorWithMlp::new(Arch::MobileNetV2.init(&device), &[], &device);
    let spec = ModelSpec::describe(
        &model,
        Arch::MobileNetV2,
        &entry.preprocess,
        true,
        SourceSpec::default(),
    );
    let bytes = model_file::to_bytes(&model, &spec).expect("serialised");
    let mut group = c.benchmark_group("model_file_mobilenet_v2");
    group.sample_size(10);
    group.bench_function("to_bytes", |b| b.iter(|| model_file::to_bytes(&model, &spec)));
    group.bench_function("load_embedder", |b| {
        b.iter(|| model_file::load_embedder(&bytes, &device).expect("loaded"))
    });
    group.finish();
}

fn index(c: &mut Criterion) {
    let data = Synthetic::new(10_000, 384, 1);
    let mut index = Index::new(384).expect("dim");
    index.add((0..10_000).map(|i| i.to_string()).collect(), &data.embeddings).expect("added");
    let query = &data.embeddings[..384];
    let queries = &data.embeddings[..100 * 384];
    let mut group = c.benchmark_group("index_10k_x_384");
    group.bench_function("search_1_top10", |b| b.iter(|| index.search(query, 10).expect("hits")));
    group.sample_size(10);
    group.bench_function("search_100_top10", |b| {
        b.iter(|| index.search(queries, 10).expect("hits"))
    });
    group.finish();
}

/// The browser app's analysis of a labelled gallery: 1,000 validation rows (500 queries, 500
/// gallery items, 100 identities) of 384-d embeddings: `oml metrics`' metrics, CMC curve,
/// histograms, worst queries; and the PCA map of the same rows.
fn web_analysis(c: &mut Criterion) {
    let n = 1000;
    let data = Synthetic::new(n, 384, 2);
    let mut csv = String::from("label,path,split,is_query,is_gallery\n");
    for i in 0..n {
        let (q, g) = if i % 2 == 0 { ("True", "False") } else { ("False", "True") };
        csv.push_str(&format!("{},{i}.png,validation,{q},{g}\n", (i / 2) % 100));
    }
    let dataset = oml_core::dataset::read_dataset(csv.as_bytes(), "bench.csv").expect("csv");
    let present = vec![true; n];
    let mut group = c.benchmark_group("web_1k_x_384");
    group.sample_size(10);
    group.bench_function("analyse", |b| {
        b.iter(|| oml_browser_app::analysis::analyse(&dataset, &data.embeddings, 384, &present))
    });
    group.bench_function("pca_2d", |b| {
        b.iter(|| oml_browser_app::pca::pca_2d(&data.embeddings, 384))
    });
    group.finish();
}

criterion_group!(benches, tables, model_files, index, web_analysis);
criterion_main!(benches);
