use super::clustering::{adjusted_mutual_information, normalized_mutual_information};
use super::config::{MetricsConfig, MetricsConfigError};
use super::fnmr::fnmr_at_fmr_streaming;
use super::kmeans::kmeans;
use super::pcf::pcf;
use super::ranks::positive_ranks;
use super::report::{GroupMetrics, MetricsReport, RetrievalMetric, ScalarMetric};
use crate::retrieval::{
    Distance, Embeddings, QueryGallery, RetrievalError, RetrievalResults, retrieve,
};

/// Why metrics could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// A config value out of range.
    #[error(transparent)]
    Config(#[from] MetricsConfigError),
    /// Embeddings or roles retrieval cannot use.
    #[error(transparent)]
    Retrieval(#[from] RetrievalError),
}

/// Per-query values of every (metric, k), for finding the worst queries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PerQueryMetrics {
    /// `(metric, k, values[query])` in config order.
    pub values: Vec<(RetrievalMetric, usize, Vec<f64>)>,
    /// `(metric, values[query])` of the whole-ranking metrics; `None` for a query without
    /// positives.
    pub scalars: Vec<(ScalarMetric, Vec<Option<f64>>)>,
}

impl PerQueryMetrics {
    /// The per-query values of `metric` at `k`, if computed.
    pub fn get(&self, metric: RetrievalMetric, k: usize) -> Option<&[f64]> {
        self.values.iter().find(|(m, kk, _)| *m == metric && *kk == k).map(|(_, _, v)| v.as_slice())
    }
}

/// Everything one evaluation produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Top `config.max_k()` of every query.
    pub results: RetrievalResults,
    /// Each query's value of every metric at every k.
    pub per_query: PerQueryMetrics,
    /// The values reduced over OVERALL and the categories.
    pub report: MetricsReport,
}

/// Retrieval metrics of an embedding matrix, as OML's `EmbeddingMetrics.compute_metrics`
/// (`metrics/embeddings.py:214`) computes them, plus nDCG and PML's map@R, R-precision and MRR.
///
/// Each query retrieves its `max_k` nearest gallery items ([`retrieve`]); per-query values come
/// from [`super::formulas`]; a group's value is the plain mean over its queries (every query
/// weighs the same; for map@R, R-precision and MRR, over its queries that have a positive, as
/// PML leaves "lone" queries out, and NaN, as PML, when none has). The whole-ranking metrics rank every
/// positive in the query's whole gallery (PML's default `k=None`), streamed in tiles. Groups: OVERALL, and with categories one per category of the queries
/// (queries without a category count in OVERALL only). PCF of a group uses all its rows (query
/// or gallery). fnmr@fmr is OVERALL only, as in OML.
///
/// # Shapes
/// `emb`: `[qg.n_rows(), dim]`.
pub fn evaluate(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    config: &MetricsConfig,
) -> Result<Evaluation, MetricsError> {
    config.validate()?;
    let results = retrieve(emb, qg, config.max_k(), config.distance)?;

    let mut per_query = PerQueryMetrics::default();
    let relevance: Vec<(Vec<bool>, usize)> =
        results.iter().map(|q| (q.is_correct(), q.gt.len())).collect();
    for (metric, ks) in config.top_k_lists() {
        for &k in ks {
            let values = relevance.iter().map(|(c, n_gt)| metric.of_query(c, *n_gt, k)).collect();
            per_query.values.push((metric, k, values));
        }
    }
    if config.ranking {
        let ranks = positive_ranks(emb, qg, config.distance);
        for metric in ScalarMetric::RANKING {
            let values = ranks.iter().map(|r| metric.of_ranks(r)).collect();
            per_query.scalars.push((metric, values));
        }
    }

    let all_queries: Vec<usize> = (0..qg.query_rows().len()).collect();
    let all_rows: Vec<u32> = union_rows(qg);
    let mut overall = group_metrics(emb, &per_query, &all_queries, &all_rows, config);
    if !config.fmr_vals.is_empty() {
        let fnmr = fnmr_at_fmr_streaming(emb, qg, config.distance, &config.fmr_vals);
        overall.fnmr_at_fmr = config.fmr_vals.iter().copied().zip(fnmr).collect();
    }
    if config.clustering {
        let (nmi, ami) = clustering_metrics(emb, qg, config.distance)?;
        overall.scalars.extend([(ScalarMetric::Nmi, nmi), (ScalarMetric::Ami, ami)]);
    }

    let mut categories = Vec::new();
    if let Some(names) = qg.category_names() {
        for (c, name) in names.iter().enumerate() {
            let c = u32::try_from(c).ok();
            let queries: Vec<usize> = (0..qg.query_rows().len())
                .filter(|&q| qg.category_of_row(qg.query_rows()[q]) == c)
                .collect();
            if queries.is_empty() {
                continue; // OML reports only categories that have queries.
            }
            let rows: Vec<u32> =
                all_rows.iter().copied().filter(|&r| qg.category_of_row(r) == c).collect();
            categories
                .push((name.clone(), group_metrics(emb, &per_query, &queries, &rows, config)));
        }
    }
    Ok(Evaluation { results, per_query, report: MetricsReport { overall, categories } })
}

/// k-means iterations, faiss's `Kmeans` default (what PML's `FaissKMeans` runs).
const KMEANS_ITERATIONS: usize = 25;

/// NMI and AMI of a k-means clustering of the query embeddings (as many clusters as the
/// queries have labels; on L2-normalised rows for the cosine distance) with the queries'
/// labels.
fn clustering_metrics(
    emb: &Embeddings<'_>,
    qg: &QueryGallery,
    distance: Distance,
) -> Result<(f64, f64), MetricsError> {
    let rows: Vec<usize> = qg.query_rows().iter().map(|&r| r as usize).collect();
    let mut data = emb.select(&rows);
    if distance == Distance::Cosine {
        for row in data.chunks_exact_mut(emb.dim()) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    let labels: Vec<u32> = qg.query_rows().iter().map(|&r| qg.label(r)).collect();
    let mut distinct = labels.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let queries = Embeddings::new(&data, rows.len(), emb.dim())?;
    let clusters = kmeans(&queries, distinct.len(), KMEANS_ITERATIONS, 0);
    Ok((
        normalized_mutual_information(&labels, &clusters),
        adjusted_mutual_information(&labels, &clusters),
    ))
}

/// Rows that are a query, a gallery item, or both, ascending.
fn union_rows(qg: &QueryGallery) -> Vec<u32> {
    let mut rows: Vec<u32> = qg.query_rows().iter().chain(qg.gallery_rows()).copied().collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

fn group_metrics(
    emb: &Embeddings<'_>,
    per_query: &PerQueryMetrics,
    queries: &[usize],
    rows: &[u32],
    config: &MetricsConfig,
) -> GroupMetrics {
    let mut retrieval: Vec<(RetrievalMetric, Vec<(usize, f64)>)> = Vec::new();
    for (metric, k, values) in &per_query.values {
        let mean = queries.iter().map(|&q| values[q]).sum::<f64>() / queries.len() as f64;
        match retrieval.iter_mut().find(|(m, _)| m == metric) {
            Some((_, list)) => list.push((*k, mean)),
            None => retrieval.push((*metric, vec![(*k, mean)])),
        }
    }
    let scalars = per_query
        .scalars
        .iter()
        .map(|(metric, values)| {
            let (sum, n) = queries
                .iter()
                .filter_map(|&q| values[q])
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            (*metric, if n == 0 { f64::NAN } else { sum / n as f64 })
        })
        .collect();
    let pcf_values = if config.pcf_variance.is_empty() {
        Vec::new()
    } else {
        pcf(emb, rows, &config.pcf_variance)
    };
    GroupMetrics {
        n_queries: queries.len(),
        retrieval,
        scalars,
        pcf: config.pcf_variance.iter().copied().zip(pcf_values).collect(),
        fnmr_at_fmr: Vec::new(),
    }
}
