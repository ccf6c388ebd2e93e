//! Metric reports as text: a table per group for the terminal, one markdown table for reports.

use std::collections::BTreeSet;
use std::fmt::Write;

use oml_core::metrics::{GroupMetrics, MetricsReport};

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
