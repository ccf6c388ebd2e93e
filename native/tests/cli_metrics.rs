//! `oml metrics` end to end: the real binary on the bundled example (against OML's own values)
//! and on bad input (exit code 2 and a message that says what and where).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default()).join("..")
}

fn oml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oml")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes a float32 .npy (format 1.0) of the given shape.
fn write_npy(path: &Path, shape: &[usize], values: &[f32]) {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape =
        if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    header.push_str(&" ".repeat(64 - (10 + header.len() + 1) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

fn example() -> (String, String) {
    let dir = repo().join("data/example");
    (
        dir.join("embeddings.npy").display().to_string(),
        dir.join("dataset.csv").display().to_string(),
    )
}

fn run_json(extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    let mut args = vec!["metrics", "--json", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = oml(&args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn example_reproduces_oml() {
    let (emb, csv) = example();
    let ours = run_json(&[
        "--embeddings",
        &emb,
        "--dataset",
        &csv,
        "--fmr",
        "0.001,0.01,0.1,0.5",
        "--pcf",
        "0.5,0.9,0.99",
    ]);
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/oml-metrics/random_small.oml.json"))
            .unwrap(),
    )
    .unwrap();
    // make_example.py names OML's categories 0, 1, 2 as shoes, bags, hats.
    for (oml_group, our_group) in
        [("OVERALL", "OVERALL"), ("0", "shoes"), ("1", "bags"), ("2", "hats")]
    {
        let want = &fixture["metrics"][oml_group];
        for (metric, values) in want.as_object().unwrap() {
            for (key, v) in values.as_object().unwrap() {
                let got = ours[our_group][metric][key].as_f64().unwrap();
                let v = v.as_f64().unwrap();
                assert!((got - v).abs() < 1e-5, "{our_group}/{metric}/{key}: {got} vs OML {v}");
            }
        }
        assert!(ours[our_group]["ndcg"]["5"].is_f64(), "ndcg is reported too");
    }
    assert!(ours["shoes"].get("fnmr@fmr").is_none(), "fnmr@fmr is OVERALL only, as in OML");
}

/// map@r, r_precision and mrr (their values are checked against PML in oml-core's
/// metrics_pml test) sit beside cmc in every group, and `--no-ranking` leaves them out.
#[test]
fn ranking_metrics_are_in_every_group() {
    let (emb, csv) = example();
    let ours = run_json(&["--embeddings", &emb, "--dataset", &csv, "--no-fmr"]);
    for group in ["OVERALL", "shoes", "bags", "hats"] {
        for metric in ["map@r", "r_precision", "mrr"] {
            let v = ours[group][metric].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{group}/{metric} = {v}");
        }
        // MRR averages 1/rank over queries with a positive; cmc@1 also counts the others as 0.
        assert!(ours[group]["mrr"].as_f64() >= ours[group]["cmc"]["1"].as_f64(), "{group}");
    }
    let without = run_json(&["--embeddings", &emb, "--dataset", &csv, "--no-ranking"]);
    assert!(without["OVERALL"].get("map@r").is_none() && without["OVERALL"]["cmc"].is_object());
    assert!(ours["OVERALL"].get("nmi").is_none(), "clustering is asked for");
    let clustered = run_json(&["--embeddings", &emb, "--dataset", &csv, "--clustering"]);
    for metric in ["nmi", "ami"] {
        let v = clustered["OVERALL"][metric].as_f64().unwrap();
        assert!(v.is_finite() && v <= 1.0, "{metric} = {v}");
        assert!(clustered["shoes"].get(metric).is_none(), "{metric} is OVERALL only");
    }
}

#[test]
fn prints_a_table() {
    let (emb, csv) = example();
    let output = oml(&["metrics", "--embeddings", &emb, "--dataset", &csv, "--k", "1,3"]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    assert!(stdout.contains("203 queries x 223 gallery items"), "{stdout}");
    assert!(
        stdout.contains("OVERALL (203 queries)") && stdout.contains("hats (76 queries)"),
        "{stdout}"
    );
    assert!(stdout.contains("      3 "), "a row per k: {stdout}");
    assert!(stdout.contains("fnmr@fmr  0.001: "), "fnmr@fmr is on by default: {stdout}");
    assert!(stdout.contains("  map@r 0.") && stdout.contains("  mrr 0."), "{stdout}");
    let quiet = oml(&["metrics", "--embeddings", &emb, "--dataset", &csv, "--no-fmr"]);
    assert!(quiet.status.success() && !text(&quiet.stdout).contains("fnmr@fmr"));
}

#[test]
fn safetensors_input_equals_npy_input() {
    let (emb, csv) = example();
    let npy = run_json(&["--embeddings", &emb, "--dataset", &csv, "--distance", "cosine"]);
    let bytes = std::fs::read(&emb).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let data = &bytes[10 + header_len..];
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("e.safetensors");
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![300, 16], data).unwrap();
    safetensors::serialize_to_file([("embeddings", view)], None, &st).unwrap();
    let from_st = run_json(&[
        "--embeddings",
        st.to_str().unwrap(),
        "--dataset",
        &csv,
        "--distance",
        "cosine",
    ]);
    assert_eq!(npy, from_st);
}

/// Runs and expects exit code 2 with every `needle` in stderr.
fn expect_bad_input(args: &[&str], needles: &[&str]) {
    let output = oml(args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}: {stderr}");
    }
}

#[test]
fn row_count_mismatch_is_rejected() {
    let (_, csv) = example();
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("e.npy");
    write_npy(&e, &[299, 16], &vec![0.5; 299 * 16]);
    expect_bad_input(
        &["metrics", "--embeddings", e.to_str().unwrap(), "--dataset", &csv],
        &["299 rows", "300 data rows"],
    );
}

#[test]
fn wrong_shape_is_rejected() {
    let (_, csv) = example();
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("e.npy");
    write_npy(&e, &[300], &[0.5; 300]);
    expect_bad_input(
        &["metrics", "--embeddings", e.to_str().unwrap(), "--dataset", &csv],
        &["e.npy", "2-D"],
    );
}

#[test]
fn non_finite_embeddings_are_rejected_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    std::fs::write(
        &csv,
        "label,path,split,is_query,is_gallery\n0,a,train,,\n0,b,validation,True,True\n0,c,validation,True,True\n1,d,validation,False,True\n",
    )
    .unwrap();
    let e = dir.path().join("e.npy");
    // A NaN in the train row is ignored (only validation rows are used) ...
    write_npy(&e, &[4, 2], &[f32::NAN, 0.0, 1.0, 0.0, 0.0, 1.0, 5.0, 5.0]);
    let output =
        oml(&["metrics", "--embeddings", e.to_str().unwrap(), "--dataset", csv.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    // ... one in a validation row is not.
    write_npy(&e, &[4, 2], &[0.0, 0.0, 1.0, 0.0, 0.0, f32::INFINITY, 5.0, 5.0]);
    expect_bad_input(
        &["metrics", "--embeddings", e.to_str().unwrap(), "--dataset", csv.to_str().unwrap()],
        &["row 2 (CSV line 4), column 1 is inf"],
    );
}

#[test]
fn bad_csv_is_rejected_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    std::fs::write(&csv, "label,path,split,is_query,is_gallery\n0,a,validation,True,True\nzero,b,validation,True,True\n").unwrap();
    let e = dir.path().join("e.npy");
    write_npy(&e, &[2, 2], &[0.0; 4]);
    expect_bad_input(
        &["metrics", "--embeddings", e.to_str().unwrap(), "--dataset", csv.to_str().unwrap()],
        &["d.csv:3: column `label`: expected an integer, found \"zero\""],
    );
}

#[test]
fn bad_options_are_rejected() {
    let (emb, csv) = example();
    expect_bad_input(
        &["metrics", "--embeddings", &emb, "--dataset", &csv, "--fmr", "1.5"],
        &["fmr", "[0, 1]"],
    );
    expect_bad_input(
        &["metrics", "--embeddings", &emb, "--dataset", &csv, "--k", "0"],
        &["k must be at least 1"],
    );
    expect_bad_input(
        &["metrics", "--embeddings", &emb, "--dataset", &csv, "--distance", "manhattan"],
        &["manhattan"],
    );
    expect_bad_input(
        &["metrics", "--embeddings", "missing.npy", "--dataset", &csv],
        &["missing.npy"],
    );
    expect_bad_input(
        &["metrics", "--embeddings", &emb, "--dataset", "missing.csv"],
        &["missing.csv"],
    );
}
