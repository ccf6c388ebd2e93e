//! `oml predict` end to end: retrieval results in three formats whose CMC equals `oml
//! validate`'s, two lists of images with and without labels, OML's thresholding, and bad input
//! (exit code 2, the file and line named).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{oml, repo, s, stderr};
use serde_json::Value;

fn emoji() -> PathBuf {
    repo().join("data/emoji_small/dataset.csv")
}

/// The pretrained MobileNetV2 as a model file (what `oml validate` takes).
fn model_file(dir: &Path) -> PathBuf {
    let file = dir.join("m.safetensors");
    let out = oml(&["export", "--model", "mobilenet_v2_imagenet", "--offline", "--out", s(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    file
}

fn jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// CMC@k from the rows' `is_correct`: the share of queries with a positive in the first k.
fn cmc(rows: &[Value], k: usize) -> f64 {
    let hit = |r: &Value| {
        r["is_correct"].as_array().unwrap().iter().take(k).any(|c| c.as_bool().unwrap())
    };
    rows.iter().filter(|r| hit(r)).count() as f64 / rows.len() as f64
}

#[test]
fn results_of_a_dataset_give_validates_cmc_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let json = dir.path().join("v.json");
    let out = oml(&[
        "validate",
        "--checkpoint",
        s(&model),
        "--dataset",
        s(&emoji()),
        "--k",
        "1,5",
        "--json",
        s(&json),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let validated: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let csv = emoji();
    let predict = |out: &Path, extra: &[&str]| {
        let mut args = vec!["predict", "--model", s(&model), "--dataset", s(&csv), "--k", "5"];
        args.extend_from_slice(&["--out", s(out)]);
        args.extend_from_slice(extra);
        let run = oml(&args);
        assert!(run.status.success(), "{}", stderr(&run));
        run
    };
    let results = dir.path().join("r.jsonl");
    let run = predict(&results, &[]);
    assert!(stderr(&run).contains("60 queries x 60 gallery items, top 5"), "{}", stderr(&run));
    let rows = jsonl(&results);
    assert_eq!(rows.len(), 60);
    for k in [1, 5] {
        let want = validated["OVERALL"]["cmc"][k.to_string()].as_f64().unwrap();
        assert!(
            (cmc(&rows, k) - want).abs() < 1e-9,
            "cmc@{k}: {} vs validate {want}",
            cmc(&rows, k)
        );
    }
    let first = &rows[0];
    assert_eq!(first["gallery"].as_array().unwrap().len(), 5);
    let d: Vec<f64> =
        first["distances"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");
    assert!(first["query"].as_str().unwrap().starts_with("images/"));

    // CSV and Parquet hold the same rows.
    let csv_out = dir.path().join("r.csv");
    predict(&csv_out, &[]);
    let mut reader = csv::Reader::from_path(&csv_out).unwrap();
    for (record, row) in reader.records().zip(&rows) {
        let record = record.unwrap();
        assert_eq!(&record[0], row["query"].as_str().unwrap());
        assert_eq!(serde_json::from_str::<Value>(&record[1]).unwrap(), row["gallery"]);
        assert_eq!(serde_json::from_str::<Value>(&record[3]).unwrap(), row["is_correct"]);
    }
    let parquet_out = dir.path().join("r.parquet");
    predict(&parquet_out, &[]);
    let file = std::fs::File::open(&parquet_out).unwrap();
    let batches: Vec<_> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 60);
    let names: Vec<String> =
        batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["query", "gallery", "distances", "is_correct"]);

    // OML's thresholds: nothing is closer than 0; the adaptive cut keeps a prefix.
    let cut = dir.path().join("cut.jsonl");
    predict(&cut, &["--threshold", "0"]);
    assert!(jsonl(&cut).iter().all(|r| r["gallery"].as_array().unwrap().is_empty()));
    predict(&cut, &["--adaptive-threshold", "1.0"]);
    let adaptive = jsonl(&cut);
    assert!(adaptive.iter().all(|r| (1..=5).contains(&r["gallery"].as_array().unwrap().len())));
    assert!(
        adaptive.iter().any(|r| r["gallery"].as_array().unwrap().len() < 5),
        "something is cut"
    );
    for (a, r) in adaptive.iter().zip(&rows) {
        let n = a["gallery"].as_array().unwrap().len();
        assert_eq!(a["gallery"].as_array().unwrap()[..], r["gallery"].as_array().unwrap()[..n]);
    }
}

#[test]
fn two_lists_are_searched_with_labels_when_both_have_them() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let root = repo().join("data/emoji_small");
    // Queries: Google's drawings of the first 5 validation emoji; gallery: Twitter's of the
    // first 8. Absolute paths (a list's relative paths start at its own folder).
    let text = std::fs::read_to_string(emoji()).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let list = |vendor: &str, n: usize, name: &str| {
        let mut csv = String::from("path,label\n");
        let picked = rows.iter().filter(|r| r[2] == "validation" && r[1].contains(vendor));
        for r in picked.take(n) {
            csv.push_str(&format!("{},{}\n", root.join(r[1]).display(), r[0]));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, csv).unwrap();
        path
    };
    let (queries, gallery) = (list("google", 5, "q.csv"), list("twitter", 8, "g.csv"));
    let out = dir.path().join("r.jsonl");
    let run = |queries: &Path| {
        oml(&[
            "predict",
            "--model",
            s(&model),
            "--queries",
            s(queries),
            "--gallery",
            s(&gallery),
            "--k",
            "3",
            "--out",
            s(&out),
        ])
    };
    let done = run(&queries);
    assert!(done.status.success(), "{}", stderr(&done));
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r["gallery"].as_array().unwrap().len() == 3));
    assert!(rows.iter().all(|r| r["is_correct"].is_array()), "labels on both sides");
    // The same five emoji are among the gallery's eight: most queries find theirs.
    assert!(cmc(&rows, 3) >= 0.6, "{}", cmc(&rows, 3));
    // A folder of queries has no labels: no is_correct.
    let done = run(&repo().join("tests/fixtures/images/tiny"));
    assert!(done.status.success(), "{}", stderr(&done));
    let rows = jsonl(&out);
    assert!(!rows.is_empty() && rows.iter().all(|r| r.get("is_correct").is_none()));
}

#[test]
fn bad_input_is_named_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let csv = emoji();
    let list = dir.path().join("q.csv");
    std::fs::write(&list, "path,label\nmissing.png,1\n").unwrap();
    let out = dir.path().join("r.jsonl");
    for (args, needle) in [
        (vec!["--queries", s(&list), "--gallery", s(&list), "--out", s(&out)], "q.csv line 2"),
        (vec!["--dataset", s(&csv), "--out", "r.txt"], ".jsonl, .csv or .parquet"),
        (
            vec![
                "--dataset",
                s(&csv),
                "--out",
                s(&out),
                "--threshold",
                "1",
                "--adaptive-threshold",
                "2",
            ],
            "cannot be used with",
        ),
        (
            vec!["--dataset", s(&csv), "--out", s(&out), "--adaptive-threshold", "0"],
            "--adaptive-threshold must be positive",
        ),
    ] {
        let mut all = vec!["predict", "--model", s(&model)];
        all.extend(args);
        let run = oml(&all);
        assert_eq!(run.status.code(), Some(2), "{needle}: {}", stderr(&run));
        assert!(stderr(&run).contains(needle), "{needle}: {}", stderr(&run));
    }
    assert!(!out.exists(), "nothing written on bad input");
}

/// `oml index build` embeds a gallery once; `oml index search` (and `oml predict --index`)
/// then give what `oml predict` gives on the same lists. An index is searched only with the
/// model that built it; a corrupt index file is named. Exit code 2 for both.
#[test]
fn an_index_is_built_once_and_searched_as_predict_searches() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_file(dir.path());
    let root = repo().join("data/emoji_small");
    let text = std::fs::read_to_string(emoji()).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let list = |vendor: &str, name: &str| {
        let mut csv = String::from("path,label\n");
        for r in rows.iter().filter(|r| r[2] == "validation" && r[1].contains(vendor)).take(12) {
            csv.push_str(&format!("{},{}\n", r[1], r[0]));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, csv).unwrap();
        path
    };
    let (queries, gallery) = (list("google", "q.csv"), list("twitter", "g.csv"));
    let index = dir.path().join("gallery.index");
    let run = oml(&[
        "index",
        "build",
        "--model",
        s(&model),
        "--gallery",
        s(&gallery),
        "--root",
        s(&root),
        "--out",
        s(&index),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("12 images (1280-d, sha256:"), "{}", stderr(&run));

    let searched = dir.path().join("s.jsonl");
    let search = |model: &Path, index: &Path| {
        oml(&[
            "index",
            "search",
            "--model",
            s(model),
            "--index",
            s(index),
            "--queries",
            s(&queries),
            "--root",
            s(&root),
            "--k",
            "4",
            "--out",
            s(&searched),
        ])
    };
    let run = search(&model, &index);
    assert!(run.status.success(), "{}", stderr(&run));
    // The same lists through `oml predict`, with the lists' paths made absolute.
    let absolute = |path: &Path, name: &str| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut out = String::from("path,label\n");
        for line in text.lines().skip(1) {
            let (path, label) = line.split_once(',').unwrap();
            out.push_str(&format!("{},{label}\n", root.join(path).display()));
        }
        let p = dir.path().join(name);
        std::fs::write(&p, out).unwrap();
        p
    };
    let predicted = dir.path().join("p.jsonl");
    let run = oml(&[
        "predict",
        "--model",
        s(&model),
        "--queries",
        s(&absolute(&queries, "qa.csv")),
        "--gallery",
        s(&absolute(&gallery, "ga.csv")),
        "--k",
        "4",
        "--out",
        s(&predicted),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (a, b) = (jsonl(&searched), jsonl(&predicted));
    assert_eq!(a.len(), 12);
    for (x, y) in a.iter().zip(&b) {
        let ids: Vec<String> = y["gallery"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let p = PathBuf::from(g.as_str().unwrap());
                p.strip_prefix(&root).unwrap().display().to_string()
            })
            .collect();
        assert_eq!(x["gallery"], serde_json::json!(ids));
        // Labels kept in the index: is_correct as predict computes it from the two lists.
        assert_eq!(x["is_correct"], y["is_correct"]);
        assert!(x["is_correct"].is_array());
        for (d, e) in
            x["distances"].as_array().unwrap().iter().zip(y["distances"].as_array().unwrap())
        {
            assert!((d.as_f64().unwrap() - e.as_f64().unwrap()).abs() < 1e-5, "{d} vs {e}");
        }
    }
    // `oml predict --index` is the same search.
    let via_predict = dir.path().join("v.jsonl");
    let run = oml(&[
        "predict",
        "--model",
        s(&model),
        "--index",
        s(&index),
        "--queries",
        s(&absolute(&queries, "qa.csv")),
        "--k",
        "4",
        "--out",
        s(&via_predict),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let v = jsonl(&via_predict);
    assert_eq!(
        v.iter().map(|r| &r["gallery"]).collect::<Vec<_>>(),
        a.iter().map(|r| &r["gallery"]).collect::<Vec<_>>()
    );

    // Another model's queries: refused, naming both.
    let run = oml(&[
        "index",
        "search",
        "--model",
        "mobilenet_v2_imagenet",
        "--offline",
        "--index",
        s(&index),
        "--queries",
        s(&queries),
        "--root",
        s(&root),
        "--out",
        s(&searched),
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("the index was built by model sha256:")
            && stderr(&run).contains("zoo:mobilenet_v2_imagenet"),
        "{}",
        stderr(&run)
    );
    // A corrupt index file.
    let bytes = std::fs::read(&index).unwrap();
    let broken = dir.path().join("broken.index");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let run = search(&model, &broken);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("broken.index: not an index file"), "{}", stderr(&run));
}
