//! What the page shows about a labelled gallery: the metrics `oml metrics` computes (same
//! defaults), the CMC curve, positive and negative distance histograms, and each query's
//! results for the worst-queries list. Pure Rust over `oml-core`; the bindings are in lib.rs.

use oml_core::dataset::Dataset;
use oml_core::metrics::{
    DistanceHistogram, MetricsConfig, RetrievalMetric, cmc_curve, distance_histogram, evaluate,
    worst_queries,
};
use oml_core::retrieval::{Distance, Embeddings, QueryGallery, retrieve};
use serde::Serialize;

/// Why the page cannot compute metrics; shown to the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error("no validation rows have an embedded image")]
    NothingToEvaluate,
    #[error("{0}")]
    Retrieval(#[from] oml_core::retrieval::RetrievalError),
    #[error("{0}")]
    Metrics(#[from] oml_core::metrics::MetricsError),
    #[error("{got} embedding values for {rows} rows of {dim}")]
    Shape { got: usize, rows: usize, dim: usize },
}

/// `oml metrics`' defaults: cmc, precision, map, ndcg at 1, 5, 10; fnmr@fmr at 0.001, 0.01,
/// 0.1; pcf at 0.5; Euclidean distance.
pub fn page_metrics_config() -> MetricsConfig {
    MetricsConfig { fmr_vals: vec![0.001, 0.01, 0.1], ..MetricsConfig::default() }
}

/// Longest CMC curve drawn.
const CURVE_K: usize = 50;
/// Histogram bins.
const BINS: usize = 30;
/// Results kept per query for the worst-queries view.
const SHOWN: usize = 5;

/// One query's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct QueryOutcome {
    /// Dataset row of the query.
    pub row: usize,
    /// Dataset rows of its nearest gallery items and their distances and correctness.
    pub results: Vec<(usize, f32, bool)>,
    /// map@5 of the query (what "worst" sorts by, then cmc@1).
    pub map5: f64,
    pub cmc1: f64,
    pub n_positives: usize,
}

/// Everything [`analyse`] computes.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// OML-shaped: `{"OVERALL": {"cmc": {"1": ...}, ...}, "<category>": {...}}`.
    pub metrics: serde_json::Value,
    /// `cmc[k - 1]` for k = 1..=min(50, gallery size).
    pub cmc_curve: Vec<f64>,
    pub histogram: Histogram,
    /// Queries, worst first.
    pub queries: Vec<QueryOutcome>,
    pub n_queries: usize,
    pub n_gallery: usize,
    /// Validation rows left out because their image is missing or was skipped.
    pub missing_rows: Vec<usize>,
}

/// Counts of query-gallery distances of positive and negative pairs in equal-width bins.
pub type Histogram = DistanceHistogram;

/// Metrics and plots of the validation rows of `dataset` whose images were embedded.
///
/// # Shapes
/// `embeddings`: one row of `dim` per dataset row (`dataset.records().len() × dim`); rows with
/// `present[r] == false` are ignored (their values can be anything finite, e.g. zeros).
pub fn analyse(
    dataset: &Dataset,
    embeddings: &[f32],
    dim: usize,
    present: &[bool],
) -> Result<Analysis, AnalysisError> {
    let n = dataset.records().len();
    if dim == 0 || embeddings.len() != n * dim || present.len() != n {
        return Err(AnalysisError::Shape { got: embeddings.len(), rows: n, dim });
    }
    let validation = dataset.validation_rows();
    let (rows, missing_rows): (Vec<usize>, Vec<usize>) =
        validation.iter().partition(|&&r| present[r]);
    if rows.is_empty() {
        return Err(AnalysisError::NothingToEvaluate);
    }
    let data = Embeddings::new(embeddings, n, dim)?.select(&rows);
    let emb = Embeddings::new(&data, rows.len(), dim)?;
    let qg = QueryGallery::from_dataset(dataset, &rows)?;
    let config = page_metrics_config();
    let evaluation = evaluate(&emb, &qg, &config)?;
    let metrics = serde_json::to_value(&evaluation.report).unwrap_or(serde_json::Value::Null);

    let curve_k = CURVE_K.min(qg.gallery_rows().len()).max(1);
    let long = retrieve(&emb, &qg, curve_k, Distance::Euclidean)?;
    let cmc_curve = cmc_curve(&long, curve_k);

    let map5 = evaluation.per_query.get(RetrievalMetric::Map, 5).unwrap_or(&[]);
    let cmc1 = evaluation.per_query.get(RetrievalMetric::Cmc, 1).unwrap_or(&[]);
    let gallery = qg.gallery_rows();
    let queries: Vec<QueryOutcome> = qg
        .query_rows()
        .iter()
        .enumerate()
        .map(|(q, &qrow)| {
            let r = long.query(q);
            let correct = r.is_correct();
            QueryOutcome {
                row: rows[qrow as usize],
                results: r
                    .retrieved
                    .iter()
                    .zip(r.distances)
                    .zip(&correct)
                    .take(SHOWN)
                    .map(|((&g, &d), &c)| (rows[gallery[g as usize] as usize], d, c))
                    .collect(),
                map5: map5.get(q).copied().unwrap_or(f64::NAN),
                cmc1: cmc1.get(q).copied().unwrap_or(f64::NAN),
                n_positives: r.gt.len(),
            }
        })
        .collect();
    let (map5, cmc1): (Vec<f64>, Vec<f64>) = queries.iter().map(|q| (q.map5, q.cmc1)).unzip();
    let mut queries: Vec<Option<QueryOutcome>> = queries.into_iter().map(Some).collect();
    let queries: Vec<QueryOutcome> = worst_queries(&map5, Some(&cmc1), queries.len())
        .into_iter()
        .filter_map(|q| queries[q].take())
        .collect();

    Ok(Analysis {
        metrics,
        cmc_curve,
        // At most 1,000 queries, so the cost stays bounded.
        histogram: distance_histogram(&emb, &qg, Distance::Euclidean, BINS, 1000),
        n_queries: qg.query_rows().len(),
        n_gallery: gallery.len(),
        queries,
        missing_rows,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 3 identities, each with a query and a gallery row, plus a train row.
    const CSV: &str = "label,path,split,is_query,is_gallery\n\
        9,t.png,train,,\n\
        0,q0.png,validation,True,False\n\
        0,g0.png,validation,False,True\n\
        1,q1.png,validation,True,False\n\
        1,g1.png,validation,False,True\n\
        2,q2.png,validation,True,False\n\
        2,g2.png,validation,False,True\n";

    fn dataset() -> Dataset {
        oml_core::dataset::read_dataset(CSV.as_bytes(), "t.csv").unwrap()
    }

    /// 1-d embeddings: q0 0.0, g0 0.1, q1 1.0, g1 1.9, q2 2.0, g2 1.05 (so q1's nearest
    /// is g2, a miss; q2's nearest is g1, a miss).
    fn embeddings() -> Vec<f32> {
        vec![7.0, 0.0, 0.1, 1.0, 1.9, 2.0, 1.05]
    }

    #[test]
    fn metrics_equal_oml_core_on_the_validation_rows() {
        let a = analyse(&dataset(), &embeddings(), 1, &[true; 7]).unwrap();
        let rows = [1, 2, 3, 4, 5, 6];
        let data: Vec<f32> = rows.iter().map(|&r| embeddings()[r]).collect();
        let qg = QueryGallery::from_dataset(&dataset(), &rows).unwrap();
        let want = evaluate(&Embeddings::new(&data, 6, 1).unwrap(), &qg, &page_metrics_config())
            .unwrap()
            .report;
        assert_eq!(a.metrics, serde_json::to_value(&want).unwrap());
        assert!((a.metrics["OVERALL"]["cmc"]["1"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!((a.n_queries, a.n_gallery), (3, 3));
        assert_eq!(a.cmc_curve.len(), 3);
        assert!((a.cmc_curve[0] - 1.0 / 3.0).abs() < 1e-9 && (a.cmc_curve[2] - 1.0).abs() < 1e-9);
        // 3 queries x 3 gallery items: 3 positive pairs, 6 negative.
        assert_eq!(a.histogram.positive.iter().sum::<u64>(), 3);
        assert_eq!(a.histogram.negative.iter().sum::<u64>(), 6);
        // Worst first: the two misses (map@5 = 1/2), then q0 (1).
        assert_eq!(a.queries.iter().map(|q| q.row).collect::<Vec<_>>()[2], 1);
        assert_eq!(a.queries[2].results[0], (2, 0.1, true));
    }

    #[test]
    fn rows_without_an_image_are_left_out_and_named() {
        let mut present = [true; 7];
        present[5] = false; // q2
        let a = analyse(&dataset(), &embeddings(), 1, &present).unwrap();
        assert_eq!(a.missing_rows, vec![5]);
        assert_eq!(a.n_queries, 2);
        assert!(matches!(
            analyse(&dataset(), &embeddings(), 1, &[false; 7]),
            Err(AnalysisError::NothingToEvaluate)
        ));
        assert!(matches!(
            analyse(&dataset(), &embeddings()[1..], 1, &[true; 7]),
            Err(AnalysisError::Shape { .. })
        ));
    }
}
