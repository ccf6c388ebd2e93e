//! Every case of OML 4.0.0's reference outputs (fixtures/oml-metrics) through our retrieval
//! and metrics. Values must agree within 1e-5, except where OML is undefined and we chose:
//! * ties: we order tied items by gallery index; OML by whatever `torch.topk` did. The fixture's
//!   `tie_analysis` re-ranks OML's own retrieval by (distance, gallery index) and feeds it to
//!   OML's own metric code: that is what we must match for the tied queries;
//! * precision@k of a query without positives that retrieves something: OML gives NaN (and a NaN
//!   mean); we give 0 (see `oml_core::metrics::formulas::precision_at_k`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_cmp)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use oml_core::metrics::{MetricsConfig, RetrievalMetric, evaluate};
use oml_core::retrieval::{Distance, Embeddings, QueryGallery};
use serde_json::Value;

const TOL: f64 = 1e-5;

const CASES: [&str; 11] = [
    "hand_small",
    "no_positives",
    "nothing_retrievable",
    "overlap_all",
    "overlap_partial",
    "random_small",
    "sequence",
    "ties",
    "duplicates",
    "k_exceeds_gallery",
    "categories",
];

fn fixture(case: &str) -> Value {
    let path = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join(format!("fixtures/oml-metrics/{case}.oml.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A JSON scalar as the string OML would use for it (categories and sequences may be ints).
fn as_key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| usize::try_from(x.as_u64().unwrap()).unwrap()).collect()
}

struct Case {
    name: &'static str,
    json: Value,
    data: Vec<f32>,
    rows: usize,
    dim: usize,
    qg: QueryGallery,
    config: MetricsConfig,
}

fn load(name: &'static str) -> Case {
    let json = fixture(name);
    let inputs = &json["inputs"];
    let emb_rows = inputs["embeddings"].as_array().unwrap();
    let (rows, dim) = (emb_rows.len(), emb_rows[0].as_array().unwrap().len());
    let data: Vec<f32> =
        emb_rows.iter().flat_map(|r| f64s(r).into_iter().map(|v| v as f32)).collect();
    let labels: Vec<u32> = inputs["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| u32::try_from(l.as_i64().unwrap()).unwrap())
        .collect();
    let flags = |key: &str| -> Vec<bool> {
        inputs[key].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect()
    };
    let mut qg = QueryGallery::new(labels, &flags("is_query"), &flags("is_gallery")).unwrap();
    if let Some(seq) = inputs.get("sequence") {
        let seq: Vec<Option<String>> = seq.as_array().unwrap().iter().map(as_key).collect();
        qg = qg.with_sequences(&seq).unwrap();
    }
    if let Some(cat) = inputs.get("category") {
        let cat: Vec<Option<String>> = cat.as_array().unwrap().iter().map(as_key).collect();
        qg = qg.with_categories(&cat).unwrap();
    }
    let params = &json["params"];
    let config = MetricsConfig {
        cmc_top_k: usizes(&params["cmc_top_k"]),
        precision_top_k: usizes(&params["precision_top_k"]),
        map_top_k: usizes(&params["map_top_k"]),
        ndcg_top_k: usizes(&params["map_top_k"]),
        fmr_vals: f64s(&params["fmr_vals"]),
        pcf_variance: f64s(&params["pcf_variance"]),
        // Not in OML: computed so that its edge cases (sequences, ties, no positives) run too.
        ranking: true,
        clustering: false,
        distance: Distance::Euclidean,
    };
    Case { name, json, data, rows, dim, qg, config }
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= TOL * want.abs().max(1.0)
}

/// OML's per-query values with our documented choices applied: tie-broken values for tied
/// queries, 0 for NaN precision. Returns (values, whether anything was substituted).
fn expected_per_query(case: &Case, metric: &str, k: usize) -> (Vec<f64>, Vec<bool>) {
    let pq = &case.json["per_query"];
    let mut values = f64s(&pq[metric][k.to_string()]);
    let mut changed = vec![false; values.len()];
    let ties = &case.json["tie_analysis"];
    if let Some(tied) = ties.get("queries").and_then(Value::as_array).filter(|t| !t.is_empty()) {
        let tie_values = f64s(&ties["per_query_tiebreak_index"][metric][k.to_string()]);
        for (slot, q) in tied.iter().enumerate() {
            let q = usize::try_from(q.as_u64().unwrap()).unwrap();
            let same = close(values[q], tie_values[slot])
                || (values[q].is_nan() && tie_values[slot].is_nan());
            if !same {
                changed[q] = true;
            }
            values[q] = tie_values[slot];
        }
    }
    let n_gt = usizes(&pq["n_gt"]);
    for (q, v) in values.iter_mut().enumerate() {
        if v.is_nan() {
            assert_eq!(metric, "precision", "{}: only precision may be NaN in OML", case.name);
            assert_eq!(n_gt[q], 0, "{}: OML's NaN precision comes from n_gt == 0", case.name);
            *v = 0.0;
            changed[q] = true;
        }
    }
    (values, changed)
}

#[test]
fn every_reference_case_matches_oml() {
    for name in CASES {
        let case = load(name);
        let emb = Embeddings::new(&case.data, case.rows, case.dim).unwrap();
        let eval = evaluate(&emb, &case.qg, &case.config).unwrap();
        let pq = &case.json["per_query"];
        let tied: Vec<usize> =
            case.json["tie_analysis"].get("queries").map(usizes).unwrap_or_default();

        // Retrieval: ground truth, ids (tie-broken by index where OML's order is arbitrary), distances.
        let n_gt = usizes(&pq["n_gt"]);
        for q in 0..eval.results.n_queries() {
            let ours = eval.results.query(q);
            let gt = usizes(&pq["gt_ids"][q]);
            assert_eq!(
                ours.gt.iter().map(|&g| g as usize).collect::<Vec<_>>(),
                gt,
                "{name} q{q} gt"
            );
            assert_eq!(ours.gt.len(), n_gt[q]);
            let want_ids = match tied.iter().position(|&t| t == q) {
                Some(slot) => {
                    usizes(&case.json["tie_analysis"]["retrieved_ids_tiebreak_index"][slot])
                }
                None => usizes(&pq["retrieved_ids"][q]),
            };
            let n = ours.retrieved.len();
            assert_eq!(n, want_ids.len().min(case.config.max_k()), "{name} q{q} count");
            let ids: Vec<usize> = ours.retrieved.iter().map(|&g| g as usize).collect();
            assert_eq!(ids, want_ids[..n], "{name} q{q} ids");
            for (i, &d) in ours.distances.iter().enumerate() {
                let want = pq["distances"][q][i].as_f64().unwrap();
                assert!(close(f64::from(d), want), "{name} q{q} distance {i}: {d} vs {want}");
            }
        }

        // Per-query and reduced metrics.
        let metrics = [
            ("cmc", RetrievalMetric::Cmc),
            ("precision", RetrievalMetric::Precision),
            ("map", RetrievalMetric::Map),
        ];
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        groups.insert("OVERALL".into(), (0..n_gt.len()).collect());
        if let Some(cats) = case.json["inputs"].get("category") {
            let query_ids = usizes(&pq["query_ids"]);
            for (q, &row) in query_ids.iter().enumerate() {
                groups.entry(as_key(&cats[row]).unwrap()).or_default().push(q);
            }
        }
        for (metric_name, metric) in metrics {
            for &k in &case.config.cmc_top_k {
                let (want, changed) = expected_per_query(&case, metric_name, k);
                let got = eval.per_query.get(metric, k).unwrap();
                for q in 0..want.len() {
                    assert!(
                        close(got[q], want[q]),
                        "{name} {metric_name}@{k} q{q}: {} vs {}",
                        got[q],
                        want[q]
                    );
                }
                for (group, queries) in &groups {
                    let ours = eval.report.get(&format!("{group}/{metric_name}/{k}")).unwrap();
                    let oml = case.json["metrics"][group][metric_name][k.to_string()]
                        .as_f64()
                        .unwrap_or(f64::NAN);
                    let any_changed = queries.iter().any(|&q| changed[q]);
                    let want = if any_changed {
                        queries.iter().map(|&q| want[q]).sum::<f64>() / queries.len() as f64
                    } else {
                        oml
                    };
                    assert!(
                        close(ours, want),
                        "{name} {group}/{metric_name}/{k}: {ours} vs {want} (OML {oml})"
                    );
                }
            }
        }

        // Topological and pair metrics.
        for group in groups.keys() {
            for (key, want) in case.json["metrics"][group]["pcf"].as_object().unwrap() {
                let ours = eval.report.get(&format!("{group}/pcf/{key}")).unwrap();
                assert!(
                    close(ours, want.as_f64().unwrap()),
                    "{name} {group}/pcf/{key}: {ours} vs {want}"
                );
            }
        }
        for (key, want) in case.json["metrics"]["OVERALL"]["fnmr@fmr"].as_object().unwrap() {
            let ours = eval.report.get(&format!("OVERALL/fnmr@fmr/{key}")).unwrap();
            assert!(close(ours, want.as_f64().unwrap()), "{name} fnmr@fmr/{key}: {ours} vs {want}");
        }
    }
}

/// The documented tie rule, checked against both extremes OML could produce.
#[test]
fn ties_are_broken_by_gallery_index_between_oml_extremes() {
    let case = load("ties");
    let emb = Embeddings::new(&case.data, case.rows, case.dim).unwrap();
    let eval = evaluate(&emb, &case.qg, &case.config).unwrap();
    let ties = &case.json["tie_analysis"];
    for k in [1, 5, 10] {
        let ours = eval.report.get(&format!("OVERALL/map/{k}")).unwrap();
        let best = ties["metrics_tiebreak_relevant_first"]["OVERALL"]["map"][k.to_string()]
            .as_f64()
            .unwrap();
        let worst = ties["metrics_tiebreak_relevant_last"]["OVERALL"]["map"][k.to_string()]
            .as_f64()
            .unwrap();
        assert!(
            worst - TOL <= ours && ours <= best + TOL,
            "map@{k} {ours} outside [{worst}, {best}]"
        );
    }
    // Query 0's gallery items at equal distance come out in index order.
    let q0 = eval.results.query(0);
    for w in q0.distances.windows(2).zip(q0.retrieved.windows(2)) {
        if w.0[0] == w.0[1] {
            assert!(w.1[0] < w.1[1], "tied items out of index order: {:?}", q0.retrieved);
        }
    }
}

/// OML's NaN precision case, with our chosen value spelled out.
#[test]
fn precision_without_positives_is_zero_not_nan() {
    let case = load("no_positives");
    let emb = Embeddings::new(&case.data, case.rows, case.dim).unwrap();
    let eval = evaluate(&emb, &case.qg, &case.config).unwrap();
    let oml = case.json["metrics"]["OVERALL"]["precision"]["5"].clone();
    assert!(oml.is_null(), "the fixture documents OML's NaN");
    let per_query = eval.per_query.get(RetrievalMetric::Precision, 5).unwrap();
    let n_gt: Vec<usize> = eval.results.iter().map(|q| q.gt.len()).collect();
    for (q, (&v, &n)) in per_query.iter().zip(&n_gt).enumerate() {
        if n == 0 && !eval.results.query(q).retrieved.is_empty() {
            assert_eq!(v, 0.0, "query {q}");
        }
    }
    assert!(eval.report.get("OVERALL/precision/5").unwrap().is_finite());
}

/// OML crashes with exactly one query (`.squeeze()` makes the ids 0-d); we do not.
#[test]
fn a_single_query_works() {
    let data = [0.0f32, 0.0, 1.0, 0.0, 5.0, 0.0];
    let emb = Embeddings::new(&data, 3, 2).unwrap();
    let qg = QueryGallery::new(vec![0, 0, 1], &[true, false, false], &[false, true, true]).unwrap();
    let eval = evaluate(&emb, &qg, &MetricsConfig::default()).unwrap();
    assert_eq!(eval.results.query(0).retrieved, &[0, 1]);
    assert_eq!(eval.report.get("OVERALL/cmc/1"), Some(1.0));
    assert_eq!(eval.report.get("OVERALL/map/5"), Some(1.0));
}

#[test]
fn cases_cover_every_fixture() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("fixtures/oml-metrics");
    let manifest: HashMap<String, Value> =
        serde_json::from_str::<Value>(&std::fs::read_to_string(dir.join("MANIFEST.json")).unwrap())
            .unwrap()["cases"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    let mut names: Vec<&String> = manifest.keys().collect();
    names.sort();
    let mut ours: Vec<&str> = CASES.to_vec();
    ours.sort_unstable();
    assert_eq!(names, ours);
}
