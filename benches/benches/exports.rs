//! Exports and the browser side, natively: writing 10k x 384 embeddings with ids and labels in
//! each format, a MobileNetV2 model file written and loaded, the wasm package's Index
//! searching 10k x 384, and the browser app's analysis of a 1k labelled gallery (in the page
//! the same code runs compiled to wasm). Figures in benches/README.md.

use burn::tensor::Device;
use criterion::{Criterion, criterion_group, criterion_main};
use oml_benches::Synthetic;
use oml_core::index::IndexView;
use oml_models::extractor::ExtractorWithMlp;
use oml_models::model_file::{self, ModelSpec, SourceSpec};
use oml_models::zoo::{self, Arch};
use oml_native::io::{EmbeddingTable, map_file, write_table};
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

/// `oml index search` at scale: an index file of N x 384 (N = `OML_BENCH_INDEX_ROWS`, default
/// 200k; the target is 1M) memory-mapped and searched by 1,000 queries for their top
/// 10, against the matrix-product roofline: the same query x gallery products by
/// matrixmultiply's sgemm in 4,096-row gallery tiles, with nothing else done.
fn index_at_scale(c: &mut Criterion) {
    let n: usize =
        std::env::var("OML_BENCH_INDEX_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let (m, dim) = (1000, 384);
    let data = Synthetic::new(n + m, dim, 7);
    let (queries, gallery) = data.embeddings.split_at(m * dim);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("gallery.index");
    {
        let mut index = Index::new(dim).expect("dim");
        index.add((0..n).map(|i| i.to_string()).collect(), gallery).expect("added");
        std::fs::write(&path, index.to_bytes()).expect("written");
    }
    let map = map_file(&path).expect("mapped");
    let view = IndexView::from_bytes(&map).expect("an index");
    assert!(view.is_borrowed(), "searched in place");
    let mut group = c.benchmark_group(format!("index_{n}_x_{dim}"));
    group.sample_size(10);
    group.bench_function("search_1000_top10_mapped", |b| {
        b.iter(|| view.search(queries, 10).expect("hits"))
    });
    const TILE: usize = 4096;
    let mut out = vec![0f32; m * TILE];
    group.bench_function("sgemm_roofline", |b| {
        b.iter(|| {
            for tile in gallery.chunks(TILE * dim) {
                let rows = tile.len() / dim;
                sgemm_tile(queries, tile, &mut out[..m * rows], m, rows, dim);
            }
        })
    });
    group.finish();
}

/// `out[m, rows] = q[m, dim] · tile[rows, dim]ᵀ` with matrixmultiply.
#[allow(unsafe_code)]
fn sgemm_tile(q: &[f32], tile: &[f32], out: &mut [f32], m: usize, rows: usize, dim: usize) {
    assert!(q.len() >= m * dim && tile.len() >= rows * dim && out.len() >= m * rows);
    // SAFETY: the pointers cover the asserted sizes with the strides given.
    unsafe {
        matrixmultiply::sgemm(
            m,
            dim,
            rows,
            1.0,
            q.as_ptr(),
            dim as isize,
            1,
            tile.as_ptr(),
            1,
            dim as isize,
            0.0,
            out.as_mut_ptr(),
            rows as isize,
            1,
        );
    }
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

criterion_group!(benches, tables, model_files, index, index_at_scale, web_analysis);
criterion_main!(benches);
