//! `oml convert`: the CSVs it writes load as datasets, with class-disjoint splits and the
//! roles each source promises.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use oml_core::dataset::{Split, read_dataset};

fn png() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("../tests/fixtures/images/tiny/coffee.png")
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
    // Every emoji has two skin-tone variants drawn by both vendors, and one Twitter lacks.
    let tone = |n: &str, t: &str, twitter: bool| {
        let image = n.replace(".png", &format!("-{t}.png"));
        format!(r#""{t}":{{"image":"{image}","has_img_google":true,"has_img_twitter":{twitter}}}"#)
    };
    let entries: Vec<String> = names
        .iter()
        .map(|n| {
            let tones =
                [tone(n, "1f3fb", true), tone(n, "1f3fc", true), tone(n, "1f3fd", false)];
            format!(
                r#"{{"image":"{n}","category":"Smileys","has_img_google":true,"has_img_twitter":true,"skin_variations":{{{}}}}}"#,
                tones.join(",")
            )
        })
        .collect();
    std::fs::create_dir_all(google.join("img/google/64")).unwrap();
    std::fs::create_dir_all(twitter.join("img/twitter/64")).unwrap();
    std::fs::write(google.join("emoji.json"), format!("[{}]", entries.join(","))).unwrap();
    for n in names.iter().flat_map(|n| {
        let variants = ["1f3fb", "1f3fc", "1f3fd"].map(|t| n.replace(".png", &format!("-{t}.png")));
        std::iter::once(n.clone()).chain(variants)
    }) {
        std::fs::copy(png(), google.join("img/google/64").join(&n)).unwrap();
        std::fs::copy(png(), twitter.join("img/twitter/64").join(n)).unwrap();
    }
    let convert = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "convert",
            "emoji",
            "--google",
            google.to_str().unwrap(),
            "--twitter",
            twitter.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--val-fraction",
            "0.5",
        ];
        args.extend(extra);
        oml(&args)
    };
    let out_dir = dir.path().join("out");
    let out = convert(&out_dir, &[]);
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
    // With --skin-tones the training emoji gain their two variants both vendors draw, with
    // their label; the validation split is the same as without.
    let tones_dir = dir.path().join("tones");
    let out = convert(&tones_dir, &["--skin-tones"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tones = load(&tones_dir.join("dataset.csv"));
    assert_eq!(tones.records().len(), 12 + 3 * 2 * 2);
    let rows = |d: &oml_core::dataset::Dataset, split: Split| -> Vec<(i64, String)> {
        let mut v: Vec<_> = d
            .records()
            .iter()
            .filter(|r| r.split == split)
            .map(|r| (r.label, r.path.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(rows(&tones, Split::Validation), rows(&dataset, Split::Validation));
    for (label, path) in rows(&tones, Split::Train).iter().filter(|(_, p)| p.contains('-')) {
        let base = path.split('-').next().unwrap().to_owned() + ".png";
        let own = rows(&dataset, Split::Train).into_iter().find(|(_, p)| *p == base);
        assert_eq!(own.map(|(l, _)| l), Some(*label), "{path} keeps the label of {base}");
        assert!(!path.contains("1f3fd"), "{path}: Twitter has no drawing of it");
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

/// Writes a gzipped IDX file: big-endian magic and sizes, then the bytes.
fn idx(path: &Path, magic: u32, dims: &[u32], data: &[u8]) {
    use std::io::Write;
    let mut raw = magic.to_be_bytes().to_vec();
    for d in dims {
        raw.extend_from_slice(&d.to_be_bytes());
    }
    raw.extend_from_slice(data);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

#[test]
fn fashion_mnist_idx_files_become_pngs_with_either_protocol() {
    let dir = tempfile::tempdir().unwrap();
    // 20 training and 10 test images of 4 x 3 pixels, labels cycling through the 10 classes.
    for (part, n) in [("train", 20u32), ("t10k", 10)] {
        let pixels: Vec<u8> = (0..n * 12).map(|i| (i % 251) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        idx(&dir.path().join(format!("{part}-images-idx3-ubyte.gz")), 0x803, &[n, 3, 4], &pixels);
        idx(&dir.path().join(format!("{part}-labels-idx1-ubyte.gz")), 0x801, &[n], &labels);
    }
    let src = dir.path().to_str().unwrap();
    let official = dir.path().join("official");
    let out = oml(&["convert", "fashion-mnist", "--dir", src, "--out", official.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dataset = load(&official.join("dataset.csv"));
    assert_eq!(dataset.records().len(), 30);
    assert_eq!(dataset.records().iter().filter(|r| r.split == Split::Validation).count(), 10);
    let image = image::open(official.join("images/train/1.png")).unwrap().to_luma8();
    assert_eq!(image.dimensions(), (4, 3));
    assert_eq!(image.as_raw()[..], (12..24).map(|i| i as u8).collect::<Vec<_>>()[..]);

    let disjoint = dir.path().join("disjoint");
    let out = oml(&[
        "convert",
        "fashion-mnist",
        "--dir",
        src,
        "--out",
        disjoint.to_str().unwrap(),
        "--class-disjoint",
        "3",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dataset = load(&disjoint.join("dataset.csv"));
    let (train, valid) =
        (labels_of(&dataset, Split::Train), labels_of(&dataset, Split::Validation));
    assert_eq!((train.len(), valid.len()), (7, 3));
    assert!(train.is_disjoint(&valid));

    // A label file that is not one.
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), b"nope").unwrap();
    let out = oml(&["convert", "fashion-mnist", "--dir", src, "--out", official.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("t10k-labels-idx1-ubyte.gz"));
}
