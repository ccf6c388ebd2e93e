//! `oml export` and the embedding exports end to end: a zoo model exported to a model file
//! embeds like the zoo model, and the .npy / .safetensors / .jsonl / .parquet files of one
//! run read back (with the Rust readers of each format) to the same float32 values, ids,
//! labels and categories.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use arrow_array::{Array, FixedSizeListArray, Float32Array, Int64Array, StringArray};
use common::{oml, repo, s, stderr};
use oml_native::io::read_embeddings;

/// Six rows of the committed emoji subset (two labels, one without a category), images
/// relative to data/emoji_small.
fn small_csv(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("data/emoji_small/dataset.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let category = header.split(',').position(|c| c == "category").unwrap();
    let mut out = format!("{header}\n");
    for (i, line) in lines.take(6).enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        if i == 2 {
            fields[category].clear();
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    let csv = dir.join("small.csv");
    std::fs::write(&csv, out).unwrap();
    csv
}

fn embed(model: &str, csv: &Path, out: &Path) {
    let root = repo().join("data/emoji_small");
    let run = common::embed(model, csv, out, &["--dataset-root", s(&root)]);
    assert!(run.status.success(), "{}", stderr(&run));
}

#[test]
fn a_zoo_model_file_embeds_like_the_zoo_model_and_every_export_reads_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mnv2.safetensors");
    let run = oml(&["export", "--model", "mobilenet_v2_imagenet", "--offline", "--out", s(&model)]);
    assert!(run.status.success(), "{}", stderr(&run));
    let spec = oml_models::model_file::read_spec(&std::fs::read(&model).unwrap()).unwrap();
    assert_eq!(spec.source.zoo_model.as_deref(), Some("mobilenet_v2_imagenet"));
    assert_eq!(spec.source.training_config_sha256, None);

    let csv = small_csv(dir.path());
    let zoo = dir.path().join("zoo.npy");
    embed("mobilenet_v2_imagenet", &csv, &zoo);
    let npy = dir.path().join("e.npy");
    embed(s(&model), &csv, &npy);
    let (want, got) = (read_embeddings(&zoo).unwrap(), read_embeddings(&npy).unwrap());
    assert_eq!((got.rows, got.dim), (6, 1280));
    let worst = want.data.iter().zip(&got.data).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst < 1e-4, "model file vs zoo model: {worst}");

    let dataset =
        oml_core::dataset::read_dataset(std::fs::File::open(&csv).unwrap(), "csv").unwrap();
    let ids: Vec<String> = dataset.records().iter().map(|r| r.path.clone()).collect();
    let labels: Vec<i64> = dataset.records().iter().map(|r| r.label).collect();
    let categories: Vec<Option<String>> =
        dataset.records().iter().map(|r| r.category.clone()).collect();
    assert_eq!(categories[2], None);
    let npy_ids = std::fs::read_to_string(dir.path().join("e.ids.txt")).unwrap();
    assert_eq!(npy_ids.lines().collect::<Vec<_>>(), ids);

    // safetensors: the same matrix, ids in the header and beside it.
    let st = dir.path().join("e.safetensors");
    embed(s(&model), &csv, &st);
    assert_eq!(read_embeddings(&st).unwrap(), got);
    let bytes = std::fs::read(&st).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let header_ids: Vec<String> =
        serde_json::from_str(&header.metadata().as_ref().unwrap()["ids"]).unwrap();
    assert_eq!(header_ids, ids);

    // JSONL: one object per row, the floats read back bit-identical.
    let jsonl = dir.path().join("e.jsonl");
    embed(s(&model), &csv, &jsonl);
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let rows: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 6);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], ids[i].as_str());
        assert_eq!(row["label"], labels[i]);
        assert_eq!(row["category"].as_str(), categories[i].as_deref());
        let values: Vec<f32> = row["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(values, got.data[i * 1280..(i + 1) * 1280], "row {i}");
    }

    // Parquet: columns id, label, category, embedding (fixed-size list of float32).
    let parquet = dir.path().join("e.parquet");
    embed(s(&model), &csv, &parquet);
    let file = std::fs::File::open(&parquet).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "label", "category", "embedding"]);
    let col = |name: &str| batch.column_by_name(name).unwrap().clone();
    let id = col("id");
    let id = id.as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(id.iter().map(|v| v.unwrap().to_owned()).collect::<Vec<_>>(), ids);
    let label = col("label");
    assert_eq!(label.as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec(), labels);
    let category = col("category");
    let category = category.as_any().downcast_ref::<StringArray>().unwrap();
    let category: Vec<Option<String>> = category.iter().map(|c| c.map(str::to_owned)).collect();
    assert_eq!(category, categories);
    let embedding = col("embedding");
    let list = embedding.as_any().downcast_ref::<FixedSizeListArray>().unwrap();
    assert_eq!(list.value_length(), 1280);
    let values = list.values().as_any().downcast_ref::<Float32Array>().unwrap();
    assert_eq!(values.values().to_vec(), got.data);
}

#[test]
fn wrong_model_files_and_formats_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let csv = small_csv(dir.path());
    // An embeddings file is a safetensors file but not a model file.
    let not_model = dir.path().join("e.safetensors");
    embed("mobilenet_v2_imagenet", &csv, &not_model);
    let out = dir.path().join("x.npy");
    let run = oml(&["embed", "--model", s(&not_model), "--dataset", s(&csv), "--out", s(&out)]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(err.contains("e.safetensors") && err.contains("oml export"), "{err}");

    let run = oml(&[
        "embed",
        "--model",
        "mobilenet_v2_imagenet",
        "--dataset",
        s(&csv),
        "--out",
        s(&dir.path().join("x.csv")),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains(".parquet"), "{}", stderr(&run));

    let run = oml(&["export", "--model", "mobilenet_v2_imagenet", "--offline", "--out", s(&out)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains(".safetensors"), "{}", stderr(&run));
    let run = oml(&["export", "--checkpoint", s(dir.path()), "--out", s(&not_model)]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("oml-train run"), "{}", stderr(&run));
}
