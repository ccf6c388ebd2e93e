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
