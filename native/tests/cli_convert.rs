//! `oml convert`: the CSVs it writes load as datasets, with class-disjoint splits and the
//! roles each source promises.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use oml_core::dataset::{Split, read_dataset};

fn png() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images/tiny/coffee.png")
}

fn oml(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_oml")).args(args).output().unwrap()
}

fn load(csv: &Path) -> oml_core::dataset::Dataset {
    let dataset = read_dataset(std::fs::File::open(csv).unwrap(), "converted").unwrap();
    let root = csv.parent().unwrap();
    oml_core::dataset::check_paths_exist(&dataset, root, Path::is_file).unwrap();
    dataset
}

fn labels_of(dataset: &oml_core::dataset::Dataset, split: Split) -> HashSet<i64> {
    dataset.records().iter().filter(|r| r.split == split).map(|r| r.label).collect()
}

#[test]
fn a_folder_of_label_folders_becomes_a_class_disjoint_dataset() {
    let dir = tempfile::tempdir().unwrap();
    for label in ["ant", "bee", "cat", "dog", "eel"] {
        std::fs::create_dir_all(dir.path().join(label)).unwrap();
        for i in 0..3 {
            std::fs::copy(png(), dir.path().join(label).join(format!("{i}.png"))).unwrap();
        }
    }
    let csv = dir.path().join("dataset.csv");
    let root = dir.path().to_str().unwrap();
    let out = oml(&[
        "convert",
        "folder",
        "--root",
        root,
        "--out",
        csv.to_str().unwrap(),
        "--val-fraction",
        "0.4",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dataset = load(&csv);
    assert_eq!(dataset.records().len(), 15);
    let (train, valid) =
        (labels_of(&dataset, Split::Train), labels_of(&dataset, Split::Validation));
    assert_eq!((train.len(), valid.len()), (3, 2));
    assert!(train.is_disjoint(&valid));
    assert!(
        dataset
            .records()
            .iter()
            .filter(|r| r.split == Split::Validation)
            .all(|r| r.is_query && r.is_gallery)
    );
    assert!(
        dataset.records().iter().all(|r| !r.path.starts_with('/')),
        "paths relative to the CSV"
    );
}

#[test]
fn the_emoji_packages_become_google_queries_against_twitter() {
    let dir = tempfile::tempdir().unwrap();
    let (google, twitter) = (dir.path().join("g"), dir.path().join("t"));
    let names: Vec<String> = (0..6).map(|i| format!("1f60{i}.png")).collect();
    let entries: Vec<String> = names
        .iter()
        .map(|n| format!(r#"{{"image":"{n}","category":"Smileys","has_img_google":true,"has_img_twitter":true}}"#))
        .collect();
    std::fs::create_dir_all(google.join("img/google/64")).unwrap();
    std::fs::create_dir_all(twitter.join("img/twitter/64")).unwrap();
    std::fs::write(google.join("emoji.json"), format!("[{}]", entries.join(","))).unwrap();
    for n in &names {
        std::fs::copy(png(), google.join("img/google/64").join(n)).unwrap();
        std::fs::copy(png(), twitter.join("img/twitter/64").join(n)).unwrap();
    }
    let out_dir = dir.path().join("out");
    let out = oml(&[
        "convert",
        "emoji",
        "--google",
        google.to_str().unwrap(),
        "--twitter",
        twitter.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--val-fraction",
        "0.5",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dataset = load(&out_dir.join("dataset.csv"));
    assert_eq!(dataset.records().len(), 12);
    let (train, valid) =
        (labels_of(&dataset, Split::Train), labels_of(&dataset, Split::Validation));
    assert_eq!((train.len(), valid.len()), (3, 3));
    assert!(train.is_disjoint(&valid));
    for r in dataset.records().iter().filter(|r| r.split == Split::Validation) {
        let google = r.path.starts_with("images/google/");
        assert_eq!((r.is_query, r.is_gallery), (google, !google), "{}", r.path);
    }
    // Not the package folder: a clear error.
    let out = oml(&[
        "convert",
        "emoji",
        "--google",
        dir.path().to_str().unwrap(),
        "--twitter",
        twitter.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("emoji.json"));
}
