//! map@R, R-precision and MRR against pytorch-metric-learning 2.8.1's `AccuracyCalculator`:
//! the inputs and PML's values are in `tests/fixtures/pml/pml_metrics.json` (made by
//! `make_metrics.py` beside it), every row both query and gallery or queries apart, Euclidean and
//! cosine, with "lone" queries (no positive) that PML leaves out.
#![allow(clippy::unwrap_used)]

use oml_core::metrics::{MetricsConfig, ScalarMetric, evaluate};
use oml_core::retrieval::{Distance, Embeddings, QueryGallery};
use serde_json::Value;

fn fixture() -> Value {
    let path = format!("{}/../../tests/fixtures/pml/pml_metrics.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect()
}

#[test]
fn ranking_metrics_equal_pml_accuracy_calculator() {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let rows = case["embeddings"].as_array().unwrap();
        let dim = rows[0].as_array().unwrap().len();
        let data: Vec<f32> = rows
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32))
            .collect();
        let labels: Vec<u32> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| u32::try_from(l.as_u64().unwrap()).unwrap())
            .collect();
        let qg = QueryGallery::new(labels, &bools(&case["is_query"]), &bools(&case["is_gallery"]))
            .unwrap();
        let distance: Distance = case["distance"].as_str().unwrap().parse().unwrap();
        let emb = Embeddings::new(&data, rows.len(), dim).unwrap();
        let config = MetricsConfig { ranking: true, distance, ..MetricsConfig::none() };
        let report = evaluate(&emb, &qg, &config).unwrap().report;
        for metric in ScalarMetric::RANKING {
            let want = case["expected"][metric.name()].as_f64().unwrap();
            let got = report.overall.scalar_value(metric).unwrap();
            // PML computes MRR in float32.
            assert!((got - want).abs() < 1e-6, "{name} {}: {got} vs PML {want}", metric.name());
            assert_eq!(report.get(&format!("OVERALL/{}", metric.name())), Some(got));
        }
    }
}

/// A group whose queries all lack positives has no value (NaN, `null` in JSON), as PML's
/// calculator returns.
#[test]
fn only_lone_queries_have_no_value() {
    let data = [0.0f32, 1.0, 2.0, 3.0];
    let qg = QueryGallery::new(vec![0, 1, 2, 3], &[true; 4], &[true; 4]).unwrap();
    let emb = Embeddings::new(&data, 4, 1).unwrap();
    let config = MetricsConfig { ranking: true, ..MetricsConfig::none() };
    let report = evaluate(&emb, &qg, &config).unwrap().report;
    for metric in ScalarMetric::RANKING {
        assert!(report.overall.scalar_value(metric).unwrap().is_nan());
    }
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| u32::try_from(x.as_u64().unwrap()).unwrap()).collect()
}

/// NMI and AMI of a given clustering equal PML's (scikit-learn's formulas), on random,
/// nearly right, many-small-class and over-split clusterings.
#[test]
fn nmi_and_ami_equal_pml_for_a_given_clustering() {
    use oml_core::metrics::clustering::{
        adjusted_mutual_information, normalized_mutual_information,
    };
    let fixture = fixture();
    let cases = fixture["clustering"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let (labels, clusters) = (ids(&case["labels"]), ids(&case["clusters"]));
        let name = case["name"].as_str().unwrap();
        let nmi = normalized_mutual_information(&labels, &clusters);
        let ami = adjusted_mutual_information(&labels, &clusters);
        let (want_nmi, want_ami) = (case["nmi"].as_f64().unwrap(), case["ami"].as_f64().unwrap());
        assert!((nmi - want_nmi).abs() < 1e-10, "{name} nmi {nmi} vs PML {want_nmi}");
        assert!((ami - want_ami).abs() < 1e-10, "{name} ami {ami} vs PML {want_ami}");
    }
}

/// With `clustering` on, k-means finds separated identities: NMI and AMI 1 in OVERALL.
#[test]
fn clustering_metrics_find_separated_identities() {
    let (n_labels, per, dim) = (6usize, 5usize, 4usize);
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for l in 0..n_labels {
        for i in 0..per {
            for d in 0..dim {
                let centre = if d == l % dim { 20.0 } else { 0.0 } + 5.0 * (l / dim) as f32;
                data.push(centre + 0.01 * ((i * 5 + d) % 7) as f32);
            }
            labels.push(l as u32);
        }
    }
    let n = labels.len();
    let qg = QueryGallery::new(labels, &vec![true; n], &vec![true; n]).unwrap();
    let emb = Embeddings::new(&data, n, dim).unwrap();
    let config = MetricsConfig { clustering: true, ..MetricsConfig::none() };
    let report = evaluate(&emb, &qg, &config).unwrap().report;
    for metric in ["OVERALL/nmi", "OVERALL/ami"] {
        let v = report.get(metric).unwrap();
        assert!((v - 1.0).abs() < 1e-9, "{metric} = {v}");
    }
}
