use serde::ser::{Serialize, SerializeMap, Serializer};

use super::formulas::{
    cmc_at_k, map_at_k, map_at_r, ndcg_at_k, precision_at_k, r_precision, reciprocal_rank,
};

/// The ranked-list metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetrievalMetric {
    /// CMC@k: whether a correct item is among the first k.
    Cmc,
    /// Precision@k: the share of correct items among the first k, over at most k positives.
    Precision,
    /// MAP@k: mean average precision over the first k.
    Map,
    /// NDCG@k: discounted cumulative gain over the first k, normalised.
    Ndcg,
}

impl RetrievalMetric {
    /// Every ranked-list metric, in report order.
    pub const ALL: [Self; 4] = [Self::Cmc, Self::Precision, Self::Map, Self::Ndcg];

    /// Key in reports (`cmc`, `precision`, `map`, `ndcg`), as OML names them.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cmc => "cmc",
            Self::Precision => "precision",
            Self::Map => "map",
            Self::Ndcg => "ndcg",
        }
    }

    /// The per-query value (see [`super::formulas`]).
    pub fn of_query(self, is_correct: &[bool], n_gt: usize, k: usize) -> f64 {
        match self {
            Self::Cmc => cmc_at_k(is_correct, n_gt, k),
            Self::Precision => precision_at_k(is_correct, n_gt, k),
            Self::Map => map_at_k(is_correct, n_gt, k),
            Self::Ndcg => ndcg_at_k(is_correct, n_gt, k),
        }
    }
}

/// The metrics with one value per group and no k: PML's whole-ranking metrics (from every
/// positive's rank) and the clustering metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarMetric {
    /// MAP@R ([`map_at_r`]).
    MapAtR,
    /// R-precision ([`r_precision`]).
    RPrecision,
    /// Mean reciprocal rank of the first positive ([`reciprocal_rank`]).
    Mrr,
    /// Normalised mutual information of a k-means clustering of the queries with their labels
    /// ([`super::clustering::normalized_mutual_information`]).
    Nmi,
    /// Adjusted mutual information of that clustering
    /// ([`super::clustering::adjusted_mutual_information`]).
    Ami,
}

impl ScalarMetric {
    /// The whole-ranking metrics, in report order.
    pub const RANKING: [Self; 3] = [Self::MapAtR, Self::RPrecision, Self::Mrr];

    /// The clustering metrics, in report order.
    pub const CLUSTERING: [Self; 2] = [Self::Nmi, Self::Ami];

    /// Every scalar metric, in report order.
    pub const ALL: [Self; 5] = [Self::MapAtR, Self::RPrecision, Self::Mrr, Self::Nmi, Self::Ami];

    /// Key in reports: `map@r`, `r_precision`, `mrr`, `nmi`, `ami`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MapAtR => "map@r",
            Self::RPrecision => "r_precision",
            Self::Mrr => "mrr",
            Self::Nmi => "nmi",
            Self::Ami => "ami",
        }
    }

    /// The per-query value of a whole-ranking metric from the 1-based ranks of all the query's
    /// positives, ascending; `None` for a query without positives (left out of the group's
    /// mean, as PML leaves it out), and for the clustering metrics, which have no per-query
    /// value.
    pub fn of_ranks(self, ranks: &[u64]) -> Option<f64> {
        match self {
            Self::MapAtR => map_at_r(ranks),
            Self::RPrecision => r_precision(ranks),
            Self::Mrr => reciprocal_rank(ranks),
            Self::Nmi | Self::Ami => None,
        }
    }
}

/// The reduced metrics of one group of queries: OVERALL or one category.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupMetrics {
    /// Number of queries averaged.
    pub n_queries: usize,
    /// Mean over the group's queries of each metric at each k, in config order.
    pub retrieval: Vec<(RetrievalMetric, Vec<(usize, f64)>)>,
    /// Each metric without k: the mean over the group's queries that have a positive (PML's
    /// convention; NaN when none has, as PML returns).
    pub scalars: Vec<(ScalarMetric, f64)>,
    /// (explained-variance fraction, PCF) over the group's embeddings (queries and gallery).
    pub pcf: Vec<(f64, f64)>,
    /// (FMR, FNMR); OVERALL only, empty unless asked for.
    pub fnmr_at_fmr: Vec<(f64, f64)>,
}

/// One value of a report, named as OML's paths name it: `group/metric/key`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportEntry<'a> {
    /// `OVERALL` or a category.
    pub group: &'a str,
    /// `cmc`, `precision`, `map`, `ndcg`, `pcf`, `fnmr@fmr` or a [`ScalarMetric`] (`map@r`…).
    pub metric: &'static str,
    /// k, the explained-variance fraction or the FMR, as OML writes it (`1`, `0.5`, `0.01`);
    /// empty for a [`ScalarMetric`].
    pub key: String,
    /// The value (NaN where OML writes `null`).
    pub value: f64,
}

impl ReportEntry<'_> {
    /// `group/metric/key` (`group/metric` for a [`ScalarMetric`]), the path
    /// [`MetricsReport::get`] takes.
    pub fn path(&self) -> String {
        if self.key.is_empty() {
            format!("{}/{}", self.group, self.metric)
        } else {
            format!("{}/{}/{}", self.group, self.metric, self.key)
        }
    }
}

impl GroupMetrics {
    /// Every value of the group as `(metric, key, value)`, in the order of its JSON form:
    /// the ranked-list metrics in config order, then the scalar ones (key empty), then PCF,
    /// then fnmr@fmr.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, String, f64)> + '_ {
        let retrieval = self.retrieval.iter().flat_map(|(metric, values)| {
            values.iter().map(|(k, v)| (metric.name(), k.to_string(), *v))
        });
        let scalars = self.scalars.iter().map(|(m, v)| (m.name(), String::new(), *v));
        let pcf = self.pcf.iter().map(|(x, v)| ("pcf", x.to_string(), *v));
        let fnmr = self.fnmr_at_fmr.iter().map(|(x, v)| ("fnmr@fmr", x.to_string(), *v));
        retrieval.chain(scalars).chain(pcf).chain(fnmr)
    }

    /// The value of a scalar metric, if computed.
    pub fn scalar_value(&self, metric: ScalarMetric) -> Option<f64> {
        self.scalars.iter().find(|(m, _)| *m == metric).map(|(_, v)| *v)
    }

    /// The value of `metric` at `k`, if computed.
    pub fn retrieval_value(&self, metric: RetrievalMetric, k: usize) -> Option<f64> {
        let (_, values) = self.retrieval.iter().find(|(m, _)| *m == metric)?;
        values.iter().find(|(kk, _)| *kk == k).map(|(_, v)| *v)
    }
}

/// All reduced metrics: OVERALL plus one group per category (sorted by name). Serialises to
/// OML's shape: `{"OVERALL": {"cmc": {"1": v, …}, "precision": …, "map": …, "ndcg": …,
/// "map@r": v, "r_precision": v, "mrr": v, "nmi": v, "ami": v, "pcf": {"0.5": v},
/// "fnmr@fmr": {"0.01": v, …}},
/// "<category>": {…}}`; NaN becomes `null`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsReport {
    /// All queries.
    pub overall: GroupMetrics,
    /// One group per category of the queries, sorted by name.
    pub categories: Vec<(String, GroupMetrics)>,
}

/// The key of the overall group, as OML spells it.
pub const OVERALL: &str = "OVERALL";

impl MetricsReport {
    /// All groups, OVERALL first.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &GroupMetrics)> {
        std::iter::once((OVERALL, &self.overall))
            .chain(self.categories.iter().map(|(n, g)| (n.as_str(), g)))
    }

    /// Every value of every group, OVERALL first.
    pub fn entries(&self) -> impl Iterator<Item = ReportEntry<'_>> {
        self.groups().flat_map(|(group, metrics)| {
            metrics.entries().map(move |(metric, key, value)| ReportEntry {
                group,
                metric,
                key,
                value,
            })
        })
    }

    /// Looks a value up by OML's path syntax, e.g. `OVERALL/cmc/1` or `shoes/map/5`; a scalar
    /// metric has no key: `OVERALL/map@r`.
    pub fn get(&self, path: &str) -> Option<f64> {
        let mut parts = path.split('/');
        let (group, metric) = (parts.next()?, parts.next()?);
        let (_, g) = self.groups().find(|(name, _)| *name == group)?;
        let Some(key) = parts.next() else {
            let m = ScalarMetric::ALL.into_iter().find(|m| m.name() == metric)?;
            return g.scalar_value(m);
        };
        if parts.next().is_some() {
            return None;
        }
        let find_f = |pairs: &[(f64, f64)]| {
            let key: f64 = key.parse().ok()?;
            pairs.iter().find(|(x, _)| *x == key).map(|(_, v)| *v)
        };
        match metric {
            "pcf" => find_f(&g.pcf),
            "fnmr@fmr" => find_f(&g.fnmr_at_fmr),
            _ => {
                let m = RetrievalMetric::ALL.into_iter().find(|m| m.name() == metric)?;
                g.retrieval_value(m, key.parse().ok()?)
            }
        }
    }
}

impl Serialize for MetricsReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.categories.len()))?;
        for (name, group) in self.groups() {
            map.serialize_entry(name, group)?;
        }
        map.end()
    }
}

impl Serialize for GroupMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (metric, values) in &self.retrieval {
            map.serialize_entry(metric.name(), &KeyedValues(values))?;
        }
        for (metric, value) in &self.scalars {
            map.serialize_entry(metric.name(), &value.is_finite().then_some(*value))?;
        }
        if !self.pcf.is_empty() {
            map.serialize_entry("pcf", &KeyedValues(&self.pcf))?;
        }
        if !self.fnmr_at_fmr.is_empty() {
            map.serialize_entry("fnmr@fmr", &KeyedValues(&self.fnmr_at_fmr))?;
        }
        map.end()
    }
}

/// `{"<key>": value}` with keys written as OML writes them (`1`, `0.01`).
struct KeyedValues<'a, K>(&'a [(K, f64)]);

impl<K: std::fmt::Display> Serialize for KeyedValues<'_, K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(&key.to_string(), &(value.is_finite().then_some(*value)))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The typed walk names every value of the JSON form once, by a path `get` resolves.
    #[test]
    fn entries_walk_the_json_form() {
        let group = |v: f64| GroupMetrics {
            n_queries: 3,
            retrieval: vec![
                (RetrievalMetric::Cmc, vec![(1, v), (10, 0.9)]),
                (RetrievalMetric::Map, vec![(5, 0.25)]),
            ],
            scalars: vec![(ScalarMetric::MapAtR, 0.375), (ScalarMetric::Mrr, 0.625)],
            pcf: vec![(0.5, 0.125)],
            fnmr_at_fmr: vec![(0.01, f64::NAN)],
        };
        let report =
            MetricsReport { overall: group(0.5), categories: vec![("shoes".into(), group(0.75))] };
        let entries: Vec<_> = report.entries().collect();
        let json = serde_json::to_value(&report).unwrap();
        let leaves: usize = json
            .as_object()
            .unwrap()
            .values()
            .flat_map(|g| g.as_object().unwrap().values())
            .map(|m| m.as_object().map_or(1, serde_json::Map::len))
            .sum();
        assert_eq!(entries.len(), leaves);
        assert_eq!(entries[0].path(), "OVERALL/cmc/1");
        assert_eq!(entries[3].path(), "OVERALL/map@r");
        assert_eq!(entries[7].path(), "shoes/cmc/1");
        for e in &entries {
            let from_json = &json[e.group][e.metric];
            let from_json = if e.key.is_empty() { from_json } else { &from_json[&e.key] };
            assert_eq!(from_json.as_f64(), e.value.is_finite().then_some(e.value), "{}", e.path());
            if e.value.is_finite() {
                assert_eq!(report.get(&e.path()), Some(e.value));
            }
        }
    }
}
