//! Metric reports as text: a table per group for the terminal, one markdown table for reports.

use std::collections::BTreeSet;
use std::fmt::Write;

use oml_core::metrics::{GroupMetrics, MetricsReport};

/// `seconds` as a person reads a time left: `42 s`, `3 min 20 s`, `2 h 05 min`.
pub fn duration(seconds: f64) -> String {
    let s = if seconds.is_finite() { seconds.max(0.0).round() as u64 } else { 0 };
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// One line of OVERALL's metrics, each at its first k (or explained-variance fraction, or
/// FMR), then the metrics without k: what training prints after each validation (the full
/// table goes to the logs and the report).
pub fn compact(report: &MetricsReport) -> String {
    let Some((_, group)) = report.groups().next() else { return String::new() };
    let mut parts = Vec::new();
    for (metric, values) in &group.retrieval {
        if let Some((k, v)) = values.first() {
            parts.push(format!("{}@{k} {}", metric.name(), cell(Some(*v))));
        }
    }
    for (m, v) in &group.scalars {
        parts.push(format!("{} {}", m.name(), cell(Some(*v))));
    }
    if let Some((x, v)) = group.pcf.first() {
        parts.push(format!("pcf@{x} {}", cell(Some(*v))));
    }
    if let Some((x, v)) = group.fnmr_at_fmr.first() {
        parts.push(format!("fnmr@fmr={x} {}", cell(Some(*v))));
    }
    parts.join(", ")
}

/// One block per group (OVERALL, then categories): a k x metric table, then the metrics without
/// k (map@r, r_precision, mrr), pcf and fnmr@fmr.
pub fn terminal(report: &MetricsReport) -> String {
    let mut out = String::new();
    for (name, group) in report.groups() {
        render_group(&mut out, name, group);
    }
    out
}

fn cell(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        Some(_) => "NaN".to_owned(),
        None => "-".to_owned(),
    }
}

fn render_group(out: &mut String, name: &str, group: &GroupMetrics) {
    let _ = writeln!(out, "\n{name} ({} queries)", group.n_queries);
    let ks: BTreeSet<usize> =
        group.retrieval.iter().flat_map(|(_, v)| v.iter().map(|(k, _)| *k)).collect();
    let _ = write!(out, "  {:>5}", "k");
    for (metric, _) in &group.retrieval {
        let _ = write!(out, " {:>10}", metric.name());
    }
    out.push('\n');
    for &k in &ks {
        let _ = write!(out, "  {k:>5}");
        for (metric, _) in &group.retrieval {
            let _ = write!(out, " {:>10}", cell(group.retrieval_value(*metric, k)));
        }
        out.push('\n');
    }
    if !group.scalars.is_empty() {
        let parts: Vec<String> =
            group.scalars.iter().map(|(m, v)| format!("{} {}", m.name(), cell(Some(*v)))).collect();
        let _ = writeln!(out, "  {}", parts.join("  "));
    }
    for (label, pairs) in [("pcf", &group.pcf), ("fnmr@fmr", &group.fnmr_at_fmr)] {
        if !pairs.is_empty() {
            let parts: Vec<String> =
                pairs.iter().map(|(x, v)| format!("{x}: {}", cell(Some(*v)))).collect();
            let _ = writeln!(out, "  {label:<9} {}", parts.join("  "));
        }
    }
}

/// One row per group (OVERALL first, then categories), one column per metric and key (in the
/// report's order).
pub fn markdown(report: &MetricsReport) -> String {
    let mut md = String::new();
    for (i, (group, metrics)) in report.groups().enumerate() {
        let cells: Vec<_> = metrics.entries().collect();
        if i == 0 {
            let header: Vec<String> = cells
                .iter()
                .map(|(m, k, _)| if k.is_empty() { (*m).to_owned() } else { format!("{m}@{k}") })
                .collect();
            let _ = writeln!(md, "| group | {} |", header.join(" | "));
            let _ = writeln!(md, "|---|{}", "---|".repeat(header.len()));
        }
        let values: Vec<String> = cells
            .iter()
            .map(|(_, _, v)| if v.is_finite() { format!("{v:.4}") } else { "n/a".to_owned() })
            .collect();
        let _ = writeln!(md, "| {group} | {} |", values.join(" | "));
    }
    md
}

#[cfg(test)]
mod tests {
    use oml_core::metrics::{RetrievalMetric, ScalarMetric};

    use super::*;

    #[test]
    fn the_compact_line_has_overall_at_the_first_k_and_the_scalars() {
        let overall = GroupMetrics {
            n_queries: 3,
            retrieval: vec![
                (RetrievalMetric::Cmc, vec![(1, 0.5), (5, 0.9)]),
                (RetrievalMetric::Map, vec![(5, 0.25)]),
            ],
            scalars: vec![(ScalarMetric::MapAtR, 0.125)],
            pcf: vec![],
            fnmr_at_fmr: vec![(0.01, f64::NAN)],
        };
        let category = ("cat".to_owned(), GroupMetrics { n_queries: 1, ..overall.clone() });
        let report = MetricsReport { overall, categories: vec![category] };
        assert_eq!(compact(&report), "cmc@1 0.5000, map@5 0.2500, map@r 0.1250, fnmr@fmr=0.01 NaN");
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration(0.4), "0 s");
        assert_eq!(duration(59.4), "59 s");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(7500.0), "2 h 05 min");
        assert_eq!(duration(f64::NAN), "0 s");
    }
}
